"""LiDAR place recognition as a BEBR retrieval: a scan's descriptor is its embedding, the index holds the
descriptors of a mapped drive, and the pipeline returns the mapped scans nearest each new one.

The descriptor is Scan Context (Kim & Kim, IROS 2018): a polar grid around the sensor of the highest
point in each (ring, sector) bin, written here because no maintained Python package computes it. Its
sectors keep the sensor's heading, which suits revisits in the direction of the first drive."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensors import Frame


@dataclass(frozen=True)
class ScanContext:
    rings: int = 20
    sectors: int = 60
    max_range: float = 60.0  # metres
    height_offset: float = 2.0  # added to z so the ground (about -1.7 m) counts above an empty bin's 0

    @property
    def dim(self) -> int:
        return self.rings * self.sectors

    def __call__(self, frame: Frame) -> np.ndarray:
        """[rings * sectors] float32: per bin, the highest z + height_offset (0 for an empty bin)."""
        xyz = frame.points[:, :3]
        finite = np.isfinite(xyz).all(axis=1)
        x, y, z = xyz[finite].T
        distance = np.hypot(x, y)
        keep = (distance > 0) & (distance < self.max_range)
        if not keep.any():
            raise ValueError(f"frame {frame.index}: no point within {self.max_range} m")
        ring = (distance[keep] / self.max_range * self.rings).astype(np.int64)
        sector = ((np.arctan2(y[keep], x[keep]) + np.pi) / (2 * np.pi) * self.sectors).astype(np.int64) % self.sectors
        grid = np.zeros(self.dim, dtype=np.float32)
        np.maximum.at(grid, ring * self.sectors + sector, np.maximum(z[keep] + self.height_offset, 0.0).astype(np.float32))
        if not grid.any():
            raise ValueError(f"frame {frame.index}: every point lies {self.height_offset} m or more below the sensor")
        return grid


#: the second pass of a simulated street: 0.4 m further along at every frame (between two mapped scans)
#: and 1 m to the left of the first pass's lane
REVISIT = "start=0.4&lane_offset=1.0"
TOLERANCE_M = 2.0


def simulated_revisit(seed: int, frames: int) -> tuple[list[Frame], list[Frame]]:
    """(mapped pass, revisit pass) of one simulated street, `frames` scans each, 0.8 m apart."""
    import sensors

    url = f"sim://hdl64e?seed={seed}&frames={frames}"
    return list(sensors.open(url)), list(sensors.open(f"{url}&{REVISIT}"))


def position(frame: Frame) -> float:
    """Metres along the simulated street."""
    return float(frame.meta["pose"][0])


def nearest_mapped(revisits: list[Frame], mapped: list[Frame]) -> np.ndarray:
    """For each revisit, the mapped scan taken nearest to it."""
    positions = np.array([position(f) for f in mapped])
    return np.array([int(np.abs(positions - position(f)).argmin()) for f in revisits])


def place_recall(found: np.ndarray, revisits: list[Frame], mapped: list[Frame], tolerance: float = TOLERANCE_M) -> float:
    """Share of revisits whose retrieved mapped scan lies within `tolerance` metres of them."""
    positions = np.array([position(f) for f in mapped])
    return float(np.mean([abs(positions[j] - position(f)) <= tolerance for j, f in zip(found, revisits)]))


def revisit_pairs(seeds, frames: int, describe: ScanContext) -> tuple[np.ndarray, np.ndarray]:
    """(revisit descriptors, descriptors of their nearest mapped scans) over simulated streets: pairs for
    `rapid-edge bebr train --pairs`."""
    queries, docs = [], []
    for seed in seeds:
        mapped, revisits = simulated_revisit(seed, frames)
        queries += [describe(f) for f in revisits]
        docs += [describe(mapped[j]) for j in nearest_mapped(revisits, mapped)]
    return np.stack(queries), np.stack(docs)
