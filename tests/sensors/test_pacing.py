"""Recorded frames played back as a live sensor."""
from __future__ import annotations

import time

import numpy as np
import pytest

from sensors import Frame
from sensors.pacing import PacedSource


def test_frames_come_at_the_rate_restamped_and_live():
    frames = [Frame(points=np.full((5, 4), i, np.float32), timestamp=0.0, sensor="VLP-16") for i in range(3)]
    source = PacedSource(frames, rate_hz=100.0, repeat=4)
    start = time.time()
    played = list(source)
    assert source.live and len(played) == 12 and source.stats.frames == 12
    assert [f.points[0, 0] for f in played] == [0, 1, 2] * 4
    stamps = np.array([f.timestamp for f in played])
    assert stamps[0] >= start and np.all(np.diff(stamps) > 0.005)  # 10 ms apart, give or take the scheduler
    assert frames[0].timestamp == 0.0  # the recording itself is not touched


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError, match="rate_hz"):
        PacedSource([], rate_hz=0)
