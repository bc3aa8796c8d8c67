"""The core install on aarch64 (tests/deployment/aarch64_core.py, run by hand under qemu: 5-30 minutes) labelled
the real scan; its committed result must still be what x86_64 labels today. When the labels change (new
weights, another preprocessing), this fails until the aarch64 check is run again and its result committed."""
from __future__ import annotations

import json

import pytest

import sensors
from aarch64_core import RESULT, SCAN, sha256_of
from sdk import Pipeline


def test_the_committed_aarch64_labels_are_todays_x86_64_labels(data):
    if not RESULT.is_file():
        pytest.skip(f"no {RESULT.name}: run tests/deployment/aarch64_core.py (as root) and commit it")
    result = json.loads(RESULT.read_text())
    assert result["aarch64"]["machine"] == "aarch64" and result["identical"] and result["scan"] == SCAN
    with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        labels = pipeline(next(iter(sensors.open(data(SCAN))))).labels
    assert labels.size == result["points"]
    assert sha256_of(labels) == result["labels_sha256"]["aarch64"], \
        "x86_64 labels differ from the committed aarch64 run: rerun tests/deployment/aarch64_core.py"
