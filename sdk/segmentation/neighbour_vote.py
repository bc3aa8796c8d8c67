"""Neighbour vote: each point takes the label most of its 3D neighbours in a range-image window carry.

Why: the network labels every point on its own, so a few points of an object disagree with the rest
(a rider's points split between bicyclist and motorcyclist, a pole's top read as vegetation). Like
RangeNet++'s k-NN post-processing, a vote among the points within `radius` metres that hold the pixels
of a `window` x `window` block around the point (one point a pixel, as in the range image) settles them;
the range image makes finding those neighbours a look at a few pixels instead of a 3D search. A point
keeps its own label on a tie. Written by hand because a KD-tree's radius search (SciPy's cKDTree: about
0.5 s for the real 124,668-point scan on 2 cores, counting alone) does not fit a 100 ms frame, and no
maintained library votes on a range image.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numba import njit, prange


@dataclass(frozen=True)
class NeighbourVote:
    window: int = 5  # pixels on a side, odd
    radius: float = 0.5  # metres

    def __post_init__(self) -> None:
        if self.window < 1 or self.window % 2 == 0:
            raise ValueError(f"neighbour vote window {self.window}: expected an odd number of pixels >= 1")
        if not self.radius > 0:
            raise ValueError(f"neighbour vote radius {self.radius}: expected metres > 0")

    def to_dict(self) -> dict:
        return asdict(self)

    def apply(self, labels: np.ndarray, pixel: np.ndarray, points: np.ndarray, rows: int, columns: int) -> np.ndarray:
        """labels [N] (any non-negative ids), pixel [N] index into rows * columns, points [N, >=3] (x, y, z
        first) -> voted labels."""
        if self.window > columns:
            raise ValueError(f"neighbour vote window {self.window} is wider than the image ({columns} columns)")
        classes = int(labels.max()) + 1 if len(labels) else 1
        return _vote(np.ascontiguousarray(labels, np.int32), np.ascontiguousarray(pixel, np.int64),
                     np.ascontiguousarray(points, np.float32), rows, columns, self.window // 2,
                     np.float32(self.radius * self.radius), classes)


#: what the shipped rapid_seg uses: chosen on training-range simulated frames (its TRAINING.md)
DEFAULT_VOTE = NeighbourVote()


@njit(parallel=True, cache=True)
def _vote(labels, pixel, xyz, rows, columns, half, radius_squared, classes):
    n, pixels = len(labels), rows * columns
    # one point per pixel, as in the range image (the last one written); planes of x, y, z and labels
    owner = np.full(pixels, -1, np.int64)
    for i in range(n):  # in order, so the last point of a pixel owns it on every run
        owner[pixel[i]] = i
    pixel_xyz = np.zeros((3, pixels), np.float32)
    pixel_label = np.zeros(pixels, labels.dtype)
    for p in prange(pixels):
        if owner[p] >= 0:
            pixel_label[p] = labels[owner[p]]
            for axis in range(3):
                pixel_xyz[axis, p] = xyz[owner[p], axis]
    voted = np.empty_like(labels)
    for i in prange(n):
        row, column = pixel[i] // columns, pixel[i] % columns
        first_column = column - half if column >= half else column - half + columns
        voted[i] = labels[i]
        if _agrees(labels[i], owner, pixel_label, row, first_column, rows, columns, half):
            continue  # most points: every pixel of the window says the same, no distance to measure
        votes = np.zeros(classes, np.int32)
        votes[labels[i]] = 1  # the point's own label, whether or not it is its pixel's point
        x, y, z = xyz[i, 0], xyz[i, 1], xyz[i, 2]
        for r in range(max(row - half, 0), min(row + half + 1, rows)):
            c = first_column
            for _ in range(2 * half + 1):  # along a row of the image: contiguous in memory
                p = r * columns + c
                c = c + 1 if c + 1 < columns else 0  # the sweep wraps around at 360 degrees
                if owner[p] < 0 or owner[p] == i:
                    continue
                dx, dy, dz = x - pixel_xyz[0, p], y - pixel_xyz[1, p], z - pixel_xyz[2, p]
                if dx * dx + dy * dy + dz * dz <= radius_squared:
                    votes[pixel_label[p]] += 1
        best = labels[i]
        for label in range(classes):
            if votes[label] > votes[best]:
                best = label
        voted[i] = best
    return voted


@njit(inline="always")
def _agrees(label, owner, pixel_label, row, first_column, rows, columns, half):
    """True when every occupied pixel of the window holds `label`."""
    for r in range(max(row - half, 0), min(row + half + 1, rows)):
        c = first_column
        for _ in range(2 * half + 1):
            p = r * columns + c
            c = c + 1 if c + 1 < columns else 0
            if owner[p] >= 0 and pixel_label[p] != label:
                return False
    return True
