"""RAPiD as its authors compute it: exact kNN over the whole ring (cdist + topk per ring, in a loop).

It is the fidelity yardstick of the windowed search (neighbour recall, feature difference) and the
speed baseline of the benchmark; it shares the reference's 4-D distance and normalisation steps."""
from __future__ import annotations

import numpy as np

from .rapid_reference import Neighbours, _keep_k, features_from_neighbours, split_image
from .rapid_spec import RapidConfig, check_image


def exact_ring_neighbours(xyz, reflectivity, valid, config: RapidConfig) -> Neighbours:
    import torch

    height, width = valid.shape
    k_max = config.k_max
    distance3 = np.full((height, width, k_max), np.inf)
    neighbour_refl = np.zeros((height, width, k_max))
    column = np.zeros((height, width, k_max), dtype=np.int64)
    for row in range(height):
        columns = np.flatnonzero(valid[row])
        if len(columns) < 2:
            continue
        points = torch.from_numpy(xyz[row, columns])
        pairwise = torch.cdist(points, points)
        pairwise.fill_diagonal_(float("inf"))
        k = min(k_max, len(columns) - 1)
        values, index = torch.topk(pairwise, k, dim=1, largest=False)
        distance3[row, columns, :k] = values.numpy()
        neighbour_refl[row, columns, :k] = reflectivity[row, columns][index.numpy()]
        column[row, columns, :k] = columns[index.numpy()]
    return _keep_k(distance3, neighbour_refl, column, xyz, config)


def rapid_features_exact_ring(image: np.ndarray, config: RapidConfig) -> np.ndarray:
    """[B, 4, H, W] -> [B, k_max, H, W], neighbours by exact kNN within each ring."""
    check_image(image)
    frames = []
    for frame in image.astype(np.float32):
        xyz, reflectivity, valid = split_image(frame)
        frames.append(features_from_neighbours(exact_ring_neighbours(xyz, reflectivity, valid, config),
                                               xyz, reflectivity, valid, config))
    return np.stack(frames).astype(np.float32)


def neighbour_recall(found: Neighbours, exact: Neighbours) -> float:
    """Share of the exact in-ring k nearest that the search also chose."""
    hits = total = 0
    for f_cols, f_mask, e_cols, e_mask in zip(found.column.reshape(-1, found.column.shape[-1]),
                                               found.chosen.reshape(-1, found.chosen.shape[-1]),
                                               exact.column.reshape(-1, exact.column.shape[-1]),
                                               exact.chosen.reshape(-1, exact.chosen.shape[-1])):
        wanted = set(e_cols[e_mask].tolist())
        if wanted:
            hits += len(wanted & set(f_cols[f_mask].tolist()))
            total += len(wanted)
    return hits / total if total else 1.0
