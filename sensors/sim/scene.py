"""Procedural street scenes: a straight road cut into tiles, each furnished from its own seed.

Tiles are independent (seeded by (scene seed, tile index)), so a drive of any length is generated
lazily and the same seed always gives the same street. Every part carries a SemanticKITTI training
class and a material reflectivity.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..labels import SEMANTIC_KITTI
from .meshes import Mesh, place, slab

TILE_LENGTH = 40.0
TILE_INDEX_OFFSET = 1_000_000  # seeds must be non-negative
SCENE_HALF_WIDTH = 70.0
CLASS = {name: i for i, name in enumerate(SEMANTIC_KITTI.class_names)}

#: mean and spread of the material reflectivity of each class (KITTI remission-like, 0..1; chosen so the
#: simulated returns' medians meet the labelled SemanticKITTI scan's, where cars are dark and buildings
#: bright; ground classes sit higher since grazing incidence dims them)
REFLECTIVITY = {
    "road": (0.36, 0.06), "parking": (0.40, 0.06), "sidewalk": (0.42, 0.07), "other-ground": (0.40, 0.07),
    "building": (0.40, 0.12), "fence": (0.30, 0.10), "vegetation": (0.34, 0.10), "trunk": (0.31, 0.06),
    "terrain": (0.42, 0.07), "pole": (0.22, 0.08), "traffic-sign": (0.60, 0.20), "car": (0.12, 0.10),
    "truck": (0.20, 0.10), "other-vehicle": (0.20, 0.10), "person": (0.22, 0.08), "bicyclist": (0.22, 0.08),
    "bicycle": (0.25, 0.10), "motorcycle": (0.20, 0.10), "motorcyclist": (0.22, 0.08),
}
#: extra range noise (metres, one sigma) of surfaces a laser partly passes through, like foliage
EXTRA_RANGE_NOISE = {"vegetation": 0.05, "terrain": 0.01}
#: surface texture: the spread of a return's intensity about its material's reflectivity (Laplace scale,
#: relative). Set so neighbouring returns differ as in the labelled SemanticKITTI scan (median |dI| road
#: 0.03, building 0.04, vegetation 0.08; dark car paint often returns nothing at all).
TEXTURE = {"road": 0.13, "parking": 0.13, "sidewalk": 0.12, "other-ground": 0.12, "building": 0.12,
           "fence": 0.25, "vegetation": 0.30, "trunk": 0.20, "terrain": 0.20, "pole": 0.15,
           "traffic-sign": 0.10, "car": 0.60, "truck": 0.35}
DEFAULT_TEXTURE = 0.30
LANE_MARKING_REFLECTIVITY = 0.55


@dataclass
class Part:
    class_id: int
    reflectivity: float
    mesh: Mesh


@dataclass(frozen=True)
class StreetStyle:
    """Scene-wide choices drawn once per seed."""

    road_half: float
    curb: float
    sidewalk: float
    building_share: float
    green_share: float
    traffic: float
    pedestrians: float
    #: where in the right half of the road the sensor drives, 0 (centre line) .. 1 (kerb)
    lane_position: float = 0.5

    @classmethod
    def draw(cls, rng: np.random.Generator) -> StreetStyle:
        building = rng.uniform(0.3, 0.75)
        return cls(
            road_half=rng.uniform(3.2, 6.0), curb=rng.uniform(0.08, 0.18), sidewalk=rng.uniform(1.5, 4.0),
            building_share=building, green_share=rng.uniform(0.5, 1.0) * (1 - building),
            traffic=rng.uniform(0.2, 1.0), pedestrians=rng.uniform(0.1, 1.0), lane_position=rng.uniform(0.3, 0.7),
        )


@dataclass
class TileBuilder:
    rng: np.random.Generator
    style: StreetStyle
    x0: float
    parts: list[Part] = field(default_factory=list)

    @property
    def x1(self) -> float:
        return self.x0 + TILE_LENGTH

    def add(self, class_name: str, mesh: Mesh, reflectivity: float | None = None) -> None:
        if reflectivity is None:
            mean, spread = REFLECTIVITY[class_name]
            reflectivity = float(np.clip(self.rng.normal(mean, spread), 0.02, 1.0))
        self.parts.append(Part(CLASS[class_name], reflectivity, mesh))

    # ground ---------------------------------------------------------------------------------
    def ground(self) -> None:
        self.add("terrain", slab(self.x0, self.x1, -SCENE_HALF_WIDTH, SCENE_HALF_WIDTH, -0.06))
        half = self.style.road_half
        self.add("road", slab(self.x0, self.x1, -half, half, 0.0))
        for start in np.arange(self.x0, self.x1, 9.0):  # dashed centre line
            self.add("road", slab(start, start + 3.0, -0.07, 0.07, 0.004), LANE_MARKING_REFLECTIVITY)
        if self.rng.random() < 0.15:  # a raised median island
            length = self.rng.uniform(8, 25)
            start = self.rng.uniform(self.x0, self.x1 - length)
            self.add("other-ground", slab(start, start + length, -0.6, 0.6, 0.12))

    # one side of the street -----------------------------------------------------------------
    def side(self, sign: int, x_from: float, x_to: float) -> None:
        style, rng = self.style, self.rng
        edge = style.road_half
        if rng.random() < 0.5:
            self.add("parking", self._strip(sign, x_from, x_to, edge, edge + 2.4, 0.005))
            for x in np.arange(x_from + rng.uniform(1, 4), x_to - 4.5, rng.uniform(5.5, 9.0)):
                if rng.random() < 0.7:
                    self.vehicle(x + 2.3, sign * (edge + 1.2), rng.choice([0.0, np.pi]), parked=True)
            edge += 2.4
        outer = edge + style.sidewalk
        self.add("sidewalk", self._strip(sign, x_from, x_to, edge, outer, style.curb))
        self.street_furniture(sign, x_from, x_to, edge, outer)
        zone = rng.random()
        if zone < style.building_share:
            self.buildings(sign, x_from, x_to, outer)
        elif zone < style.building_share + style.green_share:
            self.green(sign, x_from, x_to, outer)
        else:
            self.lot(sign, x_from, x_to, outer)

    def _strip(self, sign: int, x_from: float, x_to: float, near: float, far: float, top: float) -> Mesh:
        y0, y1 = sorted((sign * near, sign * far))
        return slab(x_from, x_to, y0, y1, top)

    def street_furniture(self, sign: int, x_from: float, x_to: float, inner: float, outer: float) -> None:
        rng, curb = self.rng, self.style.curb
        y_kerb = sign * (inner + 0.4)
        for x in np.arange(x_from + rng.uniform(0, 10), x_to, rng.uniform(18, 35)):
            height = rng.uniform(5, 9)
            radius = rng.uniform(0.07, 0.15)
            self.add("pole", place("cylinder", (x, y_kerb, curb), (2 * radius, 2 * radius, height)))
            if rng.random() < 0.6:  # a lamp arm reaching over the road
                self.add("pole", place("box", (x, y_kerb - sign * 0.8, curb + height - 0.1), (0.12, 1.6, 0.12)))
        for x in rng.uniform(x_from, x_to, rng.poisson(0.8)):
            height = rng.uniform(2.0, 2.8)
            self.add("pole", place("cylinder", (x, y_kerb, curb), (0.08, 0.08, height)))
            width = rng.uniform(0.5, 0.9)
            self.add("traffic-sign", place("box", (x, y_kerb, curb + height + width / 2 - 0.1), (0.04, width, width),
                                           yaw=rng.uniform(-0.3, 0.3)))
        for x in rng.uniform(x_from, x_to, rng.poisson(1.2)):  # trees in sidewalk pits
            self.tree(x, sign * rng.uniform(inner + 0.8, outer - 0.3), curb)
        for x in rng.uniform(x_from, x_to, rng.poisson(4.0 * self.style.pedestrians)):
            self.person(x, sign * rng.uniform(inner + 0.4, outer - 0.3), curb)
        for x in rng.uniform(x_from, x_to, rng.poisson(0.6)):  # parked bicycles
            self.add("bicycle", place("box", (x, sign * (outer - 0.5), curb + 0.5), (1.7, 0.08, 0.6),
                                      yaw=rng.uniform(-0.3, 0.3)))
        for x in rng.uniform(x_from, x_to, rng.poisson(0.3)):  # parked motorcycles
            self.add("motorcycle", place("box", (x, sign * (inner + 1.0), curb + 0.55), (2.0, 0.7, 0.8)))

    def buildings(self, sign: int, x_from: float, x_to: float, outer: float) -> None:
        rng = self.rng
        x = x_from + rng.uniform(0, 2)
        while x_to - x > 3.0:
            length = min(rng.uniform(8, 30), x_to - x)
            setback = rng.uniform(1.5, 8.0) if rng.random() < 0.6 else 0.0
            depth = rng.uniform(8, 20)
            height = rng.uniform(4, 25)
            near = outer + setback
            centre_y = sign * (near + depth / 2)
            self.add("building", place("box", (x + length / 2, centre_y, height / 2 - 0.1), (length, depth, height)))
            if rng.random() < 0.3:  # a set-back upper storey
                self.add("building", place("box", (x + length / 2, centre_y + sign * 1.5, height + 1.5),
                                           (length * 0.8, depth - 3, 3.0)))
            if setback > 1.0:
                self.add("terrain", self._strip(sign, x, x + length, outer, near, 0.05))
                front = rng.random()
                if front < 0.35:
                    self.hedge(sign, x, x + length, outer + rng.uniform(0.2, setback - 0.5))
                elif front < 0.55:
                    self.add("fence", place("box", (x + length / 2, sign * (outer + 0.2), 0.6), (length, 0.05, 1.2)))
                for _ in range(rng.poisson(0.8)):
                    self.tree(rng.uniform(x, x + length), sign * rng.uniform(outer + 0.5, near), 0.05)
            x += length + (rng.uniform(1, 8) if rng.random() < 0.35 else 0.0)

    def green(self, sign: int, x_from: float, x_to: float, outer: float) -> None:
        rng = self.rng
        self.add("terrain", self._strip(sign, x_from, x_to, outer, SCENE_HALF_WIDTH, 0.02))
        if rng.random() < 0.4:
            self.add("fence", place("box", ((x_from + x_to) / 2, sign * (outer + rng.uniform(0.3, 3)), 0.7),
                                    (x_to - x_from, 0.05, rng.uniform(1.0, 2.0))))
        if rng.random() < 0.5:
            self.hedge(sign, x_from, x_to, outer + rng.uniform(0.3, 2.0))
        for _ in range(rng.poisson(6)):
            self.tree(rng.uniform(x_from, x_to), sign * rng.uniform(outer + 1, outer + 25), 0.02)
        for _ in range(rng.poisson(5)):
            size = rng.uniform(0.8, 3.0)
            self.add("vegetation", place("sphere", (rng.uniform(x_from, x_to), sign * rng.uniform(outer + 1, outer + 25),
                                                    size * 0.3), (size, size, size * 0.8)))
        if rng.random() < 0.5:
            self.add("building", place("box", ((x_from + x_to) / 2, sign * rng.uniform(outer + 25, outer + 40), 4),
                                       (rng.uniform(10, 30), rng.uniform(8, 15), rng.uniform(6, 14))))

    def lot(self, sign: int, x_from: float, x_to: float, outer: float) -> None:
        rng = self.rng
        self.add("fence", place("box", ((x_from + x_to) / 2, sign * (outer + 0.2), 0.8), (x_to - x_from, 0.05, 1.6)))
        self.add("parking", self._strip(sign, x_from, x_to, outer + 0.5, outer + 25, 0.01))
        for x in np.arange(x_from + 2, x_to - 2, 3.0):
            if rng.random() < 0.5:
                self.vehicle(x, sign * (outer + rng.uniform(4, 20)), np.pi / 2 + rng.normal(0, 0.05), parked=True)

    # objects ------------------------------------------------------------------------------
    def hedge(self, sign: int, x_from: float, x_to: float, offset: float) -> None:
        """A row of overlapping bushes, uneven in height and depth."""
        rng = self.rng
        for x in np.arange(x_from, x_to, rng.uniform(0.8, 1.6)):
            size = rng.uniform(0.9, 1.8)
            self.add("vegetation", place("sphere", (x, sign * (offset + rng.normal(0, 0.15)), size * 0.35),
                                         (size * 1.3, size, size * rng.uniform(0.8, 1.4))))

    def tree(self, x: float, y: float, base: float) -> None:
        rng = self.rng
        trunk_height = rng.uniform(1.5, 3.5)
        radius = rng.uniform(0.1, 0.25)
        self.add("trunk", place("cylinder", (x, y, base), (2 * radius, 2 * radius, trunk_height)))
        crown = rng.uniform(1.2, 3.2)
        self.add("vegetation", place("sphere", (x, y, base + trunk_height + 0.6 * crown),
                                     (2 * crown, 2 * crown, 2 * crown * rng.uniform(0.8, 1.3))))

    def person(self, x: float, y: float, base: float, class_name: str = "person") -> None:
        rng = self.rng
        height = rng.uniform(1.55, 1.95)
        yaw = rng.uniform(0, 2 * np.pi)
        legs = 0.47 * height
        self.add(class_name, place("box", (x, y, base + legs / 2), (0.25, 0.35, legs), yaw))
        self.add(class_name, place("box", (x, y, base + legs + 0.18 * height), (0.28, 0.45, 0.36 * height), yaw))
        head = 0.12 * height
        self.add(class_name, place("sphere", (x, y, base + height - head / 2), (head, head, head * 1.2)))

    def vehicle(self, x: float, y: float, yaw: float, parked: bool = False) -> None:
        rng = self.rng
        kind = rng.choice(["car", "truck", "other-vehicle"], p=[0.8, 0.12, 0.08] if parked else [0.7, 0.15, 0.15])
        if kind == "car":
            length, width = rng.uniform(3.8, 4.9), rng.uniform(1.65, 1.95)
            self.add("car", place("box", (x, y, 0.7), (length, width, 0.8), yaw))
            shift = rng.uniform(-0.4, 0.1)
            self.add("car", place("box", (x + shift * np.cos(yaw), y + shift * np.sin(yaw), 1.33),
                                  (length * 0.5, width * 0.9, 0.5), yaw))
        elif kind == "truck":
            cargo = rng.uniform(5, 9)
            height = rng.uniform(3.0, 3.8)
            self.add("truck", place("box", (x, y, 0.4 + height / 2), (cargo, 2.5, height), yaw))
            offset = cargo / 2 + 1.2
            self.add("truck", place("box", (x + offset * np.cos(yaw), y + offset * np.sin(yaw), 1.7),
                                    (2.2, 2.4, 2.6), yaw))
        else:
            length = rng.uniform(9, 12)
            self.add("other-vehicle", place("box", (x, y, 1.8), (length, 2.55, 3.0), yaw))

    def traffic(self, ego_lane: float) -> None:
        """Oncoming traffic and riders; the ego's own lane stays clear so the sensor never drives into a car."""
        rng, half = self.rng, self.style.road_half
        for x in rng.uniform(self.x0, self.x1, rng.poisson(1.5 * self.style.traffic)):
            self.vehicle(x, half / 2 + rng.normal(0, 0.2), np.pi)
        for _ in range(rng.poisson(0.8 * self.style.traffic)):
            sides = [1] + ([-1] if half - 0.8 - abs(ego_lane) > 1.5 else [])
            x, y = rng.uniform(self.x0, self.x1), rng.choice(sides) * (half - 0.8)
            rider = "bicyclist" if rng.random() < 0.75 else "motorcyclist"
            frame_size = (1.8, 0.1, 0.7) if rider == "bicyclist" else (2.1, 0.6, 0.8)
            self.add(rider, place("box", (x, y, 0.35 + frame_size[2] / 2), frame_size))
            self.person(x, y, 0.75, class_name=rider)

    def crossing(self, centre: float) -> None:
        """A side street crossing the road: road surface out to the scene edge, sidewalks along it."""
        half = self.style.road_half
        self.add("road", slab(centre - half, centre + half, -SCENE_HALF_WIDTH, SCENE_HALF_WIDTH, 0.0))
        for sign in (-1, 1):
            near, far = sorted((centre + sign * half, centre + sign * (half + self.style.sidewalk)))
            for side in (-1, 1):
                y0, y1 = sorted((side * half, side * SCENE_HALF_WIDTH))
                self.add("sidewalk", slab(near, far, y0, y1, self.style.curb))


def ego_lane(style: StreetStyle) -> float:
    """The y the sensor drives along (right-hand traffic), kept a car's half-width from kerb and centre."""
    margin = 1.0
    return -(margin + style.lane_position * (style.road_half - 2 * margin))


def build_tile(seed: int, index: int, style: StreetStyle) -> list[Part]:
    """All parts of tile `index` (x from index * TILE_LENGTH; negative indices lie behind the start)."""
    builder = TileBuilder(np.random.default_rng([seed, index + TILE_INDEX_OFFSET, 7]), style, index * TILE_LENGTH)
    builder.ground()
    spans = [(builder.x0, builder.x1)]
    if index > 1 and builder.rng.random() < 0.12:
        centre = builder.x0 + TILE_LENGTH / 2
        gap = style.road_half + style.sidewalk
        builder.crossing(centre)
        spans = [(builder.x0, centre - gap), (centre + gap, builder.x1)]
    for sign in (-1, 1):
        for x_from, x_to in spans:
            builder.side(sign, x_from, x_to)
    builder.traffic(ego_lane(style))
    return builder.parts
