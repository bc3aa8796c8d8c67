"""Recorded frames played back as a live sensor: at a fixed rate, stamped with the wall-clock time they are
sent, flagged live. For measuring latency and overload behaviour on real recordings."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator

from .frame import Frame
from .source import Source


class PacedSource(Source):
    live = True

    def __init__(self, frames: Iterable[Frame], rate_hz: float, repeat: int = 1) -> None:
        """`repeat` plays the frames that many times over (a short recording as a long drive)."""
        super().__init__()
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        self.recorded, self.rate_hz, self.repeat = list(frames), rate_hz, repeat
        self.sensor = self.recorded[0].sensor if self.recorded else "unknown"

    def _frames(self) -> Iterator[Frame]:
        start = time.monotonic()
        for sent in range(self.repeat * len(self.recorded)):
            time.sleep(max(0.0, start + sent / self.rate_hz - time.monotonic()))
            yield dataclasses.replace(self.recorded[sent % len(self.recorded)], timestamp=time.time())
