"""Each sensor model's range image, defined once: rows (its lasers), columns of one turn and vertical field of
view. Range projection reads it (sdk/segmentation/range_image.py), and a package's manifest lists the
sensors whose tables it was exported with."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SensorGeometry:
    rows: int
    columns: int
    fov_up_deg: float
    fov_down_deg: float


GEOMETRY = {
    "HDL-64E": SensorGeometry(64, 2048, 3.0, -25.0),
    "HDL-32E": SensorGeometry(32, 1024, 10.67, -30.67),
    "VLP-16": SensorGeometry(16, 1024, 15.0, -15.0),
    "Puck Hi-Res": SensorGeometry(16, 1024, 10.0, -10.0),
    "VLP-32C": SensorGeometry(32, 1024, 15.0, -25.0),
    "VLS-128": SensorGeometry(128, 1024, 15.0, -25.0),
    "OS-0-128": SensorGeometry(128, 1024, 45.0, -46.3),
    "OS-1-32-G": SensorGeometry(32, 1024, 22.5, -22.5),
}
#: a sensor the table does not know is projected as a KITTI HDL-64E sweep (what the shipped model learnt)
DEFAULT_GEOMETRY = GEOMETRY["HDL-64E"]
