"""The generated result pages (docs/ros2_results.md, docs/pipeline_results.md, docs/label_results.md) are what their scripts make of
the committed measurements."""
from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import ros2_tables  # noqa: E402


def test_the_page_is_generated_from_the_json():
    report = json.loads(ros2_tables.RESULT.read_text())
    assert ros2_tables.OUT.read_text() == ros2_tables.render(report), "run python benchmarks/ros2_tables.py"
    stock = report["delivery"]["64-beam sweep (2 MB)"]["stock"]
    assert f"| 64-beam sweep (2 MB) | {stock['received']}/{stock['sent']} |" in ros2_tables.OUT.read_text()


def test_the_pipeline_page_is_generated_from_the_json():
    import pipeline_tables

    report = json.loads(pipeline_tables.RESULT.read_text())
    assert pipeline_tables.OUT.read_text() == pipeline_tables.render(report), "run python benchmarks/pipeline_tables.py"
    front = report["cameras"]["nuScenes sample, 6 cameras"]["cameras"]["CAM_FRONT"]
    assert f"| CAM_FRONT | 1600 x 900 | {front['points_in_view']:,} | {front['project_ms']} |" in pipeline_tables.OUT.read_text()


def test_the_labelling_page_is_generated_from_the_json():
    import label_tables

    report = json.loads(label_tables.RESULT.read_text())
    assert label_tables.OUT.read_text() == label_tables.render(report), "run python benchmarks/label_tables.py"


def test_the_model_latency_page_is_generated_from_the_json():
    import model_tables

    report = json.loads(model_tables.RESULT.read_text())
    assert model_tables.OUT.read_text() == model_tables.render(report), "run python benchmarks/model_tables.py"
