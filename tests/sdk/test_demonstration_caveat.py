"""The shipped weights are a demonstration: the package carries the model card's facts, and the run header,
label's summary and renders say so in one line; frames of a sensor the weights were not trained for are
warned of once. A package without a card (your own network) says nothing."""
from __future__ import annotations

import json
import logging

import pytest

import sensors
from conftest import data_file
from runtimes.package import load_package
from sdk import ModelOptions, Pipeline, label_files
from sdk.cli.main import main
from sdk.shipped import default_checkpoint, shipped_package

SCAN = "semantickitti/sequences/00"
VLP16_PCAP = "velodyne/vlp16/veloview_vlp-16-test-90deg-1-50-frames.pcap"


def test_the_shipped_package_carries_the_model_cards_facts():
    card = load_package(shipped_package("rapid_seg")).manifest.model_card
    evaluation = json.loads((default_checkpoint("rapid_seg") / "eval_semantickitti_00_000000.json").read_text())
    assert card.demonstration and card.sensors == ("HDL-64E",) and card.miou == evaluation["miou"]
    assert f"{100 * evaluation['miou']:.1f} % mIoU" in card.caveat() and "demonstration weights" in card.caveat()


def test_the_run_header_and_the_label_summary_say_it(tmp_path, capsys):
    assert main(["run", "--source", str(data_file(SCAN)), "--frames", "1", "--runtime", "onnxruntime-cpu"]) == 0
    header = capsys.readouterr().out.splitlines()[:2]
    assert header[1].startswith("note: demonstration weights: trained on simulated 64-beam HDL-64E drives")
    summary = label_files([data_file(SCAN)], tmp_path, runtime="onnxruntime-cpu")
    assert summary["caveat"].startswith("demonstration weights")


def test_a_sensor_the_weights_were_not_trained_for_is_warned_of_once(caplog):
    frames = [frame for _, frame in zip(range(2), sensors.open(data_file(VLP16_PCAP)))]
    with Pipeline("rapid_seg", "onnxruntime-cpu", model=ModelOptions(warmup=False)) as pipeline:
        with caplog.at_level(logging.WARNING, logger="sdk"):
            for frame in frames:
                pipeline(frame)
    warnings = [r.getMessage() for r in caplog.records if "trained for HDL-64E only" in r.getMessage()]
    assert warnings == ["VLP-16 frames: these weights were trained for HDL-64E only; expect labels worse than the "
                        "model card's figure"]


def test_a_package_without_a_card_has_no_caveat(tmp_path):
    pytest.importorskip("torch")
    from user_networks import export_point_network

    package = export_point_network(tmp_path, {}, {"output": "point_logits"}, sim_frames=1)
    assert package.manifest.model_card is None
    with Pipeline("segmentation", "onnxruntime-cpu", package.folder, model=ModelOptions(warmup=False)) as pipeline:
        assert pipeline.caveat is None


def test_the_warm_up_and_the_trained_sensor_raise_no_warning(caplog):
    """The synthetic warm-up sweep is nobody's sensor, and an HDL-64E scan is what the weights were made for."""
    with caplog.at_level(logging.WARNING, logger="sdk"):
        with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
            pipeline(next(iter(sensors.open(data_file(SCAN)))))
    assert not [r for r in caplog.records if "these weights were trained for" in r.getMessage()]
