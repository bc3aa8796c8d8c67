"""Properties of rapid::RapidFeatures that every implementation must keep, checked on the NumPy
reference and the numba fast path (which must agree bit for bit) over generated range images."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.ops.rapid_reference import rapid_features_reference
from runtimes.ops.rapid_spec import FrozenStats, RapidConfig

SMALL = RapidConfig(window=4, k_values=(6, 4, 2), range_thresholds=(5.0, 10.0))
IMPLEMENTATIONS = [rapid_features_reference, rapid_features_numba]


@st.composite
def range_images(draw, max_height: int = 4, max_width: int = 24):
    """[1, 4, H, W] with a random set of returns: ranges 0.5..30 m, some duplicates, some empty pixels."""
    height = draw(st.integers(1, max_height))
    width = draw(st.integers(9, max_width))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    fill = draw(st.sampled_from([0.0, 0.05, 0.5, 0.9, 1.0]))
    image = np.zeros((1, 4, height, width), dtype=np.float32)
    azimuth = np.pi - 2 * np.pi * (np.arange(width) + 0.5) / width
    distance = rng.uniform(0.5, 30.0, (height, width))
    elevation = rng.uniform(-0.3, 0.1, (height, 1))
    image[0, 0] = distance * np.cos(elevation) * np.cos(azimuth)
    image[0, 1] = distance * np.cos(elevation) * np.sin(azimuth)
    image[0, 2] = distance * np.sin(elevation)
    image[0, 3] = rng.choice([0.0, 0.25, 0.5, 1.0], (height, width)) if draw(st.booleans()) else rng.uniform(0, 1, (height, width))
    if draw(st.booleans()):  # duplicates: a pixel repeats its left neighbour's return
        copy = rng.random((height, width)) < 0.3
        left = np.roll(image[0], 1, axis=2)
        for channel in range(4):
            image[0, channel][copy] = left[channel][copy]
    image[0, :, rng.random((height, width)) >= fill] = 0.0
    return image


def features(image, config=SMALL):
    results = [implementation(image, config) for implementation in IMPLEMENTATIONS]
    np.testing.assert_array_equal(results[0], results[1])  # numba reproduces the reference exactly
    return results[0]


def valid_mask(image):
    return np.abs(image[:, :3]).sum(axis=1) > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(range_images())
def test_outputs_in_unit_interval_rows_ascending_and_padded(image):
    out = features(image)
    assert out.shape == (1, SMALL.k_max) + image.shape[2:]
    assert np.isfinite(out).all() and (out >= 0).all() and (out <= 1).all()
    assert (np.diff(out, axis=1) >= 0).all()  # each pixel's row ascends
    nothing = (out == 1.0).all(axis=1)
    rest = ~nothing
    # below delta everywhere else, and the padding repeats the largest in-range value
    assert (out[:, :, rest[0]] <= SMALL.delta).all()
    last = out[:, -1][rest]
    assert np.array_equal(out.max(axis=1)[rest], last)
    assert nothing[~valid_mask(image)].all()  # empty pixels read "nothing near"


@settings(max_examples=40, deadline=None)
@given(range_images(), st.integers(1, 23))
def test_rotation_by_whole_columns_leaves_features_unchanged(image, shift):
    shift %= image.shape[-1]
    angle = 2 * np.pi * shift / image.shape[-1]
    rotated = image.copy()
    c, s = np.cos(angle), np.sin(angle)
    rotated[0, 0] = c * image[0, 0] - s * image[0, 1]
    rotated[0, 1] = s * image[0, 0] + c * image[0, 1]
    rotated = np.roll(rotated, -shift, axis=-1)  # counter-clockwise rotation moves returns to lower columns
    np.testing.assert_allclose(np.roll(features(image), -shift, axis=-1), features(rotated), atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(range_images(), st.tuples(*[st.floats(-20, 20)] * 3))
def test_translation_leaves_features_unchanged_when_k_does_not_depend_on_range(image, offset):
    constant_k = RapidConfig(window=4, k_values=(5, 5, 5))
    moved = image.copy()
    valid = valid_mask(image)
    for axis in range(3):
        moved[:, axis][valid] += np.float32(offset[axis])
    still_valid = valid_mask(moved) == valid
    if not still_valid.all():
        return  # a return moved exactly onto the origin: not a translation of the same scene
    np.testing.assert_allclose(features(image, constant_k), features(moved, constant_k), atol=2e-5)


@pytest.mark.parametrize("returns", [0, 1])
def test_frames_with_no_neighbours_read_nothing_near(returns):
    image = np.zeros((1, 4, 3, 16), dtype=np.float32)
    if returns:
        image[0, :, 1, 5] = (4.0, 1.0, -1.0, 0.3)
    assert (features(image) == 1.0).all()


def test_constant_reflectivity_gives_pure_geometry():
    rng = np.random.default_rng(3)
    image = np.zeros((1, 4, 2, 32), dtype=np.float32)
    image[0, :3] = rng.uniform(1, 10, (3, 2, 32))
    image[0, 3] = 0.7
    out = features(image)
    assert np.isfinite(out).all() and (out < 1).any()


@pytest.mark.parametrize("seed", range(4))
def test_equal_distances_keep_the_earlier_candidate(seed):
    """Whole-metre coordinates make many neighbours equally far; with distinct reflectivities the order
    among them shows in the 4-D distances, so numba must break every tie as the reference's stable sort."""
    rng = np.random.default_rng(seed)
    image = np.round(rng.normal(0, 3, (1, 4, 8, 64))).astype(np.float32)
    image[0, :, rng.random((8, 64)) < 0.2] = 0.0
    distances = features(image, RapidConfig())
    assert (distances < 1).any()


def test_nan_and_inf_returns_are_empty_pixels():
    rng = np.random.default_rng(4)
    image = rng.uniform(1, 10, (1, 4, 2, 32)).astype(np.float32)
    clean = image.copy()
    image[0, 0, 0, 3] = np.nan
    image[0, 3, 1, 7] = np.inf
    out = features(image)
    assert np.isfinite(out).all()
    assert (out[0, :, 0, 3] == 1.0).all() and (out[0, :, 1, 7] == 1.0).all()
    clean[0, :, 0, 3] = 0.0
    clean[0, :, 1, 7] = 0.0
    np.testing.assert_array_equal(out, features(clean))  # exactly as if those pixels were empty


def test_frozen_statistics_make_a_pixel_independent_of_far_away_returns():
    rng = np.random.default_rng(5)
    image = rng.uniform(1, 10, (1, 4, 1, 64)).astype(np.float32)
    image[0, 3] = rng.uniform(0, 1, 64)
    changed = image.copy()
    changed[0, :3, 0, 40:] *= 3.0  # outside the windows of columns 4..35 (which wrap no further)
    frozen = RapidConfig(window=4, k_values=(6, 4, 2), frozen=FrozenStats(0.0, 1.0, 0.0, 5.0, 20.0))
    np.testing.assert_array_equal(features(image, frozen)[..., 4:36], features(changed, frozen)[..., 4:36])
    assert not np.array_equal(features(image)[..., 4:36], features(changed)[..., 4:36])  # per-frame statistics move


def test_config_is_validated():
    with pytest.raises(ValueError, match="exceeds"):
        RapidConfig(window=2, k_values=(10, 7, 5))
    with pytest.raises(ValueError, match="delta"):
        RapidConfig(delta=1.5)
    with pytest.raises(ValueError, match=r"\[B, 4, H, W\]"):
        rapid_features_reference(np.zeros((4, 3, 8)), RapidConfig())
    assert RapidConfig.from_attributes(RapidConfig().attributes()) == RapidConfig()
