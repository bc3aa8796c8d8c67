"""The rapid_seg package that ships inside the SDK: current with the weights and graph code it was built
from (`rapid-edge export rapid_seg --ship` rebuilds it), and what `Pipeline("rapid_seg")` opens without exporting."""
from __future__ import annotations

import json

import numpy as np
import pytest

import sensors
from runtimes.package import load_package
from sdk import ModelOptions, Pipeline
from sdk.shipped import default_checkpoint, shipped_package
from sdk.segmentation.build_record import BuildRecord

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"


@pytest.fixture(scope="module")
def package():
    return load_package(shipped_package("rapid_seg"))  # verifies every file's sha256


def test_the_shipped_package_is_built_from_the_current_weights_and_graph_code(package):
    assert BuildRecord.in_package(package) == BuildRecord.of(default_checkpoint("rapid_seg")), (
        "the shipped rapid_seg package is stale: run `rapid-edge export rapid_seg --ship` and commit it")
    assert package.form == "split" and package.manifest.model.checkpoint == "sdk/weights/rapid_seg"


def test_its_parity_report_passed_on_the_real_scan(package):
    report = json.loads((package.folder / "parity.json").read_text())
    assert report["passed"]
    real = [f for f in report["frames"] if not f["name"].startswith("sim")]
    assert real and all(f["label_agreement"] >= report["thresholds"]["label_agreement"] for f in real)


def test_the_pipeline_opens_it_without_exporting(tmp_path, monkeypatch, data):
    monkeypatch.setenv("RAPID_EDGE_CACHE", str(tmp_path / "cache"))
    frame = next(iter(sensors.open(data(SCAN))))
    with Pipeline("rapid_seg", "onnxruntime-cpu", model=ModelOptions(allow_export=False, warmup=False)) as pipeline:
        assert pipeline.package.folder == shipped_package("rapid_seg")
        labels = pipeline(frame).labels
    assert not (tmp_path / "cache").exists()
    assert labels.shape == (len(frame),) and np.unique(labels).size > 3


def test_a_form_that_is_not_shipped_is_refused_where_exporting_is_not_allowed(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPID_EDGE_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match="portable-form package is shipped or given"):
        Pipeline("rapid_seg", "onnxruntime-cpu", model=ModelOptions(form="portable", allow_export=False, warmup=False)).open()
