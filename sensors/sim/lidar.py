"""The simulated LiDAR: open3d's RaycastingScene over procedural streets, with a real beam table.

Each ray leaves from where the sensor is at that column's firing time (ego motion distorts the sweep
as on a real spinning sensor); returns get range noise, dropout, and an intensity from the material's
reflectivity, the incidence angle and the range.
"""
from __future__ import annotations

import time as wallclock
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..frame import Frame
from ..labels import SEMANTIC_KITTI
from ..source import Source, require_module
from .beams import BeamTable, beam_table
from .scene import CLASS, DEFAULT_TEXTURE, EXTRA_RANGE_NOISE, TEXTURE, TILE_LENGTH, Part, StreetStyle, build_tile, ego_lane

INTENSITY_LEVELS = 255  # an 8-bit intensity, as every Velodyne reports it


def _per_class(values: dict[str, float], default: float) -> np.ndarray:
    table = np.full(len(SEMANTIC_KITTI.class_names), default, dtype=np.float32)
    for name, value in values.items():
        table[CLASS[name]] = value
    return table


EXTRA_NOISE_BY_CLASS = _per_class(EXTRA_RANGE_NOISE, 0.0)
TEXTURE_BY_CLASS = _per_class(TEXTURE, DEFAULT_TEXTURE)


@dataclass(frozen=True)
class SimOptions:
    sensor: str = "hdl64e"
    seed: int = 0
    frames: int | None = 100  # None: drive forever
    speed: float = 8.0  # m/s
    start: float = 0.0  # metres along the street at frame 0
    lane_offset: float = 0.0  # metres left of the ego lane (a second pass over the same street, say)
    dropout: float = 0.005  # random loss of returns
    realtime: bool = False  # pace frames at the sensor rate and behave as a live source


class SceneWindow:
    """The tiles within sensor range, rebuilt into a RaycastingScene only when the window moves."""

    def __init__(self, seed: int, style: StreetStyle, reach: float) -> None:
        self.seed, self.style, self.reach = seed, style, reach
        self.key: tuple[int, int] | None = None
        self.tiles: dict[int, list[Part]] = {}

    def scene_for(self, x_min: float, x_max: float):
        first = int(np.floor((x_min - self.reach) / TILE_LENGTH))
        last = int(np.floor((x_max + self.reach) / TILE_LENGTH))
        if self.key != (first, last):
            self.tiles = {i: self.tiles.get(i) or build_tile(self.seed, i, self.style) for i in range(first, last + 1)}
            self._build([part for i in range(first, last + 1) for part in self.tiles[i]])
            self.key = (first, last)
        return self.scene

    def _build(self, parts: list[Part]) -> None:
        import open3d as o3d

        self.scene = o3d.t.geometry.RaycastingScene()
        by_class: dict[int, list[Part]] = {}
        for part in parts:
            by_class.setdefault(part.class_id, []).append(part)
        class_of, reflectivity_of, first_triangle = [], [], [0]
        for class_id, group in by_class.items():
            offsets = np.cumsum([0] + [len(p.mesh.vertices) for p in group[:-1]])
            vertices = np.concatenate([p.mesh.vertices for p in group]).astype(np.float32)
            triangles = np.concatenate([p.mesh.triangles + o for p, o in zip(group, offsets)]).astype(np.uint32)
            geometry = self.scene.add_triangles(o3d.core.Tensor(vertices), o3d.core.Tensor(triangles))
            assert geometry == len(class_of), "open3d numbers geometries in insertion order"
            class_of.append(class_id)
            reflectivity_of.append(np.concatenate(
                [np.full(len(p.mesh.triangles), p.reflectivity, dtype=np.float32) for p in group]))
            first_triangle.append(first_triangle[-1] + len(triangles))
        #: per geometry id: its class; per (first triangle of geometry + primitive id): reflectivity
        self.geometry_class = np.asarray(class_of, dtype=np.int32)
        self.first_triangle = np.asarray(first_triangle[:-1], dtype=np.int64)
        self.reflectivity = np.concatenate(reflectivity_of)


class SimulatedLidar(Source):
    """A deterministic drive down a procedural street; every point labelled with a SemanticKITTI class."""

    def __init__(self, options: SimOptions = SimOptions()) -> None:
        require_module("open3d", f"the simulated {options.sensor} (sim://)", "train")
        super().__init__()
        self.options = options
        self.beams: BeamTable = beam_table(options.sensor)
        self.sensor = self.beams.sensor
        self.rate_hz = self.beams.rate_hz
        self.live = options.realtime
        self.style = StreetStyle.draw(np.random.default_rng([options.seed, 1]))
        self._directions, self._column_time = self._ray_fan()

    def _ray_fan(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit directions [columns, rings, 3] in the sensor frame; the head spins clockwise from behind."""
        beams = self.beams
        elevation = np.radians(np.asarray(beams.elevations_deg))
        azimuth = np.pi - 2 * np.pi * (np.arange(beams.columns) + 0.5) / beams.columns
        cos_el = np.cos(elevation)[None, :]
        directions = np.stack([
            cos_el * np.cos(azimuth)[:, None], cos_el * np.sin(azimuth)[:, None],
            np.broadcast_to(np.sin(elevation)[None, :], (beams.columns, beams.rings)),
        ], axis=-1).astype(np.float32)
        column_time = (np.arange(beams.columns) / beams.columns / beams.rate_hz).astype(np.float32)
        return directions, column_time

    def _frames(self) -> Iterator[Frame]:
        window = SceneWindow(self.options.seed, self.style, self.beams.max_range + 5.0)
        count = self.options.frames
        index = 0
        started = wallclock.time()
        while count is None or index < count:
            if self.options.realtime:
                wallclock.sleep(max(0.0, started + index / self.rate_hz - wallclock.time()))
            yield self.render(index, window, started if self.options.realtime else 0.0)
            index += 1

    def render(self, index: int, window: SceneWindow, epoch: float = 0.0) -> Frame:
        """Frame `index` of the drive (frames are independent: any index can be rendered directly)."""
        import open3d as o3d

        beams, options = self.beams, self.options
        rng = np.random.default_rng([options.seed, index, 99])
        t0 = index / beams.rate_hz
        x0 = options.start + options.speed * t0
        lane = ego_lane(self.style) + options.lane_offset
        origin_x = x0 + options.speed * self._column_time  # per column
        scene = window.scene_for(float(origin_x[0]), float(origin_x[-1]))
        columns, rings = beams.columns, beams.rings
        origins = np.zeros((columns, rings, 3), dtype=np.float32)
        origins[..., 0] = origin_x[:, None]
        origins[..., 1] = lane
        origins[..., 2] = beams.mount_height
        rays = np.concatenate([origins, self._directions], axis=-1).reshape(-1, 6)
        hits = scene.cast_rays(o3d.core.Tensor(rays))
        distance = hits["t_hit"].numpy()
        geometry = hits["geometry_ids"].numpy()
        primitive = hits["primitive_ids"].numpy()
        normals = hits["primitive_normals"].numpy()
        directions = self._directions.reshape(-1, 3)

        keep = np.isfinite(distance) & (distance >= beams.min_range) & (distance <= beams.max_range)
        cos_incidence = np.abs(np.einsum("ij,ij->i", normals, directions))
        keep &= rng.random(len(distance)) >= options.dropout + 0.3 * (1.0 - cos_incidence) ** 4
        idx = np.flatnonzero(keep)
        hit_geometry = geometry[idx]
        classes = window.geometry_class[hit_geometry]
        noise = beams.range_noise + EXTRA_NOISE_BY_CLASS[classes]
        distance = distance[idx] + (rng.normal(0.0, 1.0, len(idx)) * noise).astype(np.float32)
        reflectivity = window.reflectivity[window.first_triangle[hit_geometry] + primitive[idx]]
        # KITTI's remission is nearly calibrated: a mild incidence term and range falloff; surface texture
        # scatters each return about its material, and the sensor reports 8 bits
        texture = 1.0 + TEXTURE_BY_CLASS[classes] * rng.laplace(0.0, 1.0, len(idx)).astype(np.float32)
        intensity = reflectivity * texture * (0.6 + 0.4 * cos_incidence[idx]) / (1.0 + (distance / 200.0) ** 2)
        intensity = np.round(np.clip(intensity, 0.0, 1.0) * INTENSITY_LEVELS) / INTENSITY_LEVELS
        points = np.empty((len(idx), 4), dtype=np.float32)
        points[:, :3] = directions[idx] * distance[:, None]
        points[:, 3] = intensity
        column, ring = np.divmod(idx, rings)
        return Frame(
            points=points, timestamp=epoch + t0, sensor=self.sensor, ring=ring.astype(np.int16),
            time=self._column_time[column], labels=classes, label_set=SEMANTIC_KITTI.name,
            meta={"pose": (x0, lane, beams.mount_height, 0.0), "seed": options.seed},
        )
