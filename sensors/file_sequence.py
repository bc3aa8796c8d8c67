"""A source over a list of point-cloud files, one frame per file (KITTI, nuScenes, PCD, PLY)."""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from .frame import Frame
from .source import Source, SourceError, require_file

FrameReader = Callable[[Path], Frame]


class FileSequenceSource(Source):
    """Reads files in order. Opened on one file, a bad file fails at once; in a folder it is skipped and counted."""

    live = False

    def __init__(
        self,
        files: Sequence[Path],
        read: FrameReader,
        sensor: str,
        rate_hz: float | None,
        timestamps: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if not files:
            raise SourceError("no point-cloud files to read")
        self.files = list(files)
        self.read = read
        self.sensor = sensor
        self.rate_hz = rate_hz
        self.timestamps = timestamps
        if len(self.files) == 1:
            self._first = self._read_checked(self.files[0])  # fail fast on a single bad file
        else:
            self._first = None

    def _read_checked(self, path: Path) -> Frame:
        require_file(path, "point-cloud file")
        frame = self.read(path)
        finite = np.isfinite(frame.points).all(axis=1)
        if len(frame) and not finite.any():
            raise SourceError(f"{path}: every point has non-finite coordinates or intensity")
        frame.meta.setdefault("path", str(path))
        return frame

    def _frames(self) -> Iterator[Frame]:
        for i, path in enumerate(self.files):
            if i == 0 and self._first is not None:
                frame = self._first
            else:
                try:
                    frame = self._read_checked(path)
                except (SourceError, ValueError, OSError) as err:
                    self.stats.skip_frame(f"{type(err).__name__}: {err}".split(": ", 1)[-1])
                    continue
            if self.timestamps is not None:
                frame.timestamp = float(self.timestamps[i])
            elif frame.timestamp == 0.0 and self.rate_hz:  # the file carries no time of its own
                frame.timestamp = i / self.rate_hz
            yield frame


def sorted_files(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith(suffix) and p.is_file())
