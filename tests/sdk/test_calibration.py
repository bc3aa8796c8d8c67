"""Per-class logit offsets: the one-pass sweep against brute force, a hand case the fit must solve, the
metric against the evaluation's, folding into the weights, and `rapid-edge calibrate` end to end; and
`rapid-edge average`, which averages checkpoints of one model."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from runtimes.metrics import ConfusionMatrix
from sensors.labels import SEMANTIC_KITTI
from sdk.cli.main import main
from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.models.rapid_seg_config import RapidSegConfig
from sdk.shipped import default_checkpoint
from sdk.segmentation.training.calibration import (OFFSET_GRID, LabelledLogits, add_logit_offsets, best_offset, confusion_of,
                                                   fit_class_offsets, miou_of)
from sdk.segmentation.training.checkpoint import load_model, save_model
from sdk.segmentation.training.data import make_sample
from sdk.segmentation.training.evaluate import point_logits, simulated_scenes


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
    inner[:, 4] = 0  # a class absent from truth and prediction counts 0 in both means
    evaluation = ConfusionMatrix(SEMANTIC_KITTI)
    evaluation.matrix[1:, 1:] = inner
    assert miou_of(inner) == pytest.approx(evaluation.miou())
    assert miou_of(inner) == pytest.approx(evaluation.miou_present() * 18 / 19)


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
    earlier = json.loads((shipped / "config.json").read_text()).get("calibration", {}).get("offsets", {})
    total = np.array(list(record["offsets"].values()), dtype=np.float32)
    offsets = total - np.array(list(earlier.values()) or 0.0, dtype=np.float32)  # the record keeps the sum
    assert len(total) == 19 and np.any(offsets != 0)
    frame = next(simulated_scenes(seeds=[4901], indices=[5]))
    original, calibrated = load_model(shipped), load_model(out)
    sample = make_sample(frame, original.config.rapid)
    shift = point_logits(calibrated, sample) - point_logits(original, sample)
    assert torch.allclose(shift, torch.from_numpy(offsets).expand_as(shift), atol=1e-3)
    assert "calibrated on simulated seeds 4900..4900" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--sim-seeds", "4990:5001"], "overlaps the evaluation seeds"),
    (["--sim-seeds", "5039:5041"], "overlaps the evaluation seeds"),
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


def saved_model(folder, seed: int, config: RapidSegConfig = RapidSegConfig(height=16, width=512)):
    torch.manual_seed(seed)
    model = RapidSeg(config)
    for buffer in model.buffers():  # batch-norm statistics and counters differ between the two
        buffer.uniform_(0.5, 1.5) if buffer.is_floating_point() else buffer.fill_(seed)
    save_model(model, folder, {"step": seed, "calibration": {"offsets": {}}})
    return model.state_dict()


def test_average_command_averages_every_floating_tensor(tmp_path):
    first, second = saved_model(tmp_path / "a", 1), saved_model(tmp_path / "b", 2)
    assert main(["average", "--checkpoint", str(tmp_path / "a"), "--checkpoint", str(tmp_path / "b"),
                 "--out", str(tmp_path / "mean")]) == 0
    averaged = load_model(tmp_path / "mean").state_dict()
    for name, tensor in averaged.items():
        expected = (first[name] + second[name]) / 2 if tensor.is_floating_point() else second[name]
        assert torch.allclose(tensor, expected, atol=1e-7), name
    assert any(not torch.equal(first[name], second[name]) for name in first if "running_mean" in name)
    extras = json.loads((tmp_path / "mean" / "config.json").read_text())
    assert extras["step"] == 2 and extras["averaged"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert "calibration" not in extras  # one input's offsets record does not describe the average


def test_average_refuses_different_models_and_a_single_checkpoint(tmp_path, capsys):
    saved_model(tmp_path / "a", 1)
    saved_model(tmp_path / "b", 2, RapidSegConfig(height=16, width=512, use_fuatten=False))
    assert main(["average", "--checkpoint", str(tmp_path / "a"), "--checkpoint", str(tmp_path / "b"),
                 "--out", str(tmp_path / "mean")]) == 2
    assert "different model config" in capsys.readouterr().err
    assert main(["average", "--checkpoint", str(tmp_path / "a"), "--out", str(tmp_path / "mean")]) == 2
    assert "at least two" in capsys.readouterr().err
    assert not (tmp_path / "mean").exists()


def test_calibrate_refuses_unlabelled_frames(tmp_path, capsys, data):
    unlabelled = data("kitti_odometry_seq00_unlabelled")
    args = ["calibrate", "--checkpoint", str(default_checkpoint("rapid_seg")), "--out", str(tmp_path / "c"),
            "--source", str(unlabelled)]
    assert main(args) == 2
    assert "calibration needs frames with semantickitti labels (got none)" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
