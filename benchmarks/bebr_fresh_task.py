"""A fine-tuning task that chose nothing, by the protocol "A fifth task that chose nothing" of
sdk/weights/bebr/TRAINING.md: code search over the Python sources of the machine's Debian packages (a function's
docstring summary finds the function's code). Its held-out part is scored with the rows of bebr_task_tuning.py
and the shipped pairs recipe (`rapid-edge bebr train --pairs` defaults, from the shipped default), each
comparison of the fine-tuned binarizer with the queries only one side finds and its exact McNemar p. The task's
embeddings are built first and cached (--rebuild makes them again). Writes benchmarks/results/bebr_fresh_task.json.

    python benchmarks/bebr_fresh_task.py [--task PATH] [--rebuild]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from sdk.retrieval.settings import RECIPES
from sdk.shipped import default_checkpoint

from bebr_corpus import embed, without_repeats  # benchmarks/ is on the path: the scripts run from it
from bebr_domains import debian_python_code_pairs, document_key, kept_pairs
from bebr_fidelity import float_top
from bebr_task_tuning import FINE_TUNED, comparisons, split_task, task_methods, timed_training, trained
from machine import describe_machine

REPO = Path(__file__).resolve().parent.parent
TASK = "debian-python-code"
MIN_PAIRS, MAX_PAIRS = 1000, 4000


def default_task_path() -> Path:
    from runtimes.cache import cache_root

    return cache_root() / "bebr" / "fresh_task.npz"


def build_task(out: Path) -> dict:
    """Collect the task's unique pairs; with enough, embed the kept ones into OUT.npz (queries, docs, keys).
    OUT.json records the counts and every source with its licence."""
    pairs, sources = debian_python_code_pairs()
    pairs = without_repeats(pairs)
    record = {"task": TASK, "unique_pairs": len(pairs), "min_pairs": MIN_PAIRS, "max_pairs": MAX_PAIRS}
    if len(pairs) >= MIN_PAIRS:
        pairs = kept_pairs(pairs, MAX_PAIRS)
        used = {pair.distribution for pair in pairs}
        record.update(pairs=len(pairs), sources=[asdict(s) for s in sources if s.name in used])
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(out, queries=embed([p.query for p in pairs]).astype(np.float16),
                 docs=embed([p.document for p in pairs]).astype(np.float16),
                 keys=np.array([document_key(p) for p in pairs], dtype=np.uint64))
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def run(path: Path) -> dict:
    record = json.loads(path.with_suffix(".json").read_text())
    report = {"protocol": "sdk/weights/bebr/TRAINING.md, A fifth task that chose nothing", "task": TASK, "corpus": record}
    if "pairs" not in record:
        return {**report, "scored": False, "why": f"{record['unique_pairs']} unique pairs, fewer than {MIN_PAIRS}"}
    with np.load(path, allow_pickle=False) as arrays:
        queries, docs, keys = arrays["queries"].astype(np.float32), arrays["docs"].astype(np.float32), arrays["keys"]
    pairs, queries, docs = split_task(queries, docs, keys)
    exact, start, recipe = float_top(queries, docs), default_checkpoint("bebr"), RECIPES["pairs"]
    with tempfile.TemporaryDirectory(prefix="bebr-fresh-task-") as folder:  # weights fitted on the task die with it
        found = task_methods(TASK, pairs, queries, docs, exact, start, Path(folder))
        tuned_folder, seconds = timed_training(pairs, Path(folder) / "fine-tuned", recipe.training, start=start)
        tuned = trained(FINE_TUNED, tuned_folder, queries, docs, seconds)
    rows = [f.row(exact) for f in found] + [{**tuned.row(exact), "recipe": "rapid-edge bebr train --pairs (defaults)"}]
    return {**report, "scored": True, "user_pairs": len(pairs), "held_out_pairs": len(queries), "start": "the shipped default",
            "rows": rows, "comparisons": comparisons(tuned, found), "machine": describe_machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", type=Path, default=default_task_path(), help="the task's embeddings (built if missing)")
    parser.add_argument("--rebuild", action="store_true", help="collect and embed the task again")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bebr_fresh_task.json")
    args = parser.parse_args()
    if args.rebuild or not args.task.with_suffix(".json").is_file():
        print(f"built {args.task}: {build_task(args.task)['unique_pairs']} unique pairs", flush=True)
    report = run(args.task)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
