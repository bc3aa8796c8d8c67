"""rapid_seg's postprocessing against torch's softmax: labels are argmax + 1 (first of equals), scores the
probability of that label; points without a pixel keep label 0."""
from __future__ import annotations

import numpy as np
import torch

from sdk.segmentation.steps import labels_and_scores


def test_labels_and_scores_match_softmax():
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(5000, 19)) * 4).astype(np.float32)
    logits[0] = 7.0  # all equal: the first class wins, probability 1/19
    logits[1, [4, 11]] = 50.0  # a tie between two large values
    labels, scores = labels_and_scores(logits)
    probabilities = torch.softmax(torch.from_numpy(logits), dim=1)
    expected_labels = probabilities.argmax(dim=1).numpy() + 1
    np.testing.assert_array_equal(labels, expected_labels)
    assert labels[0] == 1 and labels[1] == 5
    np.testing.assert_allclose(scores, probabilities.max(dim=1).values.numpy(), rtol=1e-5)
    assert abs(scores[0] - 1 / 19) < 1e-7
    assert labels.dtype == np.int32 and scores.dtype == np.float32


def test_extreme_logits_stay_finite():
    logits = np.array([[1e30, -1e30, 0.0], [-80.0, -85.0, -90.0]], dtype=np.float32)
    labels, scores = labels_and_scores(logits)
    np.testing.assert_array_equal(labels, [1, 1])
    assert np.isfinite(scores).all() and scores[0] == 1.0


def test_points_without_a_pixel_keep_the_ignore_label():
    from sdk.segmentation.steps import Prepared, RapidSegSteps
    from sensors import SEMANTIC_KITTI, Frame

    points = np.array([[5, 0, 0, 0.1], [np.nan, 0, 0, 0.1], [0, 5, 0, 0.2]], dtype=np.float32)
    frame = Frame(points=points, timestamp=0.0, sensor="test")
    has_pixel = np.array([True, False, True])
    logits = np.array([[0.0, 3.0, 1.0], [2.0, 0.0, 0.0]], dtype=np.float32)  # one row per point with a pixel
    steps = RapidSegSteps(64, 2048, None, SEMANTIC_KITTI.class_names)
    result = steps.postprocess(Prepared(frame, {}, has_pixel, ()), logits)
    np.testing.assert_array_equal(result.labels, [2, 0, 1])
    assert result.scores[1] == 0.0 and (result.scores[[0, 2]] > 1 / 3).all()


def test_the_feed_skips_points_without_a_pixel_and_copies_nothing_when_all_have_one():
    from sdk.segmentation.steps import RapidSegSteps
    from sensors import SEMANTIC_KITTI, Frame

    rng = np.random.default_rng(5)
    points = np.concatenate([rng.uniform(-20, 20, size=(200, 3)), rng.uniform(0, 1, size=(200, 1))], axis=1).astype(np.float32)
    steps = RapidSegSteps(64, 2048, None, SEMANTIC_KITTI.class_names)
    whole = steps.preprocess(Frame(points=points, timestamp=0.0, sensor="test"))
    assert whole.has_pixel.all() and np.shares_memory(whole.feed["points"], points)
    holed = points.copy()
    holed[[3, 50]] = np.nan
    partial = steps.preprocess(Frame(points=holed, timestamp=0.0, sensor="test"))
    assert partial.has_pixel.sum() == 198 and len(partial.feed["points"]) == len(partial.feed["pixel"]) == 198
    keep = np.ones(200, dtype=bool)
    keep[[3, 50]] = False
    np.testing.assert_array_equal(partial.feed["pixel"], whole.feed["pixel"][keep])
