"""Fine-tuning on a task's pairs: every task split by its keys into the user's pairs and a held-out part, each
task's settings chosen on the other tasks only, its rows scored on its held-out part and the chosen binarizer
compared with each bar query by query."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bebr_fidelity  # noqa: E402
import bebr_task_tuning  # noqa: E402
from domain_corpus import write_corpus  # noqa: E402

pytest.importorskip("faiss")
pytest.importorskip("torch")


def test_the_held_out_part_is_fixed_by_the_documents_keys():
    queries, docs = np.arange(20.0)[:, None], np.arange(20.0)[:, None] + 100
    pairs, held_queries, held_docs = bebr_task_tuning.split_task(queries, docs, np.arange(20, dtype=np.uint64))
    assert held_queries[:, 0].tolist() == [0, 1, 2, 10, 11, 12] and held_docs[:, 0].tolist() == [100, 101, 102, 110, 111, 112]
    assert len(pairs) == 14 and 3.0 in pairs.queries[:, 0] and 103.0 in pairs.docs[:, 0]


def test_the_choice_for_a_task_never_reads_that_task():
    table = [{"tasks": {"a": {"recall@1": 0.9, "recall@10": 0.9}, "b": {"recall@1": 0.1, "recall@10": 0.2}}},
             {"tasks": {"a": {"recall@1": 0.1, "recall@10": 0.1}, "b": {"recall@1": 0.3, "recall@10": 0.4}}},
             {"tasks": {"a": {"recall@1": 0.5, "recall@10": 0.5}, "b": {"recall@1": 0.3, "recall@10": 0.4}}}]
    assert bebr_task_tuning.choose(table, ["b"]) == 1  # ties go to the earlier candidate
    assert bebr_task_tuning.choose(table, ["a"]) == 0
    assert bebr_task_tuning.choose(table, ["a", "b"]) == 0


def test_the_paired_comparison_counts_the_queries_only_one_side_finds():
    top = np.array([[0, 5], [9, 1], [2, 7], [8, 9]])  # query i's paired document is i
    assert bebr_fidelity.hits(top, 1).tolist() == [True, False, True, False]
    assert bebr_fidelity.hits(top, 2).tolist() == [True, True, True, False]
    ours, other = np.array([True] * 10 + [False]), np.array([False] * 10 + [True])
    assert bebr_task_tuning.mcnemar(ours[:10], other[:10]) == {"only_fine_tuned": 10, "only_other": 0, "p": pytest.approx(2 * 0.5**10)}
    assert bebr_task_tuning.mcnemar(ours, other)["p"] == pytest.approx(2 * (1 + 11) * 0.5**11)  # 10 against 1
    assert bebr_task_tuning.mcnemar(ours, ours) == {"only_fine_tuned": 0, "only_other": 0, "p": 1.0}


@pytest.mark.slow
def test_every_task_is_tuned_and_scored_as_the_protocol_says(tmp_path, monkeypatch):
    sizes = dict.fromkeys(bebr_task_tuning.TASKS, 300)
    path = write_corpus(tmp_path, sizes)
    candidates = bebr_task_tuning.CANDIDATES[:2]
    monkeypatch.setattr(bebr_task_tuning, "CANDIDATES", [replace(c, epochs=2) for c in candidates])
    monkeypatch.setattr(bebr_task_tuning, "BASELINE_TRAINING", replace(bebr_task_tuning.BASELINE_TRAINING, epochs=2))
    # ITQ at 1,024 bits takes minutes a task, PQ of 128 bytes seconds: here ITQ's rows come from the quicker sign
    # hashing, under its name, and the baselines are of 32 bytes (the fine-tuned rows keep the start's 128)
    monkeypatch.setattr(bebr_task_tuning, "CODE_BYTES", 32)
    monkeypatch.setitem(bebr_fidelity.BASELINES, "ITQ", bebr_fidelity.BASELINES["random-projection sign"])
    report = bebr_task_tuning.run(path)
    assert len(report["candidates"]) == 2
    for task, part in report["tasks"].items():
        assert part["chosen_on"] == [t for t in bebr_task_tuning.TASKS if t != task]
        assert part["user_pairs"] + part["held_out_pairs"] == 300 and 60 < part["held_out_pairs"] < 120
        assert part["start"] == ("the shipped default" if task in ("man-pages", "debian-descriptions") else
                                 f"the task-agnostic recipe fitted on {'stdlib' if task == 'docstrings' else 'docstrings'}")
        methods = [row["method"] for row in part["rows"]]
        assert methods[0] == "float32 exact" and part["rows"][0]["recall@1"] == 1.0
        assert {"faiss IndexPQ (8-bit codes)", "ITQ", "learned linear + sign"} <= set(methods)
        tuned = part["rows"][-1]
        chosen = bebr_task_tuning.choose(report["candidates"], part["chosen_on"])
        assert tuned == {**report["candidates"][chosen]["tasks"][task], "chosen": tuned["chosen"]}
        assert tuned["bytes"] == 128 and tuned["best_epoch"] in (0, 1, 2)
        assert next(row for row in part["rows"] if row["method"] == "learned linear + sign")["bytes"] == 32
        rows = {row["method"]: row for row in part["rows"]}
        assert [(c["against"], c["metric"]) for c in part["comparisons"]] == [
            (bar, metric) for bar in bebr_task_tuning.TASK_BARS for metric in ("recall@1", "recall@10")]
        for comparison in part["comparisons"]:  # the chosen candidate's queries, against each bar's
            metric = comparison["metric"]
            difference = comparison["only_fine_tuned"] - comparison["only_other"]
            assert difference == round((tuned[metric] - rows[comparison["against"]][metric]) * part["held_out_pairs"])
    assert report["recipe"]["learning_rate"] == candidates[bebr_task_tuning.choose(report["candidates"],
                                                                                   list(bebr_task_tuning.TASKS))].learning_rate
