"""Primitive meshes (box, cylinder, ellipsoid) as vertex/triangle arrays, placed in the world."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np


@dataclass
class Mesh:
    vertices: np.ndarray  # float32 [V, 3]
    triangles: np.ndarray  # int32 [T, 3]


@cache
def _unit(kind: str) -> Mesh:
    """Unit primitives centred on the origin (box and cylinder span z in [-0.5, 0.5])."""
    import open3d as o3d

    if kind == "box":
        legacy = o3d.geometry.TriangleMesh.create_box(1.0, 1.0, 1.0).translate((-0.5, -0.5, -0.5))
    elif kind == "cylinder":
        legacy = o3d.geometry.TriangleMesh.create_cylinder(radius=1.0, height=1.0, resolution=12, split=1)
    elif kind == "sphere":
        legacy = o3d.geometry.TriangleMesh.create_sphere(radius=1.0, resolution=8)
    else:
        raise ValueError(kind)
    return Mesh(np.asarray(legacy.vertices, dtype=np.float32), np.asarray(legacy.triangles, dtype=np.int32))


def place(kind: str, centre: tuple[float, float, float], size: tuple[float, float, float], yaw: float = 0.0) -> Mesh:
    """A primitive scaled to `size` (full extents; radii for cylinder/sphere are half of it), rotated about z."""
    unit = _unit(kind)
    scale = np.asarray(size, dtype=np.float32) * (0.5 if kind != "box" else 1.0)
    if kind == "cylinder":
        scale[2] = size[2]
    c, s = np.cos(yaw), np.sin(yaw)
    rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=np.float32)
    vertices = (unit.vertices * scale) @ rotation.T + np.asarray(centre, dtype=np.float32)
    return Mesh(vertices.astype(np.float32), unit.triangles)


def slab(x0: float, x1: float, y0: float, y1: float, top: float, thickness: float = 0.3) -> Mesh:
    """A flat box whose top face lies at z = top (roads, sidewalks, ground)."""
    return place("box", ((x0 + x1) / 2, (y0 + y1) / 2, top - thickness / 2), (x1 - x0, y1 - y0, thickness))
