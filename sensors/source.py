"""What every source shares: the live flag, skip accounting, and the iterator protocol."""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .frame import Frame

log = logging.getLogger("sensors")


class SourceError(ValueError):
    """A source cannot be opened or read at all: a bad file, URL or option. Names what is wrong."""


@dataclass
class SourceStats:
    """Counts kept by a source so that nothing is dropped silently."""

    packets: int = 0
    frames: int = 0
    skipped_packets: Counter[str] = field(default_factory=Counter)
    skipped_frames: Counter[str] = field(default_factory=Counter)
    #: traffic that is not point data (GPS/position packets, other ports): counted, never decoded
    other_packets: Counter[str] = field(default_factory=Counter)
    #: points with NaN/inf values, kept in their frames so per-point outputs stay index-aligned
    invalid_points: int = 0
    #: a rig's sweeps that went without a camera's image (missing, unreadable, or too far in time), per camera
    missing_images: Counter[str] = field(default_factory=Counter)

    def skip_packet(self, cause: str) -> None:
        if cause not in self.skipped_packets:
            log.warning("skipping packet: %s (logged once per cause)", cause)
        self.skipped_packets[cause] += 1

    def skip_frame(self, cause: str) -> None:
        if cause not in self.skipped_frames:
            log.warning("skipping frame: %s (logged once per cause)", cause)
        self.skipped_frames[cause] += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "packets": self.packets,
            "frames": self.frames,
            "skipped_packets": dict(self.skipped_packets),
            "skipped_frames": dict(self.skipped_frames),
            "other_packets": dict(self.other_packets),
            "invalid_points": self.invalid_points,
            "missing_images": dict(self.missing_images),
        }


class Source(ABC):
    """An iterable of frames. Live sources may drop frames under load; file sources never do."""

    live: bool = False
    #: nominal sweep rate in Hz, when the sensor has one
    rate_hz: float | None = None
    #: sensor model name
    sensor: str = "unknown"

    def __init__(self) -> None:
        self.stats = SourceStats()

    @abstractmethod
    def _frames(self) -> Iterator[Frame]:
        """Yield frames; subclasses count skips in self.stats."""

    def __iter__(self) -> Iterator[Frame]:
        for frame in self._frames():
            invalid = count_invalid_points(frame.points)
            if invalid and invalid == len(frame):
                self.stats.skip_frame("every point has non-finite values")
                continue
            frame.meta["invalid_points"] = invalid
            self.stats.invalid_points += invalid
            frame.index = self.stats.frames
            self.stats.frames += 1
            yield frame

    def close(self) -> None:
        """Release sockets and files; file sources hold nothing between iterations."""

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def require_module(module: str, what: str, extra: str, error: type[Exception] = SourceError) -> None:
    """Fail at open, naming what needs `module` and the SDK extra that installs it (a core install lacks it);
    `error`: the caller's own kind (a runtime's RuntimeUnavailable)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise error(f"{what} needs {module}, which this install lacks: pip install 'rapid-edge-sdk[{extra}]'")


def require_file(path: str | Path, what: str) -> Path:
    """Fail at once, naming the file, when it is missing or empty."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such {what}")
    if path.is_file() and path.stat().st_size == 0:
        raise SourceError(f"{path}: empty file (0 bytes), expected a {what}")
    return path


def count_invalid_points(points: np.ndarray) -> int:
    """Rows with a NaN/inf value; the common all-finite case costs one pass."""
    if np.isfinite(points).all():
        return 0
    return int(len(points) - np.isfinite(points).all(axis=1).sum())
