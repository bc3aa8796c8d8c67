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


def test_the_rapid_seg_results_page_is_generated_from_the_evaluations():
    import rapid_seg_tables

    page = rapid_seg_tables.OUT.read_text()
    reports = rapid_seg_tables.load_reports()
    ablations = [json.loads(path.read_text()) for path in rapid_seg_tables.ABLATIONS]
    assert page == rapid_seg_tables.render(reports, ablations), "run python benchmarks/rapid_seg_tables.py"
    real = reports["real scan, with the vote"]
    assert f"{100 * real['iou']['car']:.1f}" in page


def test_the_shipped_evaluations_follow_the_reference_evaluator():
    """Each committed score is what the protocol's metric makes of the committed confusion matrix."""
    import numpy as np
    import rapid_seg_tables
    from runtimes.metrics import ConfusionMatrix
    from sensors.labels import SEMANTIC_KITTI

    for title, report in rapid_seg_tables.load_reports().items():
        confusion = ConfusionMatrix(SEMANTIC_KITTI)
        confusion.matrix = np.array(report["confusion"])
        assert report["miou"] == confusion.miou(), title
        assert report["miou_present"] == confusion.miou_present(), title


def test_the_component_page_is_generated_from_the_json():
    import component_tables

    reports = component_tables.load_reports()
    page = component_tables.OUT.read_text()
    assert page == component_tables.render(reports), "run python benchmarks/component_tables.py"
    assert f"| {reports['fuzz_sources']['outcomes']['read']:,} |" in page


def test_the_bebr_page_is_generated_from_the_json():
    import bebr_tables

    page = bebr_tables.OUT.read_text()
    assert page == bebr_tables.render(), "run python benchmarks/bebr_tables.py"
    stdlib = json.loads((bebr_tables.RESULTS / "bebr_task_tuning.json").read_text())["tasks"]["stdlib"]
    assert f"**stdlib** ({stdlib['user_pairs']:,} user pairs, {stdlib['held_out_pairs']:,} held out;" in page


def test_the_domain_table_names_each_budget_s_choice_rule_and_the_directions_kept():
    import bebr_tables

    chosen = {"planes": 2, "bits": 256, "init": "pca", "epochs": 0}
    scores = {"recall@1": 0.5, "recall@10": 0.8, "overlap@10": 0.7}
    rows = [{"method": "ours", "bytes": 64, "budget": 64, "chosen": {**chosen, "directions": 192},
             "rule": "smallest margin over faiss IndexPQ (8-bit codes)", **scores},
            {"method": "ours", "bytes": 128, "budget": 128, "chosen": {**chosen, "planes": 4}, **scores}]  # no rule recorded
    lines = bebr_tables.domain_table({"protocol": "p", "max_scored": 10, "left_out": {},
                                      "domains": {"d": {"scored_pairs": 10, "trained_on_vectors": 20, "rows": rows}}})
    assert ("chosen on those domains' validation parts: 64 bytes by the smallest margin over faiss IndexPQ (8-bit "
            "codes); 128 bytes by the highest mean overlap@10.") in lines[0]
    assert "| ours: 2 x 256 bits, pca of 192 directions | 64 | 0.500 | 0.800 | 0.700 |" in lines
    assert "| ours: 4 x 256 bits, pca | 128 | 0.500 | 0.800 | 0.700 |" in lines


def test_the_fresh_task_table_says_why_it_was_not_scored_or_shows_each_paired_comparison():
    import bebr_tables

    unscored = {"protocol": "p", "task": "code", "corpus": {"unique_pairs": 874}, "scored": False,
                "why": "874 unique pairs, fewer than 1000"}
    assert bebr_tables.fresh_task_table(unscored) == [
        "Protocol: `p`. Task `code`: 874 unique pairs found; not scored: 874 unique pairs, fewer than 1000."]
    assert bebr_tables.fresh_task_goals(unscored) == []
    scores = {"bytes": 128, "recall@1": 0.5, "recall@10": 0.8, "overlap@10": 0.7}
    rows = [{"method": bar, **scores} for bar in bebr_tables.TASK_BARS]
    rows.append({"method": "ours", **scores, "recall@1": 0.6, "best_epoch": 3, "recipe": "defaults"})
    scored = {**unscored, "scored": True, "corpus": {"unique_pairs": 900, "pairs": 800, "sources": [
        {"name": "pkg", "licence": "MIT"}]}, "user_pairs": 560, "held_out_pairs": 240, "start": "the shipped default",
        "rows": rows, "comparisons": [{"against": "float32 exact", "metric": "recall@1", "only_fine_tuned": 30,
                                       "only_other": 6, "p": 0.0000623}]}
    lines = bebr_tables.fresh_task_table(scored)
    assert lines[0].endswith("900 unique pairs found, 800 kept, from 1 Debian packages: pkg (MIT).")
    assert "| ours (defaults) | 128 | 0.600 | 0.800 | 0.700 | 3 |" in lines
    assert lines[-1] == "| float32 exact | recall@1 | 30 | 6 | 6.23e-05 |"
    assert bebr_tables.fresh_task_goals(scored)[0] == (
        "- code: ours above float32 exact on recall@1, recall@10: **not met (recall@10 0.800 against 0.800)**")
