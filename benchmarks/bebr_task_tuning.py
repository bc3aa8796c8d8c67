"""Fine-tuning on a task's pairs, by the protocol "Fine-tuning on a task's pairs" of
sdk/weights/bebr/TRAINING.md: every candidate setting fine-tuned from the task-agnostic start on each task's
user pairs (early stopping on a tenth of them, inside the trainer) and scored on the task's held-out part;
per task the candidate chosen on the other tasks, beside float search, faiss PQ, a learned linear sign code,
the start, a fine-tuned float projection, and the no-label route (`--vectors` recipe against ITQ on the same
vectors), all at 128 bytes, with the queries only the chosen one or only each bar finds and their exact McNemar
p. Writes benchmarks/results/bebr_task_tuning.json; the pairs recipe of sdk/retrieval/settings.py is the choice
over all tasks.

    python benchmarks/bebr_task_tuning.py [--domains PATH]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sdk.retrieval.settings import RECIPES, BinarizerConfig, BinarizerTraining, TrainingData
from sdk.retrieval.training import load_binarizer, read_training_record, train_binarizer

from bebr_agnostic import model_top, split_trainable  # benchmarks/ is on the path: the scripts run from it
from bebr_domain_fidelity import load_domains
from bebr_domains import TRAINABLE, default_domains_path
from bebr_fidelity import BASELINES, FLOAT_BYTES, MLP, K, float_top, hits, metrics, projection_top
from bebr_tables import TASK_BARS
from machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
TASKS = ("docstrings", "stdlib", "man-pages", "debian-descriptions")
#: a pair is held out when its document_key % 10 is below this (the rest are the user's pairs)
HELD_OUT_TENTHS = 3
CODE_BYTES = 128
#: the early stopping every pairs-mode training here gets (the trainer's, as a user's run)
STOPPING = {"epochs": 20, "validation_fraction": 0.1, "patience": 3, "min_steps_per_epoch": 10}
#: the candidates, in the order that breaks ties
CANDIDATES = [BinarizerTraining(learning_rate=rate, neighbourhood_weight=weight, batch_size=batch, **STOPPING)
              for rate in (1e-4, 3e-4, 1e-3) for weight in (0.0, 1.0) for batch in (128, 512)]
#: the general pairs settings (20 epochs, learning rate 2e-3, batch 512) with the same early stopping
BASELINE_TRAINING = BinarizerTraining(**STOPPING)
FINE_TUNED = "BEBR fine-tuned from the task-agnostic start"


def describe(candidate: BinarizerTraining) -> dict:
    return {"learning_rate": candidate.learning_rate, "neighbourhood_weight": candidate.neighbourhood_weight,
            "batch_size": candidate.batch_size}


def split_task(queries: np.ndarray, docs: np.ndarray, keys: np.ndarray) -> tuple[TrainingData, np.ndarray, np.ndarray]:
    """The user's pairs, and the held-out queries and documents."""
    held_out = keys % 10 < HELD_OUT_TENTHS
    return TrainingData(queries[~held_out], docs[~held_out]), queries[held_out], docs[held_out]


def vectors_of(pairs: TrainingData) -> np.ndarray:
    return np.concatenate([pairs.queries, pairs.docs])


def make_start(task: str, domains: dict, folder: Path) -> tuple[Path, str]:
    """The task-agnostic recipe fitted on the trainable domains' vectors other than the task's own, and what it is."""
    from sdk.shipped import default_checkpoint

    if task not in TRAINABLE:  # the shipped default was fitted on all of them
        return default_checkpoint("bebr"), "the shipped default"
    others = [name for name in domains if name in TRAINABLE and name != task]
    folder = train(TrainingData(split_trainable(domains, exclude=task)[1]), folder, RECIPES["vectors"].training,
                   RECIPES["vectors"].config)
    return folder, f"the task-agnostic recipe fitted on {', '.join(others)}"


def train(data: TrainingData, folder: Path, training: BinarizerTraining, config: BinarizerConfig | None = None,
          start: Path | None = None) -> Path:
    config = None if config is None else replace(config, dim=data.dim)
    return train_binarizer(data, folder, config, training, progress=False, start=start)


@dataclass
class Found:
    """One method's top-k on a held-out part, and what its training recorded (best epoch, seconds)."""

    method: str
    bytes: int
    top: np.ndarray
    training: dict = field(default_factory=dict)

    def row(self, exact: np.ndarray) -> dict:
        return {"method": self.method, "bytes": self.bytes, **metrics(self.top, exact), **self.training}


def trained(name: str, folder: Path, queries: np.ndarray, docs: np.ndarray, seconds: float) -> Found:
    """A trained binarizer's held-out top-k, with where its early stopping ended."""
    model = load_binarizer(folder)
    result = read_training_record(folder)["training"].get("result", {})
    top = model_top(model, queries, docs) if model.config.binary else projection_top(model, queries, docs)
    return Found(name, model.config.layout.code_bytes if model.config.binary else model.config.bits * 4, top,
                 {"best_epoch": result.get("epoch"), "train_s": round(seconds, 1)})


def timed_training(*args, **kwargs) -> tuple[Path, float]:
    began = time.perf_counter()
    folder = train(*args, **kwargs)
    return folder, time.perf_counter() - began


def mcnemar(ours: np.ndarray, other: np.ndarray) -> dict:
    """The queries only `ours` finds, only `other` finds, and the exact two-sided McNemar p over them."""
    from scipy.stats import binomtest

    only_ours, only_other = int((ours & ~other).sum()), int((other & ~ours).sum())
    discordant = only_ours + only_other
    p = binomtest(only_ours, discordant, 0.5).pvalue if discordant else 1.0
    return {"only_fine_tuned": only_ours, "only_other": only_other, "p": float(p)}


def comparisons(tuned: Found, others: list[Found]) -> list[dict]:
    """The fine-tuned binarizer against each bar, on recall@1 and recall@10, query by query."""
    return [{"against": other.method, "metric": f"recall@{k}", **mcnemar(hits(tuned.top, k), hits(other.top, k))}
            for other in others if other.method in TASK_BARS for k in (1, K)]


def candidate_table(tasks: dict, starts: dict, work: Path) -> tuple[list[dict], list[dict[str, Found]]]:
    """Every candidate fine-tuned on every task's user pairs, scored on its held-out part: the table's rows,
    and each candidate's top-k per task (for the paired comparisons of the one chosen)."""
    table, found = [], []
    for number, candidate in enumerate(CANDIDATES):
        entry, tops = {**describe(candidate), "tasks": {}}, {}
        for task, (pairs, queries, docs, exact) in tasks.items():
            folder, seconds = timed_training(pairs, work / f"candidate-{number}-{task}", candidate, start=starts[task])
            tops[task] = trained(FINE_TUNED, folder, queries, docs, seconds)
            entry["tasks"][task] = tops[task].row(exact)
        table.append(entry)
        found.append(tops)
        print(json.dumps(entry), flush=True)
    return table, found


def choose(table: list[dict], tasks: list[str]) -> int:
    """The candidate of the highest mean (recall@1 + recall@10) / 2 over `tasks` (ties to the earlier)."""
    means = [np.mean([(e["tasks"][t]["recall@1"] + e["tasks"][t]["recall@10"]) / 2 for t in tasks]) for e in table]
    return int(np.argmax(means))  # the first of equal maxima


def task_methods(task: str, pairs: TrainingData, queries: np.ndarray, docs: np.ndarray, exact: np.ndarray,
                 start: Path, work: Path) -> list[Found]:
    """Every method but the fine-tuned candidates on one task's held-out part."""
    dim, vectors = pairs.dim, vectors_of(pairs)
    found = [Found("float32 exact", FLOAT_BYTES, exact), trained("task-agnostic start (no fine-tuning)", start, queries, docs, 0.0)]
    found += [Found(name, CODE_BYTES, BASELINES[name](vectors, queries, docs, CODE_BYTES))
              for name in ("faiss IndexPQ (8-bit codes)", "ITQ")]
    linear = BinarizerConfig(dim=dim, bits=CODE_BYTES * 8, planes=1, hidden=0)
    projection = BinarizerConfig(dim=dim, bits=512, planes=1, binary=False, **MLP)
    for name, config in (("learned linear + sign", linear), ("float projection, fine-tuned (512 x float32)", projection)):
        folder, seconds = timed_training(pairs, work / f"{task}-{config.hidden}-{config.binary}", BASELINE_TRAINING, config)
        found.append(trained(name, folder, queries, docs, seconds))
    folder, seconds = timed_training(TrainingData(vectors), work / f"{task}-vectors", RECIPES["vectors"].training,
                                     RECIPES["vectors"].config)
    found.append(trained("`--vectors` recipe on the user's vectors", folder, queries, docs, seconds))
    return found


def run(path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="bebr-task-tuning-") as folder:  # weights fitted on GPL text die with it
        return run_in(path, Path(folder))


def run_in(path: Path, work: Path) -> dict:
    domains, _ = load_domains(path)
    tasks, starts, about = {}, {}, {}
    for task in TASKS:
        queries, docs, keys, _ = domains[task]
        pairs, held_queries, held_docs = split_task(queries, docs, keys)
        tasks[task] = (pairs, held_queries, held_docs, float_top(held_queries, held_docs))
        starts[task], about[task] = make_start(task, domains, work / f"start-{task}")
    table, tuned = candidate_table(tasks, starts, work)
    report = {"protocol": "sdk/weights/bebr/TRAINING.md, Fine-tuning on a task's pairs", "bytes": CODE_BYTES,
              "stopping": STOPPING, "candidates": table, "tasks": {}}
    for task, (pairs, queries, docs, exact) in tasks.items():
        others = [t for t in TASKS if t != task]
        chosen = choose(table, others)
        found = task_methods(task, pairs, queries, docs, exact, starts[task], work)
        rows = [f.row(exact) for f in found] + [{**table[chosen]["tasks"][task], "chosen": describe(CANDIDATES[chosen])}]
        report["tasks"][task] = {"user_pairs": len(pairs), "held_out_pairs": len(queries), "start": about[task],
                                 "chosen_on": others, "rows": rows,
                                 "comparisons": comparisons(tuned[chosen][task], found)}
        print(task, json.dumps(rows), flush=True)
    report["recipe"] = {**describe(CANDIDATES[choose(table, list(TASKS))]), **STOPPING}
    report["machine"] = describe_machine()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=Path, default=default_domains_path())
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bebr_task_tuning.json")
    args = parser.parse_args()
    report = run(args.domains)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}; the pairs recipe: {report['recipe']}")


if __name__ == "__main__":
    main()
