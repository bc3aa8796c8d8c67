"""Shared fixtures: the real sample data in ../shared/data (read-only, never shipped) and packet helpers."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("RAPID_EDGE_DATA", REPO.parent / "shared" / "data"))


def data_file(relative: str) -> Path:
    """A file of the shared sample data; the test is skipped with the reason when the data is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"sample data {path} is not present (set RAPID_EDGE_DATA)")
    return path


@pytest.fixture
def data():
    return data_file


def layout_columns(frame, layout: str) -> list[tuple[str, np.ndarray]]:
    """The real scan's points in one of Autoware's field layouts, with that layout's dtypes."""
    n = len(frame)
    xyz = [(name, frame.points[:, i].astype(np.float32)) for i, name in enumerate("xyz")]
    distance = np.linalg.norm(frame.xyz, axis=1).astype(np.float32)
    azimuth = np.arctan2(frame.points[:, 1], frame.points[:, 0]).astype(np.float32)
    elevation = np.arcsin(frame.points[:, 2] / np.maximum(distance, 1e-6)).astype(np.float32)
    intensity_u8 = np.round(frame.intensity * 255).astype(np.uint8)
    ring = frame.ring.astype(np.uint16)
    returns = np.full(n, 1, dtype=np.uint8)
    return {
        "XYZI": xyz + [("intensity", frame.intensity.astype(np.float32))],
        "XYZIRC": xyz + [("intensity", intensity_u8), ("return_type", returns), ("channel", ring)],
        "XYZIRADRT": xyz + [("intensity", frame.intensity * 255), ("ring", ring), ("azimuth", azimuth),
                            ("distance", distance), ("return_type", returns),
                            ("time_stamp", frame.timestamp + frame.time.astype(np.float64))],
        "XYZIRCAEDT": xyz + [("intensity", intensity_u8), ("return_type", returns), ("channel", ring),
                             ("azimuth", azimuth), ("elevation", elevation), ("distance", distance),
                             ("time_stamp", np.round(frame.time * 1e9).astype(np.uint32))],
    }[layout]
