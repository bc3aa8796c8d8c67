"""The one frame type every source yields and every later stage consumes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Frame:
    """One LiDAR sweep or one camera image.

    Coordinates are the sensor frame in metres: x forward, y left, z up.
    `ring` counts beams from the lowest elevation (0) upward, as the ROS Velodyne driver does.
    `time` holds per-point offsets in seconds relative to `timestamp`.
    `labels` are training ids of `label_set` (0 = ignore), when the source has ground truth.
    A rig's sweeps carry `images` (camera name -> RGB [H, W, 3] uint8, the image nearest in time) and
    `cameras` (camera name -> `sensors.calibration.Camera`, whose `project(xyz)` maps these points).
    `meta["dataset"]` names the dataset a source read the frame from ("nuscenes"), where that decides defaults.
    """

    points: np.ndarray
    timestamp: float
    sensor: str
    ring: np.ndarray | None = None
    time: np.ndarray | None = None
    labels: np.ndarray | None = None
    label_set: str | None = None
    image: np.ndarray | None = None
    index: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    images: dict[str, np.ndarray] = field(default_factory=dict)
    cameras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.points = np.ascontiguousarray(self.points, dtype=np.float32)
        if self.points.ndim != 2 or self.points.shape[1] != 4:
            raise ValueError(f"Frame.points must be [N, 4] (x, y, z, intensity), got {self.points.shape}")
        n = len(self.points)
        if self.ring is not None:
            self.ring = _per_point(self.ring, n, np.int16, "ring")
        if self.time is not None:
            self.time = _per_point(self.time, n, np.float32, "time")
        if self.labels is not None:
            self.labels = _per_point(self.labels, n, np.int32, "labels")
        self.timestamp = float(self.timestamp)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def xyz(self) -> np.ndarray:
        return self.points[:, :3]

    @property
    def intensity(self) -> np.ndarray:
        return self.points[:, 3]

    def select(self, mask: np.ndarray) -> Frame:
        """A frame holding only the points where `mask` is true (per-point fields follow)."""
        pick = lambda a: None if a is None else a[mask]  # noqa: E731
        return Frame(
            points=self.points[mask], timestamp=self.timestamp, sensor=self.sensor,
            ring=pick(self.ring), time=pick(self.time), labels=pick(self.labels),
            label_set=self.label_set, image=self.image, index=self.index, meta=dict(self.meta),
            images=dict(self.images), cameras=dict(self.cameras),
        )


def _per_point(values: np.ndarray, n: int, dtype: type, name: str) -> np.ndarray:
    array = np.ascontiguousarray(values, dtype=dtype)
    if array.shape != (n,):
        raise ValueError(f"Frame.{name} must have one value per point ({n}), got shape {array.shape}")
    return array
