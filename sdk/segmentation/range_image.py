"""Frames -> range images (rings x columns) and back: the projection every RAPiD implementation shares.

Rows come from the frame's `ring` when the source has one; for KITTI scans (no ring) from the firing
order, where the azimuth, measured from the scan's first point, wraps once per laser; otherwise from
elevation bins. Points that share a pixel: the nearest one fills it, and every point of the pixel
receives that pixel's result. Points with NaN/inf coordinates fill no pixel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

from sensors import Frame
from sensors.geometry import DEFAULT_GEOMETRY, GEOMETRY, SensorGeometry


#: a laser boundary must leave at least this share of a row's columns behind it (jitter at the seam)
MIN_RING_SHARE = 0.125


@dataclass
class RangeImage:
    """image [4, H, W] (x, y, z, intensity; zero where empty) and, per point, its pixel (-1 if none)."""

    image: np.ndarray
    row: np.ndarray
    column: np.ndarray
    #: how the rows were found: "ring", "firing-order" or "elevation"
    row_source: str

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[2]

    def gather(self, pixel_values: np.ndarray, empty: float = 1.0) -> np.ndarray:
        """[C, H, W] pixel values -> [N, C] per point; points without a pixel get `empty`."""
        out = np.full((len(self.row), pixel_values.shape[0]), empty, dtype=pixel_values.dtype)
        has = self.row >= 0
        out[has] = pixel_values[:, self.row[has], self.column[has]].T
        return out


def geometry_for(frame: Frame) -> SensorGeometry:
    geometry = GEOMETRY.get(frame.sensor, DEFAULT_GEOMETRY)
    columns = int(frame.meta.get("columns", geometry.columns))
    rows = geometry.rows
    if frame.ring is not None and len(frame.ring):
        rows = max(rows, int(frame.ring.max()) + 1)
    return SensorGeometry(rows, columns, geometry.fov_up_deg, geometry.fov_down_deg)


def project(frame: Frame, geometry: SensorGeometry | None = None) -> RangeImage:
    geometry = geometry or geometry_for(frame)
    height, width = geometry.rows, geometry.columns
    points = frame.points
    column, distance, azimuth = _columns(points, width)
    finite = column >= 0
    row, source = _rows(frame, geometry, azimuth, finite)
    row = np.where(finite, row, -1)
    image = _scatter_nearest(points, row, column, distance, height, width)
    return RangeImage(image, row.astype(np.int32), column, source)


@njit(parallel=True, cache=True)
def _columns(points, width):
    """Per point: its column (-1 when a value is not finite), range and azimuth. Column 0 looks backwards
    and columns run clockwise seen from above, as the sensors spin."""
    n = len(points)
    column = np.empty(n, dtype=np.int32)
    distance = np.empty(n, dtype=np.float64)
    azimuth = np.empty(n, dtype=np.float64)
    for i in prange(n):
        x, y, z, r = points[i, 0], points[i, 1], points[i, 2], points[i, 3]
        if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(z) and np.isfinite(r)):
            column[i], distance[i], azimuth[i] = -1, np.inf, np.nan
            continue
        azimuth[i] = np.arctan2(np.float64(y), np.float64(x))
        column[i] = int(np.floor((np.pi - azimuth[i]) / (2 * np.pi) * width)) % width
        distance[i] = np.sqrt(np.float64(x) * x + np.float64(y) * y + np.float64(z) * z)
    return column, distance, azimuth


@njit(cache=True)
def _scatter_nearest(points, row, column, distance, height, width):
    """[4, H, W]: each pixel holds its nearest point (the first of equals); empty pixels are zero."""
    image = np.zeros((4, height, width), dtype=np.float32)
    nearest = np.full((height, width), np.inf)
    for i in range(len(points)):
        r, c = row[i], column[i]
        if r < 0 or distance[i] >= nearest[r, c]:
            continue
        nearest[r, c] = distance[i]
        for channel in range(4):
            image[channel, r, c] = points[i, channel]
    return image


def _rows(frame: Frame, geometry: SensorGeometry, azimuth: np.ndarray, finite: np.ndarray) -> tuple[np.ndarray, str]:
    if frame.ring is not None:
        return geometry.rows - 1 - frame.ring.astype(np.int64), "ring"
    native = GEOMETRY.get(frame.sensor)
    # a known sensor with another number of lasers cannot show `rows` rings in its firing order: not tried
    may_fit = native is None or native.rows == geometry.rows
    rings = rings_from_firing_order(azimuth, finite, geometry) if may_fit else None
    if rings is not None:
        return rings, "firing-order"
    return _elevation_rows(frame.points, geometry), "elevation"


def rings_from_firing_order(azimuth: np.ndarray, finite: np.ndarray, geometry: SensorGeometry) -> np.ndarray | None:
    """KITTI stores each laser's sweep in turn, top laser first: measured from the first point, the
    azimuth runs once round per laser, so a new ring starts where it falls back by more than half a
    turn. Jitter at the seam can make spurious falls; a ring is only closed after enough points.
    Returns None unless exactly `rows` rings are found."""
    if finite.sum() < geometry.rows * 8:
        return None
    rings, count = _firing_order_rings(azimuth, finite, MIN_RING_SHARE * geometry.columns)
    return rings if count == geometry.rows else None


@njit(cache=True)
def _firing_order_rings(azimuth, finite, minimum):
    rings = np.zeros(len(azimuth), dtype=np.int64)
    start = -1
    ring, since, previous = 0, 0, 0.0
    for i in range(len(azimuth)):
        if not finite[i]:
            rings[i] = ring
            continue
        if start < 0:
            start = i
        relative = azimuth[i] - azimuth[start]  # in (-2 pi, 2 pi): one wrap is enough, and cheaper than %
        if relative < 0:
            relative += 2 * np.pi
        if since > 0 and relative - previous < -np.pi and since >= minimum:
            ring += 1
            since = 0
        rings[i] = ring
        since += 1
        previous = relative
    return rings, ring + 1


def _elevation_rows(points: np.ndarray, geometry: SensorGeometry) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        elevation = np.degrees(np.arctan2(points[:, 2], np.linalg.norm(points[:, :2], axis=1)))
        span = geometry.fov_up_deg - geometry.fov_down_deg
        row = np.floor((geometry.fov_up_deg - elevation) / span * geometry.rows)
    return np.clip(np.nan_to_num(row), 0, geometry.rows - 1).astype(np.int64)
