"""Leave one domain out, by the protocol "A task-agnostic default" of sdk/weights/bebr/TRAINING.md: for each
domain of bebr_domains.py's corpus, every method fitted on the other trainable domains' vectors and scored on
that domain's pairs (recall@1, recall@10, overlap@10 with exact float search) at 64, 128 and 256 bytes per
vector: float32 exact search, sign hashing, ITQ, faiss PQ, the task-agnostic binarizer (its settings chosen on
the other trainable domains' validation parts: bebr_agnostic.py), and the binarizer the SDK ships (128
bytes). Writes benchmarks/results/bebr_domain_fidelity.json and beside it a plot of recall@10 against bytes per
vector, a panel per domain; with --merge, only the given budgets' rows are run and put in place of those rows of
the existing results (a column added later); --plot-only redraws the plot from the existing results.

    python benchmarks/bebr_domain_fidelity.py [--domains PATH] [--budgets 64 128 256] [--merge | --plot-only]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bebr_agnostic import choose, fit, scores, split_trainable
from bebr_domains import default_domains_path
from bebr_fidelity import BASELINES, FLOAT_BYTES, baseline_rows, float_top, merge_rows, metrics, row_budget
from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it
from report import write_report

REPO = Path(__file__).resolve().parent.parent
#: the most pairs a held-out domain is scored on (exact float search over all of them stays in memory)
MAX_SCORED = 5000
TASK_AGNOSTIC = "task-agnostic BEBR (vectors only)"
SHIPPED_DEFAULT = "shipped default"


def load_domains(path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], dict]:
    """domain -> (queries, docs, keys, validation): vectors as float32, each pair's document_key and whether it
    is in the domain's validation part; and the corpus record."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no domain corpus; build it with `python benchmarks/bebr_domains.py --out {path}`")
    record = json.loads(path.with_suffix(".json").read_text())
    with np.load(path, allow_pickle=False) as arrays:
        return {name: (arrays[f"{name}_queries"].astype(np.float32), arrays[f"{name}_docs"].astype(np.float32),
                       arrays[f"{name}_keys"], arrays[f"{name}_validation"]) for name in record["pairs"]}, record


def scored_part(queries: np.ndarray, docs: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most MAX_SCORED pairs: those of smallest document_key (sha256 of the document), in corpus order."""
    if len(queries) <= MAX_SCORED:
        return queries, docs
    chosen = np.sort(np.argsort(keys, kind="stable")[:MAX_SCORED])
    return queries[chosen], docs[chosen]


def shipped_default_row(queries: np.ndarray, docs: np.ndarray, exact: np.ndarray) -> dict:
    """The binarizer `PKG=default` indexes with today, named by how it was trained (pairs or vectors mode)."""
    from sdk.retrieval.training import load_binarizer, read_training_record
    from sdk.shipped import default_checkpoint

    record = read_training_record(default_checkpoint("bebr"))
    model = load_binarizer(default_checkpoint("bebr"))
    return {"method": f"{SHIPPED_DEFAULT} ({record['training']['mode']} mode, {record['code_version']})",
            "bytes": model.config.layout.code_bytes, **scores(model, queries, docs, exact)}


def task_agnostic_row(fitting: np.ndarray, train: np.ndarray, validation: dict, queries: np.ndarray,
                      docs: np.ndarray, budget: int, exact: np.ndarray) -> dict:
    """Chosen on the validation parts (fitted without them), fitted again on all the training vectors, scored once."""
    choice = choose(fitting, validation, budget)
    model = fit(train, choice.chosen)
    reference = {"reference": choice.reference} if choice.reference else {}
    return {"method": TASK_AGNOSTIC, "bytes": model.config.layout.code_bytes, "budget": budget,
            "chosen": choice.chosen.describe(), "rule": choice.rule, **reference, "choice": choice.table,
            **scores(model, queries, docs, exact)}


def run(path: Path, budgets: list[int], previous: dict | None = None) -> dict:
    """Every domain held out in turn; with `previous` results, only the budgets' rows, merged into those."""
    domains, record = load_domains(path)
    report = previous or {"protocol": "sdk/weights/bebr/TRAINING.md, A task-agnostic default", "corpus": record["pairs"],
                          "left_out": record["left_out"], "max_scored": MAX_SCORED, "domains": {}}
    for held_out, (queries, docs, keys, _) in domains.items():
        fitting, train, validation = split_trainable(domains, exclude=held_out)
        queries, docs = scored_part(queries, docs, keys)
        exact = float_top(queries, docs)
        rows = baseline_rows(train, queries, docs, budgets, list(BASELINES), exact)
        rows += [task_agnostic_row(fitting, train, validation, queries, docs, budget, exact) for budget in budgets]
        if previous:
            report["domains"][held_out] = merge_rows(previous["domains"][held_out], rows)
        else:
            rows = [{"method": "float32 exact", "bytes": FLOAT_BYTES, **metrics(exact, exact)}, *rows,
                    shipped_default_row(queries, docs, exact)]
            report["domains"][held_out] = {"scored_pairs": len(queries), "trained_on_vectors": len(train), "rows": rows}
        print(held_out, json.dumps(rows), flush=True)
    report["machine"] = describe_machine()
    return report


def draw_recall_by_size(report: dict, plt):
    """recall@10 against bytes per vector (log scale), a line per method, float search as a level, a panel per
    held-out domain. The shipped default's single point is left to the table: it was trained on docstrings."""
    names = list(report["domains"])
    figure, panels = plt.subplots(1, len(names), figsize=(4.2 * len(names) + 2.5, 4.2), squeeze=False)
    for axes, name in zip(panels[0], names):
        axes.set_title(f"{name} (never trained on)")
        series: dict[str, list[tuple[int, float]]] = {}
        for row in report["domains"][name]["rows"]:
            if row["method"] == "float32 exact":
                axes.axhline(row["recall@10"], color="black", linestyle="--", linewidth=1, label="float32 exact (1536 B)")
            elif not row["method"].startswith(SHIPPED_DEFAULT):
                series.setdefault(row["method"], []).append((row["bytes"], row["recall@10"]))
        for method, points in series.items():
            sizes, recalls = zip(*sorted(points))
            axes.plot(sizes, recalls, marker="o", label=method)
        axes.set_xscale("log", base=2)
        # ticks at the budgets; a code that fills less of its budget (60 of 64 bytes) sits at its own size
        budgets = sorted({row_budget(row) for row in report["domains"][name]["rows"] if row["method"] != "float32 exact"})
        axes.set_xticks(budgets, [str(size) for size in budgets])
        axes.minorticks_off()
        axes.set_xlabel("bytes per vector")
        axes.grid(True, which="both", alpha=0.3)
    panels[0][0].set_ylabel("recall@10 of the paired document")
    panels[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    figure.suptitle("Leave one domain out: recall@10 against code size")
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=Path, default=default_domains_path())
    parser.add_argument("--budgets", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--merge", action="store_true",
                        help="run only these budgets and put their rows in place of those of the existing --out")
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot of the existing --out, run nothing")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bebr_domain_fidelity.json")
    args = parser.parse_args()
    if (args.merge or args.plot_only) and not args.out.is_file():
        parser.error(f"--merge and --plot-only read the existing results, and {args.out} does not exist")
    if args.plot_only:
        report = json.loads(args.out.read_text())
    else:
        report = run(args.domains, args.budgets, json.loads(args.out.read_text()) if args.merge else None)
    write_report(report, args.out, draw_recall_by_size)


if __name__ == "__main__":
    main()
