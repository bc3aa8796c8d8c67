"""The fifth fine-tuning task: code-search pairs read from Python sources (what is left out and why), and the run
that scores it, with the paired comparison of the fine-tuned binarizer with each bar, only when it is big enough."""
from __future__ import annotations

import json
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bebr_domains  # noqa: E402
import bebr_fidelity  # noqa: E402
import bebr_fresh_task  # noqa: E402

SOURCE = textwrap.dedent('''
    def documented(path, mode="r"):
        """Open the file at path and return every line without its newline.

        The file is closed afterwards."""
        with open(path, mode) as handle:
            return [line.rstrip("\\n") for line in handle.read().splitlines()]

    def undocumented(value):
        return value * 2 + 1 if value else sum(range(10)) - value

    class Reader:
        """A class's docstring is not a function's, so it makes no pair here at all."""
''')


def test_a_documented_function_pairs_its_summary_with_its_code_without_the_docstring(tmp_path):
    path = tmp_path / "module.py"
    path.write_text(SOURCE)
    assert list(bebr_domains.function_code_pairs(path)) == [(
        "Open the file at path and return every line without its newline.",
        'def documented(path, mode="r"): with open(path, mode) as handle: '
        'return [line.rstrip("\\n") for line in handle.read().splitlines()]')]
    (tmp_path / "broken.py").write_text("def broken(:\n")
    assert list(bebr_domains.function_code_pairs(tmp_path / "broken.py")) == []


def test_code_pairs_leave_out_python_s_library_the_sdk_s_own_packages_and_unowned_files(tmp_path, monkeypatch):
    files = {"python3.11/json/decoder.py": "cpython", "python3/dist-packages/tool/cli.py": "python3-tool",
             "vendor/lib/third_party/numpy/core.py": "vendor", "vendor/lib/tool/main.py": "vendor",
             "stray/module.py": None}
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(SOURCE)
    monkeypatch.setattr(bebr_domains, "file_owners", lambda root: {
        str(root / name): package for name, package in files.items() if package})
    monkeypatch.setattr(bebr_domains.metadata, "packages_distributions", lambda: {"numpy": ["numpy"]})
    monkeypatch.setattr(bebr_domains, "installed_packages", lambda: {"vendor": ("2.0", "")})
    monkeypatch.setattr(bebr_domains, "debian_licences", lambda package: f"licence of {package}")
    pairs, sources = bebr_domains.debian_python_code_pairs(tmp_path)
    assert sorted(pair.distribution for pair in pairs) == ["python3-tool", "vendor"]
    assert [(s.name, s.version, s.licence) for s in sources] == [
        ("python3-tool", "", "licence of python3-tool"), ("vendor", "2.0", "licence of vendor")]


def test_a_task_with_too_few_pairs_is_reported_and_not_scored(tmp_path):
    (tmp_path / "task.json").write_text(json.dumps({"unique_pairs": 874}))
    report = bebr_fresh_task.run(tmp_path / "task.npz")
    assert report["scored"] is False and report["why"] == "874 unique pairs, fewer than 1000"


@pytest.mark.slow
def test_the_task_is_scored_with_the_shipped_recipe_and_each_comparison_matches_the_rows(tmp_path, monkeypatch):
    pytest.importorskip("faiss")
    pytest.importorskip("torch")
    import bebr_task_tuning

    from sdk.retrieval.settings import RECIPES

    rng = np.random.default_rng(0)
    queries = rng.standard_normal((400, 384)).astype(np.float32)
    docs = queries + 0.8 * rng.standard_normal(queries.shape).astype(np.float32)
    np.savez(tmp_path / "task.npz", queries=queries.astype(np.float16), docs=docs.astype(np.float16),
             keys=rng.permutation(400).astype(np.uint64))
    (tmp_path / "task.json").write_text(json.dumps({"unique_pairs": 400, "pairs": 400}))
    # as in the task-tuning test: short trainings, ITQ's rows from sign hashing, baselines of 32 bytes
    monkeypatch.setitem(RECIPES, "pairs", replace(RECIPES["pairs"], training=replace(RECIPES["pairs"].training, epochs=2)))
    monkeypatch.setattr(bebr_task_tuning, "BASELINE_TRAINING", replace(bebr_task_tuning.BASELINE_TRAINING, epochs=2))
    monkeypatch.setattr(bebr_task_tuning, "CODE_BYTES", 32)
    monkeypatch.setitem(bebr_fidelity.BASELINES, "ITQ", bebr_fidelity.BASELINES["random-projection sign"])
    report = bebr_fresh_task.run(tmp_path / "task.npz")
    assert report["scored"] and report["user_pairs"] + report["held_out_pairs"] == 400
    rows = {row["method"]: row for row in report["rows"]}
    tuned = report["rows"][-1]
    assert tuned["method"] == bebr_task_tuning.FINE_TUNED and tuned["bytes"] == 128 and tuned["best_epoch"] in (0, 1, 2)
    assert [(c["against"], c["metric"]) for c in report["comparisons"]] == [
        (bar, metric) for bar in bebr_task_tuning.TASK_BARS for metric in ("recall@1", "recall@10")]
    for comparison in report["comparisons"]:  # the paired counts are the rows' difference, query by query
        other, metric = rows[comparison["against"]], comparison["metric"]
        difference = comparison["only_fine_tuned"] - comparison["only_other"]
        assert difference == round((tuned[metric] - other[metric]) * report["held_out_pairs"])
        assert 0.0 < comparison["p"] <= 1.0
