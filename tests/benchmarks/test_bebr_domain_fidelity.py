"""Leave one domain out: each domain is scored with methods fitted on the other trainable domains only, on at
most MAX_SCORED pairs fixed by their documents' keys."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bebr_agnostic  # noqa: E402
import bebr_domain_fidelity  # noqa: E402
import bebr_fidelity  # noqa: E402
from domain_corpus import write_corpus  # noqa: E402

pytest.importorskip("faiss")
pytest.importorskip("torch")


@pytest.mark.slow
def test_each_domain_is_scored_by_methods_fitted_on_the_other_trainable_domains(tmp_path, monkeypatch):
    path = write_corpus(tmp_path, {"docstrings": 400, "stdlib": 380, "man-pages": 50})  # PQ fits 256 centroids
    monkeypatch.setattr(bebr_domain_fidelity, "MAX_SCORED", 45)
    # faiss's ITQMatrix at 512 bits takes 80 s of the suite here; the numpy rotation, checked against it, 1
    monkeypatch.setattr(bebr_fidelity, "FAISS_ITQ_MAX_BITS", 0)
    monkeypatch.setattr(bebr_agnostic, "EPOCHS", (0,))  # the candidates' training is the trainer's tests' work
    report = bebr_domain_fidelity.run(path, [64])
    assert list(report["domains"]) == ["docstrings", "stdlib", "man-pages"]
    trained = {name: part["trained_on_vectors"] for name, part in report["domains"].items()}
    assert trained == {"docstrings": 2 * 380, "stdlib": 2 * 400, "man-pages": 2 * (400 + 380)}  # man pages never trained on
    assert {name: part["scored_pairs"] for name, part in report["domains"].items()} == {
        "docstrings": 45, "stdlib": 45, "man-pages": 45}
    for part in report["domains"].values():
        methods = [row["method"] for row in part["rows"]]
        assert methods[0] == "float32 exact" and methods[-1].startswith(bebr_domain_fidelity.SHIPPED_DEFAULT)
        assert set(bebr_domain_fidelity.BASELINES) <= set(methods)
        assert part["rows"][0]["recall@1"] == 1.0  # each document is its query plus a little noise
    choices = {name: next(row for row in part["rows"] if row["method"] == bebr_domain_fidelity.TASK_AGNOSTIC)
               for name, part in report["domains"].items()}
    # chosen on the validation parts of the other trainable domains only: a held-out one never chooses
    assert {name: sorted(row["choice"][0]["validation"]) for name, row in choices.items()} == {
        "docstrings": ["stdlib"], "stdlib": ["docstrings"], "man-pages": ["docstrings", "stdlib"]}
    for name, row in choices.items():
        # 64 bytes: 1, 2, 3, 4 planes; rotation and pca starts, and pca of 256, 192 or 128 directions where fewer
        assert [(c["planes"], c["init"], c["directions"]) for c in row["choice"]] == [
            (1, "rotation", 0), (1, "pca", 0), (1, "pca", 256), (1, "pca", 192), (1, "pca", 128),
            (2, "rotation", 0), (2, "pca", 0), (2, "pca", 192), (2, "pca", 128),
            (3, "rotation", 0), (3, "pca", 0), (3, "pca", 128), (4, "rotation", 0), (4, "pca", 0)]
        assert row["rule"] == "smallest margin over faiss IndexPQ (8-bit codes)" and sorted(row["reference"]) == sorted(
            row["choice"][0]["validation"])
        for candidate in row["choice"]:  # each margin is the candidate's mean gain over PQ on the validation parts
            for metric, margin in candidate["margin"].items():
                gains = [candidate["validation"][part][metric] - row["reference"][part][metric] for part in row["reference"]]
                assert margin == pytest.approx(np.mean(gains))
        best = max(row["choice"], key=lambda c: min(c["margin"].values()))  # max keeps the first of equals
        assert row["chosen"] == {k: best[k] for k in row["chosen"]}
        assert row["bytes"] == bebr_agnostic.CodeLayout.for_budget(64, row["chosen"]["planes"]).code_bytes


def test_the_capped_part_is_the_pairs_of_smallest_keys():
    queries, docs = np.arange(10.0)[:, None], np.arange(10.0)[:, None] + 100
    keys = np.array([9, 3, 7, 1, 8, 0, 6, 2, 5, 4], dtype=np.uint64)
    original = bebr_domain_fidelity.MAX_SCORED
    try:
        bebr_domain_fidelity.MAX_SCORED = 4
        chosen_queries, chosen_docs = bebr_domain_fidelity.scored_part(queries, docs, keys)
    finally:
        bebr_domain_fidelity.MAX_SCORED = original
    assert chosen_queries[:, 0].tolist() == [1.0, 3.0, 5.0, 7.0] and chosen_docs[:, 0].tolist() == [101.0, 103.0, 105.0, 107.0]


def test_a_merged_budget_replaces_only_its_own_rows_in_every_domain(tmp_path, monkeypatch):
    """--merge: a later column's rows go beside the existing ones; every other row stays as it was."""
    path = write_corpus(tmp_path, {"docstrings": 40, "stdlib": 30})

    def fake_rows(budget: int, name: str) -> dict:
        return {"method": name, "bytes": budget, "recall@1": budget / 1000}

    monkeypatch.setattr(bebr_domain_fidelity, "baseline_rows", lambda train, queries, docs, budgets, names, exact: [
        fake_rows(budget, name) for budget in budgets for name in names])
    # the binarizer's row is made for a budget and may fill less of it (3 planes of 160 bits: 60 of 64 bytes)
    monkeypatch.setattr(bebr_domain_fidelity, "task_agnostic_row", lambda *args: {
        **fake_rows(args[5] - 4, "ours"), "budget": args[5]})
    previous = {"protocol": "p", "domains": {name: {"scored_pairs": 7, "rows": [
        {"method": "float32 exact", "bytes": 1536}, {**fake_rows(64, "ours"), "budget": 64},
        {"method": "ours", "bytes": 256, "budget": 256, "recall@1": 0.0},
        {"method": "shipped default", "bytes": 128}]} for name in ("docstrings", "stdlib")}}
    report = bebr_domain_fidelity.run(path, [256], previous)
    for part in report["domains"].values():
        assert part["scored_pairs"] == 7
        assert [(row["method"], row["bytes"], row.get("recall@1")) for row in part["rows"]] == [
            ("float32 exact", 1536, None), ("ours", 64, 0.064), ("shipped default", 128, None),
            *[(name, 256, 0.256) for name in bebr_domain_fidelity.BASELINES], ("ours", 252, 0.252)]


def test_the_plot_draws_each_method_across_its_sizes_in_every_domain(tmp_path, monkeypatch):
    import matplotlib.axes

    plotted, levels = [], []
    original_plot, original_level = matplotlib.axes.Axes.plot, matplotlib.axes.Axes.axhline
    monkeypatch.setattr(matplotlib.axes.Axes, "plot", lambda self, x, y, **kw: plotted.append(
        (self.get_title(), kw["label"], list(x), list(y))) or original_plot(self, x, y, **kw))
    monkeypatch.setattr(matplotlib.axes.Axes, "axhline", lambda self, y, **kw: levels.append(y) or original_level(self, y, **kw))
    rows = [{"method": "float32 exact", "bytes": 1536, "recall@10": 0.9},
            {"method": "ITQ", "bytes": 128, "recall@10": 0.7}, {"method": "ITQ", "bytes": 64, "recall@10": 0.6},
            {"method": "ours", "bytes": 64, "recall@10": 0.65},
            {"method": f"{bebr_domain_fidelity.SHIPPED_DEFAULT} (pairs mode)", "bytes": 128, "recall@10": 0.99}]
    report = {"domains": {"a": {"rows": rows}, "b": {"rows": rows[:3]}}}
    bebr_domain_fidelity.write_report(report, tmp_path / "result.json", bebr_domain_fidelity.draw_recall_by_size)
    assert (tmp_path / "result.png").stat().st_size > 0
    assert levels == [0.9, 0.9]
    assert plotted == [("a (never trained on)", "ITQ", [64, 128], [0.6, 0.7]), ("a (never trained on)", "ours", [64], [0.65]),
                       ("b (never trained on)", "ITQ", [64, 128], [0.6, 0.7])]
