"""rapid::RapidFeatures on the CPU with numba: the fast path of the CPU pipeline.

Rows run in parallel. Within a row the data is laid out candidate- or slot-major ([2 window or k_max, W])
so every inner loop runs over columns and vectorises: each candidate's rank among the 2 * window
candidates of its column is counted by comparisons (ties rank the earlier candidate first, as the
reference's stable sort does), and the k_max best are placed by rank; the 4-D distances are sorted by an
odd-even network across all columns at once.
Arithmetic is float32 in the reference's order, so results match it exactly."""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from .rapid_spec import NOTHING_NEAR, RapidConfig, check_image

INF = np.float32(np.inf)


def rapid_features_numba(image: np.ndarray, config: RapidConfig) -> np.ndarray:
    """[B, 4, H, W] -> [B, k_max, H, W]."""
    check_image(image)
    batch, _, height, width = image.shape
    features = np.empty((batch, config.k_max, height, width), dtype=np.float32)
    for frame, out in zip(image, features):
        _one_frame(np.ascontiguousarray(frame, dtype=np.float32), config, out)
    return features


def _one_frame(frame: np.ndarray, config: RapidConfig, out: np.ndarray) -> None:
    """Writes one frame's [k_max, H, W] features into `out` (no per-frame array to stack afterwards)."""
    k_near, k_mid, k_far = config.k_values
    near, far = config.range_thresholds
    distance3, reflectivity, valid, row_extremes = _select(
        frame, config.window, k_near, k_mid, k_far, np.float32(near), np.float32(far), config.k_max,
        min(frame.shape[1], get_num_threads()))
    if config.frozen:
        stats = config.frozen
        extremes = (stats.r_min, stats.r_max, stats.d_min, stats.d_max)
    else:
        if not np.isfinite(row_extremes[:, 2]).any():  # no pixel has a neighbour
            out[:] = NOTHING_NEAR
            return
        extremes = (row_extremes[:, 0].min(), row_extremes[:, 1].max(), row_extremes[:, 2].min(), row_extremes[:, 3].max())
    largest = _distance4_sorted(frame, distance3, reflectivity, *(np.float32(v) for v in extremes))
    scale = np.float32(config.frozen.scale if config.frozen else largest)
    _normalise(distance3, valid, scale, np.float32(config.delta), out)


@njit(cache=True)
def _is_valid(x, y, z, r):
    if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(z) and np.isfinite(r)):
        return False
    return x != 0 or y != 0 or z != 0


@njit(parallel=True, cache=True)
def _select(frame, window, k_near, k_mid, k_far, near, far, k_max, chunks):
    """Per row: the k_max nearest candidates of each pixel, slot-major [H, k_max, W]; slots past the
    pixel's k (or past the candidates it has) hold inf. Also per-row extremes (r_min, r_max, d_min, d_max).
    Rows are dealt out in one chunk per thread, each with its own scratch: allocated per row, the
    hundreds of kilobytes of scratch were fresh pages every time, and the page faults serialised the threads."""
    height, width = frame.shape[1], frame.shape[2]
    distance3 = np.empty((height, k_max, width), dtype=np.float32)
    reflectivity = np.empty((height, k_max, width), dtype=np.float32)
    valid = np.empty((height, width), dtype=np.bool_)  # every element written by _select_row
    row_extremes = np.empty((height, 4), dtype=np.float32)
    for chunk in prange(chunks):
        padded = np.empty((5, width + 2 * window), dtype=np.float32)  # x, y, z, r, missing
        ok = np.empty(width + 2 * window, dtype=np.bool_)
        candidate_d = np.empty((2 * window, width), dtype=np.float32)
        candidate_r = np.empty((2 * window, width), dtype=np.float32)
        rank = np.empty((2 * window, width), dtype=np.int32)
        for row in range(chunk * height // chunks, (chunk + 1) * height // chunks):
            _select_row(frame[:, row], window, k_near, k_mid, k_far, near, far, padded, ok, candidate_d,
                        candidate_r, rank, distance3[row], reflectivity[row], valid[row], row_extremes[row])
    return distance3, reflectivity, valid, row_extremes


@njit(cache=True)
def _select_row(line, window, k_near, k_mid, k_far, near, far, padded, ok, candidate_d, candidate_r, rank,
                best_d, best_r, valid, extremes):
    """One row of _select: `line` [4, W] in, `best_d`/`best_r` [k_max, W], `valid` [W] and `extremes` out."""
    width, count, k_max = line.shape[1], 2 * window, best_d.shape[0]
    # the row wrapped by `window` columns on both sides
    px, py, pz, pr, missing = padded[0], padded[1], padded[2], padded[3], padded[4]
    for i in range(width + 2 * window):
        col = (i - window) % width
        px[i], py[i], pz[i], pr[i] = line[0, col], line[1, col], line[2, col], line[3, col]
        ok[i] = _is_valid(px[i], py[i], pz[i], pr[i])
        missing[i] = np.float32(0) if ok[i] else INF  # added to a distance, masks it without a branch
        if not ok[i]:
            px[i] = py[i] = pz[i] = np.float32(0)  # a NaN would survive the mask
    # candidate j of every column, nearest column first: offset j // 2 + 1, left then right. Loops run
    # over equal-length 1-D views (no per-element index arithmetic), which LLVM vectorises
    centre = slice(window, window + width)
    cx, cy, cz, cm = px[centre], py[centre], pz[centre], missing[centre]
    for j in range(count):
        start = window + (j // 2 + 1) * (1 if j % 2 else -1)
        ox, oy, oz = px[start:start + width], py[start:start + width], pz[start:start + width]
        om, distance_j = missing[start:start + width], candidate_d[j]
        for col in range(width):
            dx = ox[col] - cx[col]
            dy = oy[col] - cy[col]
            dz = oz[col] - cz[col]
            distance_j[col] = np.float32(np.sqrt(dx * dx + dy * dy + dz * dz)) + (om[col] + cm[col])
        candidate_r[j] = pr[start:start + width]
    # stable rank of each candidate (ties: the earlier one first); the ranks below k_max place it
    rank[:] = 0
    for j in range(count):
        rank_j, distance_j = rank[j], candidate_d[j]
        for i in range(count):
            distance_i = candidate_d[i]
            if i < j:
                for col in range(width):
                    rank_j[col] += np.int32(distance_i[col] <= distance_j[col])
            elif i > j:
                for col in range(width):
                    rank_j[col] += np.int32(distance_i[col] < distance_j[col])
    best_d[:] = INF  # ascending per column; inf where empty
    best_r[:] = 0
    for j in range(count):
        for col in range(width):
            slot = rank[j, col]
            if slot < k_max and candidate_d[j, col] < INF:
                best_d[slot, col] = candidate_d[j, col]
                best_r[slot, col] = candidate_r[j, col]
    r_min, r_max, d_min, d_max = INF, -INF, INF, -INF
    for col in range(width):
        here = col + window
        valid[col] = ok[here]
        if not ok[here]:
            continue
        r_min = min(r_min, pr[here])
        r_max = max(r_max, pr[here])
        x, y, z = px[here], py[here], pz[here]
        distance = np.float32(np.sqrt(x * x + y * y + z * z))
        k = k_near if distance < near else (k_mid if distance < far else k_far)
        chosen = 0
        while chosen < k and best_d[chosen, col] < INF:
            chosen += 1
        for slot in range(chosen, k_max):
            best_d[slot, col] = INF
        if chosen:
            d_min = min(d_min, best_d[0, col])
            d_max = max(d_max, best_d[chosen - 1, col])
    extremes[0], extremes[1], extremes[2], extremes[3] = r_min, r_max, d_min, d_max


@njit(parallel=True, cache=True)
def _distance4_sorted(frame, distance3, reflectivity, r_min, r_max, d_min, d_max):
    """In place: distance3 becomes the sorted 4-D distances (inf stays inf). Returns the largest."""
    height, k_max, width = distance3.shape
    span = r_max - r_min
    ratio = (d_max - d_min) / span if span > 0 else np.float32(0)  # ratio 0: g is d_min throughout
    row_largest = np.zeros(height, dtype=np.float32)
    for row in prange(height):
        g_centre = np.empty(width, dtype=np.float32)
        for col in range(width):
            g_centre[col] = d_min + (frame[3, row, col] - r_min) * ratio
        for slot in range(k_max):
            distances, reflectivities = distance3[row, slot], reflectivity[row, slot]
            for col in range(width):
                a = distances[col]
                gap = g_centre[col] - (d_min + (reflectivities[col] - r_min) * ratio)
                d = np.float32(np.sqrt(a * a + gap * gap))
                distances[col] = d if a < INF else INF
        # odd-even transposition network: k_max rounds of compare-exchange, branch-free across columns
        for sweep in range(k_max):
            for slot in range(sweep % 2, k_max - 1, 2):
                upper, lower = distance3[row, slot], distance3[row, slot + 1]
                for col in range(width):
                    a, b = upper[col], lower[col]
                    upper[col] = min(a, b)
                    lower[col] = max(a, b)
        largest = np.float32(0)
        for slot in range(k_max):
            for col in range(width):
                value = distance3[row, slot, col]
                if value < INF:
                    largest = max(largest, value)
        row_largest[row] = largest
    return row_largest.max()


@njit(parallel=True, cache=True)
def _normalise(distance4, valid, scale, delta, out):
    """Into `out` [k_max, H, W]: distances over `scale`, those past `delta` clamped to the largest within it."""
    height, k_max, width = distance4.shape
    for row in prange(height):
        largest_in_range = np.full(width, -INF, dtype=np.float32)
        for slot in range(k_max):
            for col in range(width):
                value = distance4[row, slot, col] / scale
                if value <= delta:
                    largest_in_range[col] = max(largest_in_range[col], value)
        for slot in range(k_max):
            for col in range(width):
                value = distance4[row, slot, col] / scale
                nothing = not valid[row, col] or largest_in_range[col] == -INF
                out[slot, row, col] = 1.0 if nothing else (value if value <= delta else largest_in_range[col])
