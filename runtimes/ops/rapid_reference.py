"""The NumPy reference of rapid::RapidFeatures: the definition, written to be read, not to be fast.
Every other implementation is tested against it (see rapid_spec for the contract)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rapid_spec import NOTHING_NEAR, RapidConfig, check_image


@dataclass
class Neighbours:
    """The chosen neighbours of every pixel, [H, W, k_max] each; slots past a pixel's k are not chosen."""

    distance3: np.ndarray
    reflectivity: np.ndarray
    column: np.ndarray
    chosen: np.ndarray


def rapid_features_reference(image: np.ndarray, config: RapidConfig) -> np.ndarray:
    """[B, 4, H, W] -> [B, k_max, H, W], computed in float32 like every deployed form of the op."""
    check_image(image)
    frames = []
    for frame in image.astype(np.float32):
        xyz, reflectivity, valid = split_image(frame)
        neighbours = windowed_neighbours(xyz, reflectivity, valid, config)
        frames.append(features_from_neighbours(neighbours, xyz, reflectivity, valid, config))
    return np.stack(frames).astype(np.float32)


def split_image(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[4, H, W] -> xyz [H, W, 3] and reflectivity [H, W] (zero where invalid), valid [H, W]."""
    xyz = np.moveaxis(frame[:3], 0, -1)
    reflectivity = frame[3]
    finite = np.isfinite(xyz).all(axis=-1) & np.isfinite(reflectivity)
    valid = finite & (np.abs(np.where(finite[..., None], xyz, 0.0)).sum(axis=-1) > 0)
    return np.where(valid[..., None], xyz, 0.0), np.where(valid, reflectivity, 0.0), valid


def windowed_neighbours(xyz, reflectivity, valid, config: RapidConfig) -> Neighbours:
    """Candidates: the same row within +-window columns, nearest column first; the k nearest by 3-D
    distance (a stable sort: ties go to the earlier candidate), k set by the pixel's range."""
    width = xyz.shape[1]
    offsets = config.candidate_offsets()
    neighbour_xyz = np.stack([np.roll(xyz, -d, axis=1) for d in offsets], axis=2)  # [H, W, C, 3]
    neighbour_refl = np.stack([np.roll(reflectivity, -d, axis=1) for d in offsets], axis=2)
    neighbour_valid = np.stack([np.roll(valid, -d, axis=1) for d in offsets], axis=2)
    difference = neighbour_xyz - xyz[:, :, None, :]
    distance3 = np.sqrt(difference[..., 0] ** 2 + difference[..., 1] ** 2 + difference[..., 2] ** 2)
    distance3 = np.where(neighbour_valid & valid[..., None], distance3, np.float32(np.inf))
    order = np.argsort(distance3, axis=-1, kind="stable")[..., : config.k_max]
    column = (np.arange(width)[None, :, None] + offsets[order]) % width
    return _keep_k(np.take_along_axis(distance3, order, axis=-1), np.take_along_axis(neighbour_refl, order, axis=-1),
                   column, xyz, config)


def _keep_k(distance3, reflectivity, column, xyz, config: RapidConfig) -> Neighbours:
    k = config.k_for_range(np.sqrt(xyz[..., 0] ** 2 + xyz[..., 1] ** 2 + xyz[..., 2] ** 2))
    chosen = (np.arange(config.k_max) < k[..., None]) & np.isfinite(distance3)
    return Neighbours(distance3, reflectivity, column, chosen)


def features_from_neighbours(neighbours: Neighbours, xyz, reflectivity, valid, config: RapidConfig) -> np.ndarray:
    """4-D distances of the chosen neighbours, sorted, normalised, delta rule -> [k_max, H, W]."""
    chosen = neighbours.chosen
    if config.frozen:
        extremes = config.frozen.r_min, config.frozen.r_max, config.frozen.d_min, config.frozen.d_max
    elif chosen.any():
        r = reflectivity[valid]
        extremes = r.min(), r.max(), neighbours.distance3[chosen].min(), neighbours.distance3[chosen].max()
    else:  # no pixel has a neighbour
        return np.full((config.k_max,) + valid.shape, NOTHING_NEAR)
    g_centre = reflectivity_map(reflectivity, *extremes)[..., None]
    g_neighbour = reflectivity_map(neighbours.reflectivity, *extremes)
    distance4 = np.sqrt(neighbours.distance3**2 + (g_centre - g_neighbour) ** 2).astype(np.float32)
    distance4 = np.where(chosen, distance4, np.float32(np.inf))

    scale = np.float32(config.frozen.scale if config.frozen else distance4[np.isfinite(distance4)].max())
    values = np.sort(distance4, axis=-1) / scale
    in_range = values <= config.delta  # inf (not chosen) is never in range
    row_max = np.max(np.where(in_range, values, -np.inf), axis=-1, keepdims=True)
    features = np.where(in_range, values, row_max)
    features = np.where(np.isfinite(row_max), features, NOTHING_NEAR)
    features[~valid] = NOTHING_NEAR
    return np.moveaxis(features, -1, 0)


def reflectivity_map(reflectivity, r_min, r_max, d_min, d_max):
    """g: reflectivity mapped affinely from [r_min, r_max] onto [d_min, d_max]; d_min when r is constant."""
    r_min, r_max, d_min, d_max = (np.float32(v) for v in (r_min, r_max, d_min, d_max))
    span = r_max - r_min
    if span <= 0:
        return np.full_like(reflectivity, d_min)
    return d_min + (reflectivity - r_min) * ((d_max - d_min) / span)
