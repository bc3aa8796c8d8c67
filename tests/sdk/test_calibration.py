"""Per-class logit offsets: the one-pass sweep against brute force, a hand case the fit must solve, the
metric against the evaluation's, folding into the weights, and `rapid-edge calibrate` end to end."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from runtimes.metrics import ConfusionMatrix
from sdk.cli import main
from sdk.models.rapid_seg import RapidSeg
from sdk.models.registry import default_checkpoint
from sdk.training.calibration import (OFFSET_GRID, LabelledLogits, add_logit_offsets, best_offset, confusion_of,
                                      fit_class_offsets, miou_of)
from sdk.training.checkpoint import load_model
from sdk.training.data import make_sample
from sdk.training.evaluate import point_logits, simulated_scenes


def random_logits(rng, points=3000, classes=5) -> LabelledLogits:
    truth = rng.integers(classes, size=points)
    logits = rng.normal(size=(points, classes)).astype(np.float32)
    logits[np.arange(points), truth] += 1.0
    logits[:, 0] += 0.8  # a class the network favours
    return LabelledLogits(logits, truth)


def test_the_sweep_scores_every_offset_as_brute_force_does():
    rng = np.random.default_rng(4)
    data = random_logits(rng)
    offsets = rng.normal(scale=0.3, size=5).astype(np.float32)
    grid = np.arange(-30, 31) * 0.1
    for target in range(5):
        scores = []
        for value in grid:
            trial = offsets.copy()
            trial[target] = value
            scores.append(miou_of(confusion_of(data, trial)))
        offset, score = best_offset(data, offsets, target, grid)
        assert score == pytest.approx(max(scores), abs=1e-12)
        assert offset == pytest.approx(grid[int(np.argmax(scores))])


def test_the_fit_finds_the_threshold_that_separates_two_classes():
    # class 1 always scores 0.5 below where it should: no point is read as class 1 until its offset passes 0.5
    logits = np.array([[1.0, 0.0]] * 6 + [[0.5, 0.0]] * 3, dtype=np.float32)
    data = LabelledLogits(logits, np.array([0] * 6 + [1] * 3))
    fit = fit_class_offsets(data)
    assert fit.miou_before == pytest.approx(6 / 9 / 2)  # class 0: IoU 6/9, class 1: 0
    assert fit.miou_after == 1.0
    assert 0.5 < fit.offsets[1] - fit.offsets[0] < 1.0
    assert fit.miou_after == miou_of(confusion_of(data, fit.offsets))


def test_the_fit_never_lowers_the_miou_of_its_data():
    rng = np.random.default_rng(7)
    data = random_logits(rng)
    fit = fit_class_offsets(data)
    assert fit.miou_after > fit.miou_before + 0.01
    assert fit.miou_after == pytest.approx(miou_of(confusion_of(data, fit.offsets)))
    assert 0.0 in OFFSET_GRID  # "no offset" is always a candidate


def test_miou_follows_the_evaluation_protocol():
    rng = np.random.default_rng(1)
    inner = rng.integers(0, 50, size=(19, 19))
    inner[4] = 0
    inner[:, 4] = 0  # a class absent from truth and prediction does not count
    evaluation = ConfusionMatrix()
    evaluation.matrix[1:, 1:] = inner
    assert miou_of(inner) == pytest.approx(evaluation.miou())


def test_offsets_fold_into_the_weights_and_shift_the_logits_exactly():
    model = RapidSeg().eval()
    frame = next(simulated_scenes(seeds=[4900], indices=[0]))
    sample = make_sample(frame, model.config.rapid)
    before = point_logits(model, sample)
    offsets = np.linspace(-1, 1, 19).astype(np.float32)
    add_logit_offsets(model, offsets)
    assert torch.allclose(point_logits(model, sample) - before, torch.from_numpy(offsets).expand_as(before), atol=1e-5)


def test_calibrate_command_writes_a_checkpoint_that_predicts_with_the_offsets(tmp_path, capsys):
    shipped = default_checkpoint("rapid_seg")
    out = tmp_path / "calibrated"
    assert main(["calibrate", "--checkpoint", str(shipped), "--out", str(out), "--sim-seeds", "4900:4901",
                 "--frames", "0"]) == 0
    record = json.loads((out / "config.json").read_text())["calibration"]
    assert record["miou_after"] >= record["miou_before"]
    assert record["data"] == "simulated seeds 4900..4900, frames (0,)"
    offsets = np.array(list(record["offsets"].values()), dtype=np.float32)
    assert len(offsets) == 19 and np.any(offsets != 0)
    frame = next(simulated_scenes(seeds=[4901], indices=[5]))
    original, calibrated = load_model(shipped), load_model(out)
    sample = make_sample(frame, original.config.rapid)
    shift = point_logits(calibrated, sample) - point_logits(original, sample)
    assert torch.allclose(shift, torch.from_numpy(offsets).expand_as(shift), atol=1e-3)
    assert "calibrated on simulated seeds 4900..4900" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--sim-seeds", "4990:5001"], "overlaps the held-out"),
    (["--frames", "1,x"], "--frames"),
    (["--frames", "-3"], "--frames"),
])
def test_calibrate_refuses_bad_arguments(tmp_path, capsys, flags, message):
    args = ["calibrate", "--checkpoint", str(default_checkpoint("rapid_seg")), "--out", str(tmp_path / "c")]
    assert main(args + flags) == 2
    assert message in capsys.readouterr().err


def test_calibrate_never_overwrites_a_checkpoint(tmp_path, capsys):
    shipped = str(default_checkpoint("rapid_seg"))
    assert main(["calibrate", "--checkpoint", shipped, "--out", shipped]) == 2
    assert "choose another --out" in capsys.readouterr().err
