"""`rapid-edge train/evaluate` seed ranges: training seeds never reach the held-out ones, and a bad range
fails naming what is wrong; evaluate scores a checkpoint in PyTorch or a package as deployed."""
from __future__ import annotations

import argparse
import json

import pytest

from sdk.cli.train import add_parser, fitting_seeds, frames_from_args, seed_range, train_config
from sdk.segmentation.training.protocol import EVALUATION_SEEDS, HELD_OUT_SEEDS, WIDER_CHECK_SEEDS


def test_seed_range_parses_and_rejects():
    assert seed_range("5010:5040") == range(5010, 5040)
    for bad in ("5010", "a:b", "7:7", "9:3"):
        with pytest.raises(ValueError, match="--sim-seeds"):
            seed_range(bad)


@pytest.mark.parametrize("seeds", [f"{HELD_OUT_SEEDS.start - 10}:{HELD_OUT_SEEDS.start + 1}",
                                   f"{HELD_OUT_SEEDS.start + 3}:{HELD_OUT_SEEDS.start + 4}",
                                   f"{WIDER_CHECK_SEEDS.start + 3}:{WIDER_CHECK_SEEDS.start + 4}",
                                   f"{WIDER_CHECK_SEEDS.stop - 1}:{WIDER_CHECK_SEEDS.stop + 5}"])
def test_training_refuses_seeds_that_reach_the_evaluation_ones(seeds):
    with pytest.raises(ValueError, match="overlaps the evaluation seeds"):
        frames_from_args(argparse.Namespace(sim_weight=1.0, sim_seeds=seeds, kitti=[]))


def test_training_takes_seeds_on_either_side_of_the_evaluation_ones():
    for seeds in (f"0:{EVALUATION_SEEDS.start}", f"{EVALUATION_SEEDS.stop}:{EVALUATION_SEEDS.stop + 100}"):
        assert seeds.split(":")[0] in frames_from_args(argparse.Namespace(sim_weight=1.0, sim_seeds=seeds, kitti=[])).describe()


def test_evaluate_takes_simulated_seeds_or_a_source_not_both(capsys):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    assert seed_range(parser.parse_args(["evaluate", "--checkpoint", "w"]).sim_seeds) == HELD_OUT_SEEDS
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", "--checkpoint", "w", "--source", "scan", "--sim-seeds", "5010:5040"])
    assert "not allowed with" in capsys.readouterr().err


def test_train_flags_reach_the_config_and_bad_counts_fail():
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["train", "--out", "run", "--crops-per-frame", "3", "--frames-per-step", "1",
                              "--class-crops", "0.5", "--crop-width", "0"])
    config = train_config(args)
    assert (config.crops_per_frame, config.frames_per_step, config.class_crops, config.crop_width) == (3, 1, 0.5, None)
    for flag in ("--crops-per-frame", "--frames-per-step"):
        with pytest.raises(ValueError, match="at least 1"):
            train_config(parser.parse_args(["train", "--out", "run", flag, "0"]))


def test_default_seeds_keep_training_calibration_and_evaluation_apart():
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    training = set(seed_range(parser.parse_args(["train", "--out", "w"]).sim_seeds))
    calibration = set(fitting_seeds(parser.parse_args(["calibrate", "--checkpoint", "w", "--out", "c"]).sim_seeds))
    evaluation = set(EVALUATION_SEEDS)
    assert training and calibration
    assert not training & calibration and not training & evaluation and not calibration & evaluation


def test_evaluate_scores_a_package_as_deployed_as_pytorch_scores_its_checkpoint(tmp_path, capsys):
    """`evaluate --package` runs the package on a runtime (ONNX Runtime here); on the real scan the shipped split
    package labels as its checkpoint does in PyTorch, so the two reports agree (mmdeploy's test tool's check)."""
    from conftest import data_file
    from sdk.cli.main import main
    from sdk.shipped import default_checkpoint, shipped_package

    scan = str(data_file("semantickitti/sequences/00"))
    assert main(["evaluate", "--package", str(shipped_package("rapid_seg")), "--runtime", "onnxruntime-cpu",
                 "--source", scan, "--out", str(tmp_path / "package.json")]) == 0
    assert main(["evaluate", "--checkpoint", str(default_checkpoint("rapid_seg")), "--source", scan,
                 "--out", str(tmp_path / "checkpoint.json")]) == 0
    deployed, reference = (json.loads((tmp_path / f"{name}.json").read_text()) for name in ("package", "checkpoint"))
    assert deployed["runtime"].startswith("onnxruntime") and deployed["points"] == reference["points"]
    assert deployed["neighbour_vote"] == reference["neighbour_vote"]
    assert abs(deployed["miou"] - reference["miou"]) < 1e-3


def test_evaluate_opens_its_sources_with_the_source_options(monkeypatch):
    """-o reaches sensors.open, as for run and label (a capture that needs metadata= can be scored)."""
    from sdk.cli import train
    from sdk.cli.main import build_parser

    opened = []
    monkeypatch.setattr(train.sensors, "open", lambda source, **options: opened.append((source, options)) or [])
    args = build_parser().parse_args(["evaluate", "--package", "p", "--source", "drive.pcap", "-o", "metadata=os.json"])
    frames, _ = train.labelled_frames(args.source, lambda: range(0), (0,), train.source_options(args))
    assert list(frames) == [] and opened == [("drive.pcap", {"metadata": "os.json"})]
