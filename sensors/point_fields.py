"""Named point fields (PCD files, PointCloud2 messages) -> Frame, detecting the layout from the field names.

The layouts are Autoware's: XYZI, XYZIRC, XYZIRADRT, XYZIRCAEDT; anything else holding x, y, z is read
as "generic" with whatever intensity, ring and time fields it names.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np

from .frame import Frame

LAYOUTS: dict[str, tuple[str, ...]] = {
    "XYZIRCAEDT": ("x", "y", "z", "intensity", "return_type", "channel", "azimuth", "elevation", "distance", "time_stamp"),
    "XYZIRADRT": ("x", "y", "z", "intensity", "ring", "azimuth", "distance", "return_type", "time_stamp"),
    "XYZIRC": ("x", "y", "z", "intensity", "return_type", "channel"),
    "XYZI": ("x", "y", "z", "intensity"),
}
INTENSITY_NAMES = ("intensity", "i", "remission", "reflectivity")
RING_NAMES = ("ring", "channel")
TIME_NAMES = ("time_stamp", "time", "t", "timestamp")
LABEL_NAMES = ("label", "class_id")
#: the sensors' 8-bit intensity scale: what integer intensity fields carry (Autoware's uint8, Ouster's reflectivity)
EIGHT_BIT = 255.0

log = logging.getLogger("sensors")


class IntensityScale:
    """Which value of a stream's intensity field means full intensity (1.0 in a Frame), chosen once per
    stream, never per frame. The source declares it (`intensity_scale=`, e.g. 255 for a float field on the
    0..255 scale, 1 for KITTI-style remission); undeclared, an integer field is on the 8-bit scale, and a
    float field is judged once from the first frame with intensities (any value above 1: the 8-bit scale),
    logged, and kept for the rest of the stream. Values beyond full scale (retroreflectors) read 1."""

    def __init__(self, declared: float | None = None) -> None:
        if declared is not None and not declared > 0:
            raise ValueError(f"intensity_scale {declared!r}: expected a positive full-scale value, e.g. 255 or 1")
        self.full_scale = None if declared is None else float(declared)

    def normalise(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values)
        if self.full_scale is None:
            if np.issubdtype(values.dtype, np.integer):
                self.full_scale = EIGHT_BIT
            elif values.size:
                self.full_scale = EIGHT_BIT if np.nanmax(values) > 1.0 else 1.0
                log.info("float intensity field taken as 0..%g for this stream (declare it with intensity_scale=)",
                         self.full_scale)
            else:
                return values.astype(np.float32)
        return np.clip(values.astype(np.float32) / np.float32(self.full_scale), 0.0, 1.0)


def detect_layout(names: tuple[str, ...] | list[str]) -> str:
    """The Autoware layout whose fields these are (in order, extra trailing fields allowed), else 'generic'."""
    names = tuple(names)
    for layout, fields in LAYOUTS.items():
        if names[: len(fields)] == fields:
            return layout
    if not {"x", "y", "z"} <= set(names):
        raise ValueError(f"point fields {names} have no x, y, z")
    return "generic"


def frame_from_fields(
    fields: Mapping[str, np.ndarray],
    timestamp: float,
    sensor: str,
    label_set: str | None = "semantickitti",
    intensity: IntensityScale | None = None,
) -> Frame:
    """Build a Frame from per-point field arrays (any numeric dtypes); `intensity`: the stream's scale (a
    single file gets its own)."""
    names = list(fields)
    layout = detect_layout(names)
    n = len(fields["x"])
    points = np.empty((n, 4), dtype=np.float32)
    for column, name in enumerate("xyz"):
        points[:, column] = fields[name]
    intensity_name = _first(names, INTENSITY_NAMES)
    points[:, 3] = 0.0 if intensity_name is None else (intensity or IntensityScale()).normalise(fields[intensity_name])
    ring_name = _first(names, RING_NAMES)
    time_name = _first(names, TIME_NAMES)
    label_name = _first(names, LABEL_NAMES)
    return Frame(
        points=points,
        timestamp=timestamp,
        sensor=sensor,
        ring=None if ring_name is None else fields[ring_name],
        time=None if time_name is None else time_offsets(fields[time_name], timestamp),
        labels=None if label_name is None else fields[label_name],
        label_set=None if label_name is None else label_set,
        meta={"layout": layout},
    )


def time_offsets(values: np.ndarray, timestamp: float) -> np.ndarray:
    """Per-point seconds after `timestamp`: integer fields are nanosecond offsets (nebula, Ouster),
    float64 fields are absolute seconds (Autoware's XYZIRADRT), float32 fields are second offsets."""
    if np.issubdtype(values.dtype, np.integer):
        return values.astype(np.float64) * 1e-9
    if values.dtype == np.float64 and values.size and np.nanmin(values) > 1e6:
        return values - timestamp
    return values.astype(np.float32)


def _first(names: list[str], candidates: tuple[str, ...]) -> str | None:
    return next((c for c in candidates if c in names), None)


def layout_columns(frame: Frame, layout: str) -> list[tuple[str, np.ndarray]]:
    """A frame's points as the columns of one of Autoware's layouts, with that layout's dtypes (what a
    driver publishes; for replaying captures into a ROS graph and for tests). XYZI needs only points; the
    others need the frame's rings (and times), which a KITTI sweep lacks."""
    xyz = [(name, frame.points[:, i].astype(np.float32)) for i, name in enumerate("xyz")]
    if layout == "XYZI":
        return xyz + [("intensity", frame.intensity.astype(np.float32))]
    if frame.ring is None:
        raise ValueError(f"layout {layout} has a ring (channel) per point and this frame has none; use XYZI")
    n = len(frame)
    distance = np.linalg.norm(frame.xyz, axis=1).astype(np.float32)
    azimuth = np.arctan2(frame.points[:, 1], frame.points[:, 0]).astype(np.float32)
    elevation = np.arcsin(frame.points[:, 2] / np.maximum(distance, 1e-6)).astype(np.float32)
    intensity_u8 = np.round(frame.intensity * 255).astype(np.uint8)
    ring = frame.ring.astype(np.uint16)
    returns = np.full(n, 1, dtype=np.uint8)
    layouts = {
        "XYZIRC": lambda: xyz + [("intensity", intensity_u8), ("return_type", returns), ("channel", ring)],
        "XYZIRADRT": lambda: xyz + [("intensity", frame.intensity * 255), ("ring", ring), ("azimuth", azimuth),
                                    ("distance", distance), ("return_type", returns),
                                    ("time_stamp", frame.timestamp + frame.time.astype(np.float64))],
        "XYZIRCAEDT": lambda: xyz + [("intensity", intensity_u8), ("return_type", returns), ("channel", ring),
                                     ("azimuth", azimuth), ("elevation", elevation), ("distance", distance),
                                     ("time_stamp", np.round(frame.time * 1e9).astype(np.uint32))],
    }
    if layout not in layouts:
        raise ValueError(f"unknown layout {layout!r}; choose XYZI, {', '.join(layouts)}")
    return layouts[layout]()
