"""The neighbour vote: against a plain-Python reading of its rule on random data (several points to a
pixel, the sweep's wrap-around), hand cases, and the pipeline's use of it (labels, scores, manifest)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sdk.segmentation.neighbour_vote import DEFAULT_VOTE, NeighbourVote
from sdk.segmentation.steps import Prepared, RapidSegSteps
from sensors import SEMANTIC_KITTI, Frame


def reference_vote(vote: NeighbourVote, labels, pixel, points, rows, columns):
    """The rule as written: each pixel's point is the last one given it; a point counts its own label and
    the labels of the other pixels' points in the window within the radius; a tie keeps its own label."""
    owner = {}
    for i, p in enumerate(pixel):
        owner[int(p)] = i
    half = vote.window // 2
    voted = labels.copy()
    for i, p in enumerate(pixel):
        row, column = divmod(int(p), columns)
        counts = np.zeros(labels.max() + 1, int)
        counts[labels[i]] += 1
        for r in range(max(row - half, 0), min(row + half + 1, rows)):
            for c in range(column - half, column + half + 1):
                j = owner.get(r * columns + c % columns)
                if j is not None and j != i and np.sum((points[i, :3] - points[j, :3]) ** 2) <= vote.radius ** 2:
                    counts[labels[j]] += 1
        if counts.max() > counts[labels[i]]:
            voted[i] = int(np.argmax(counts))
    return voted


def test_the_vote_follows_its_rule_on_random_data():
    rng = np.random.default_rng(11)
    rows, columns, n = 6, 40, 300  # 300 points on 240 pixels: some share one
    pixel = rng.integers(rows * columns, size=n)
    pixel[:5] = [0, 1, columns - 1, columns - 2, 2 * columns - 1]  # at the wrap-around
    row, column = np.divmod(pixel, columns)
    points = np.stack([column * 0.2, row * 0.2, rng.normal(0, 0.2, n), np.zeros(n)], axis=1).astype(np.float32)
    labels = rng.integers(0, 4, size=n).astype(np.int32)
    for vote in (NeighbourVote(3, 0.5), NeighbourVote(5, 0.45), NeighbourVote(1, 1.0)):
        voted = vote.apply(labels, pixel, points, rows, columns)
        np.testing.assert_array_equal(voted, reference_vote(vote, labels, pixel, points, rows, columns))
    assert (NeighbourVote(5, 0.45).apply(labels, pixel, points, rows, columns) != labels).sum() > 20


def test_an_odd_label_out_is_outvoted_but_not_across_the_radius_or_on_a_tie():
    columns = 10
    pixel = np.arange(5)  # five points along one row, 0.1 m apart
    points = np.zeros((5, 4), np.float32)
    points[:, 0] = np.arange(5) * 0.1
    labels = np.array([3, 3, 7, 3, 3], np.int32)
    assert NeighbourVote(3, 0.5).apply(labels, pixel, points, 1, columns).tolist() == [3, 3, 3, 3, 3]
    far = points.copy()
    far[2, 2] = 2.0  # the odd point 2 m above its neighbours: none of them is within 0.5 m
    assert NeighbourVote(3, 0.5).apply(labels, pixel, far, 1, columns)[2] == 7
    pair = np.array([3, 7], np.int32)  # each point: its own label against its neighbour's, 1:1
    assert NeighbourVote(3, 0.5).apply(pair, pixel[:2], points[:2], 1, columns).tolist() == [3, 7]


@pytest.mark.parametrize("window, radius, message", [(4, 0.5, "odd"), (0, 0.5, "odd"), (3, 0.0, "metres")])
def test_bad_settings_fail_naming_them(window, radius, message):
    with pytest.raises(ValueError, match=message):
        NeighbourVote(window, radius)


def test_a_window_wider_than_the_image_fails():
    with pytest.raises(ValueError, match="wider than the image"):
        NeighbourVote(5, 0.5).apply(np.zeros(2, np.int32), np.arange(2), np.zeros((2, 4), np.float32), 1, 3)


def test_postprocess_votes_and_scores_a_relabelled_point_by_its_new_label():
    points = np.zeros((5, 4), np.float32)
    points[:, 0] = 10.0 + np.arange(5) * 0.1
    frame = Frame(points=points, timestamp=0.0, sensor="test")
    logits = np.zeros((5, 19), np.float32)
    logits[:, 4] = 3.0  # truck everywhere ...
    logits[2, 9] = 4.0  # ... but road for the middle point
    feed = {"pixel": np.arange(5, dtype=np.int64) + 100, "points": points}
    prepared = Prepared(frame, feed, np.ones(5, bool), tuple(feed))
    plain = RapidSegSteps(64, 2048, None, SEMANTIC_KITTI).postprocess(prepared, logits)
    voted = RapidSegSteps(64, 2048, None, SEMANTIC_KITTI, DEFAULT_VOTE).postprocess(prepared, logits)
    assert plain.labels.tolist() == [5, 5, 10, 5, 5] and voted.labels.tolist() == [5] * 5
    probabilities = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    np.testing.assert_allclose(voted.scores, probabilities[:, 4], rtol=1e-6)
    assert plain.scores[2] == pytest.approx(probabilities[2, 9], rel=1e-6)


def test_the_manifest_carries_the_vote_and_an_older_package_runs_without_it():
    from dataclasses import replace

    from runtimes.package import load_package
    from sdk.shipped import shipped_package

    manifest = load_package(shipped_package("rapid_seg")).manifest
    assert RapidSegSteps.from_manifest(manifest).vote == DEFAULT_VOTE
    assert RapidSegSteps.from_manifest(replace(manifest, neighbour_vote=None)).vote is None
    voting = replace(manifest, neighbour_vote=NeighbourVote(3, 0.7).to_dict())
    assert RapidSegSteps.from_manifest(voting).vote == NeighbourVote(3, 0.7)


def test_the_pipeline_votes_by_default_and_can_be_told_not_to(capsys):
    from sdk import ModelOptions, Pipeline
    from sdk.cli.main import build_parser
    from sdk.cli.run import pipeline_from_args

    with Pipeline("rapid_seg", runtime="pytorch", model=ModelOptions(warmup=False)) as voting:
        assert voting.steps.vote == DEFAULT_VOTE
    args = build_parser().parse_args(["run", "--runtime", "pytorch", "--no-vote"])
    with pipeline_from_args(args) as argmax_only:
        assert argmax_only.steps.vote is None
