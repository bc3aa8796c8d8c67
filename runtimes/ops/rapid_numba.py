"""rapid::RapidFeatures on the CPU with numba: the fast path of the CPU pipeline.

One pass per pixel keeps the k_max nearest candidates in an insertion-sorted list (ties keep the
earlier candidate, as the reference's stable sort does), rows run in parallel; a second pass turns
them into sorted, normalised 4-D distances. Arithmetic is float32 in the reference's order, so the
results match it to rounding."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .rapid_spec import NOTHING_NEAR, RapidConfig, check_image


def rapid_features_numba(image: np.ndarray, config: RapidConfig) -> np.ndarray:
    """[B, 4, H, W] -> [B, k_max, H, W]."""
    check_image(image)
    return np.stack([_one_frame(np.ascontiguousarray(frame, dtype=np.float32), config) for frame in image])


def _one_frame(frame: np.ndarray, config: RapidConfig) -> np.ndarray:
    k_near, k_mid, k_far = config.k_values
    near, far = config.range_thresholds
    distance3, reflectivity, count, valid = _select(
        frame, config.candidate_offsets(), k_near, k_mid, k_far, np.float32(near), np.float32(far), config.k_max)
    if config.frozen:
        stats = config.frozen
        r_min, r_max, d_min, d_max, scale = stats.r_min, stats.r_max, stats.d_min, stats.d_max, stats.scale
    else:
        if not count.any():
            return np.full((config.k_max,) + valid.shape, NOTHING_NEAR, dtype=np.float32)
        r_min, r_max, d_min, d_max = _extremes(frame[3], valid, distance3, count)
        scale = np.nan  # the frame's largest 4-D distance, found by _distance4
    distance4, largest = _distance4(frame[3], distance3, reflectivity, count, *(np.float32(v) for v in (r_min, r_max, d_min, d_max)))
    scale = np.float32(scale if config.frozen else largest)
    return _normalise(distance4, count, valid, scale, np.float32(config.delta))


@njit(parallel=True, cache=True)
def _select(frame, offsets, k_near, k_mid, k_far, near, far, k_max):
    height, width = frame.shape[1], frame.shape[2]
    window = np.abs(offsets).max()
    distance3 = np.empty((height, width, k_max), dtype=np.float32)
    reflectivity = np.empty((height, width, k_max), dtype=np.float32)
    count = np.zeros((height, width), dtype=np.int64)
    valid = np.zeros((height, width), dtype=np.bool_)
    for row in prange(height):
        # the row, wrapped by `window` columns on both sides, so candidates need no modulo
        padded = np.empty((width + 2 * window, 4), dtype=np.float32)
        padded_valid = np.empty(width + 2 * window, dtype=np.bool_)
        for i in range(width + 2 * window):
            col = (i - window) % width
            for channel in range(4):
                padded[i, channel] = frame[channel, row, col]
            padded_valid[i] = _is_valid(padded[i, 0], padded[i, 1], padded[i, 2], padded[i, 3])
        best_d = np.empty(k_max, dtype=np.float32)
        best_r = np.empty(k_max, dtype=np.float32)
        for col in range(width):
            centre = col + window
            if not padded_valid[centre]:
                continue
            valid[row, col] = True
            x, y, z = padded[centre, 0], padded[centre, 1], padded[centre, 2]
            distance = np.float32(np.sqrt(x * x + y * y + z * z))
            k = k_near if distance < near else (k_mid if distance < far else k_far)
            filled = 0
            for offset in offsets:
                other = centre + offset
                if not padded_valid[other]:
                    continue
                dx = padded[other, 0] - x
                dy = padded[other, 1] - y
                dz = padded[other, 2] - z
                d = np.float32(np.sqrt(dx * dx + dy * dy + dz * dz))
                if filled == k_max and d >= best_d[k_max - 1]:
                    continue
                slot = filled if filled < k_max else k_max - 1
                while slot > 0 and best_d[slot - 1] > d:
                    best_d[slot] = best_d[slot - 1]
                    best_r[slot] = best_r[slot - 1]
                    slot -= 1
                best_d[slot] = d
                best_r[slot] = padded[other, 3]
                if filled < k_max:
                    filled += 1
            for slot in range(filled):
                distance3[row, col, slot] = best_d[slot]
                reflectivity[row, col, slot] = best_r[slot]
            count[row, col] = min(filled, k)
    return distance3, reflectivity, count, valid


@njit(cache=True)
def _is_valid(x, y, z, r):
    if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(z) and np.isfinite(r)):
        return False
    return x != 0 or y != 0 or z != 0


@njit(cache=True)
def _extremes(reflectivity, valid, distance3, count):
    r_min, r_max, d_min, d_max = np.inf, -np.inf, np.inf, -np.inf
    height, width = valid.shape
    for row in range(height):
        for col in range(width):
            if not valid[row, col]:
                continue
            r_min = min(r_min, reflectivity[row, col])
            r_max = max(r_max, reflectivity[row, col])
            for slot in range(count[row, col]):
                d_min = min(d_min, distance3[row, col, slot])
                d_max = max(d_max, distance3[row, col, slot])
    return r_min, r_max, d_min, d_max


@njit(parallel=True, cache=True)
def _distance4(centre_refl, distance3, reflectivity, count, r_min, r_max, d_min, d_max):
    height, width, k_max = distance3.shape
    span = r_max - r_min
    ratio = (d_max - d_min) / span if span > 0 else np.float32(0)  # ratio 0: g is d_min throughout
    distance4 = np.empty((height, width, k_max), dtype=np.float32)  # slots past count[] are never read
    row_largest = np.zeros(height, dtype=np.float32)
    for row in prange(height):
        largest = np.float32(0)
        for col in range(width):
            n = count[row, col]
            if n == 0:
                continue
            g_centre = d_min + (centre_refl[row, col] - r_min) * ratio
            for slot in range(n):
                gap = g_centre - (d_min + (reflectivity[row, col, slot] - r_min) * ratio)
                d3 = distance3[row, col, slot]
                d = np.float32(np.sqrt(d3 * d3 + gap * gap))
                position = slot  # insertion sort: k_max is small
                while position > 0 and distance4[row, col, position - 1] > d:
                    distance4[row, col, position] = distance4[row, col, position - 1]
                    position -= 1
                distance4[row, col, position] = d
            largest = max(largest, distance4[row, col, n - 1])
        row_largest[row] = largest
    return distance4, row_largest.max()


@njit(parallel=True, cache=True)
def _normalise(distance4, count, valid, scale, delta):
    height, width, k_max = distance4.shape
    out = np.full((k_max, height, width), np.float32(1.0), dtype=np.float32)
    for row in prange(height):
        for col in range(width):
            if not valid[row, col]:
                continue
            n = count[row, col]
            largest_in_range = -np.inf
            for slot in range(n):
                value = distance4[row, col, slot] / scale
                if value <= delta:
                    largest_in_range = max(largest_in_range, value)
            if largest_in_range == -np.inf:
                continue  # nothing within delta: the row stays 1.0
            for slot in range(k_max):
                value = distance4[row, col, slot] / scale if slot < n else np.inf
                out[slot, row, col] = value if value <= delta else largest_in_range
    return out
