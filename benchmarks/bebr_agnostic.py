"""The task-agnostic binarizer of sdk/weights/bebr/TRAINING.md ("Settings of the task-agnostic binarizer"):
its candidates at a budget, the choice on validation parts (by mean overlap@10; at 64 bytes by the smallest
margin over faiss PQ of 64 bytes: "Codes of unequal resolution"), and the fit. Used by
bebr_domain_fidelity.py for each held-out domain, and here to make the shipped default: the choice at 128
bytes over every trainable domain's validation part, then `rapid-edge bebr train --vectors` with the chosen
settings on all their vectors.

    python benchmarks/bebr_agnostic.py --out sdk/weights/bebr/package [--domains PATH]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtimes.ops.bebr_spec import CodeLayout
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.retrieval.training import load_binarizer, train_binarizer

from bebr_domains import TRAINABLE, default_domains_path  # benchmarks/ is on the path: the scripts run from it
from bebr_fidelity import code_top, fit_product_quantizer, float_top, metrics

#: the candidates, in the order that breaks ties (TRAINING.md)
PLANES = (1, 2, 4)
INITS = ("rotation", "pca")
EPOCHS = (0, 3)
LEARNING_RATE = 1e-4
#: the budget the shipped default is chosen at
DEFAULT_BYTES = 128
#: TRAINING.md, "Codes of unequal resolution at 64 bytes": at this budget 3 planes too, pca starts that keep
#: fewer principal directions, and the choice by the smallest margin over faiss PQ of the same bytes
UNEQUAL_BYTES = 64
UNEQUAL_PLANES = (1, 2, 3, 4)
FEWER_DIRECTIONS = (256, 192, 128)
METRICS = ("recall@1", "recall@10", "overlap@10")
REFERENCE, REFERENCE_SUB_BITS = "faiss IndexPQ (8-bit codes)", 8


@dataclass(frozen=True)
class Candidate:
    config: BinarizerConfig
    training: BinarizerTraining

    def describe(self) -> dict:
        return {"bits": self.config.bits, "planes": self.config.planes, "hidden": self.config.hidden,
                "init": self.training.init, "directions": self.training.directions, "epochs": self.training.epochs,
                "learning_rate": self.training.learning_rate}


@dataclass
class Choice:
    """The chosen candidate, every candidate's validation scores, the rule, and the reference's scores (the
    margin rule's faiss PQ, None for the overlap rule)."""

    chosen: Candidate
    table: list[dict]
    rule: str
    reference: dict | None = None


def starts(code_bytes: int, bits: int, dim: int) -> list[tuple[str, int]]:
    """(init, directions) of a budget's candidates: 0 directions is the pca start's default (as many as fit)."""
    fewer = [("pca", kept) for kept in FEWER_DIRECTIONS if kept < min(bits, dim)] if code_bytes == UNEQUAL_BYTES else []
    return [(init, 0) for init in INITS] + fewer


def candidates(code_bytes: int, dim: int) -> list[Candidate]:
    layouts = [CodeLayout.for_budget(code_bytes, planes) for planes in (UNEQUAL_PLANES if code_bytes == UNEQUAL_BYTES else PLANES)]
    return [Candidate(BinarizerConfig(dim=dim, bits=layout.bits, planes=layout.planes, hidden=0),
                      BinarizerTraining(epochs=epochs, learning_rate=LEARNING_RATE, init=init, directions=kept))
            for layout in layouts for init, kept in starts(code_bytes, layout.bits, dim) for epochs in EPOCHS]


def fit(vectors: np.ndarray, candidate: Candidate):
    """The candidate's binarizer fitted on `vectors` (no pairs: embedding to embedding)."""
    with tempfile.TemporaryDirectory() as folder:
        train_binarizer(TrainingData(vectors), Path(folder), candidate.config, candidate.training, progress=False)
        return load_binarizer(Path(folder))


def model_top(model, queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """The top-k documents of each query by the model's codes (the search kernel)."""
    import torch

    with torch.no_grad():
        query_codes, doc_codes = (model.encode(torch.from_numpy(v))[0].numpy() for v in (queries, docs))
    return code_top(query_codes, doc_codes, model.config.layout)


def scores(model, queries: np.ndarray, docs: np.ndarray, exact: np.ndarray | None = None) -> dict[str, float]:
    """recall@1, recall@10 and overlap@10 of the model's codes; `exact`: float search's top-k, if made already."""
    exact = float_top(queries, docs) if exact is None else exact
    return metrics(model_top(model, queries, docs), exact)


def choose(fit_vectors: np.ndarray, validation: dict[str, tuple[np.ndarray, np.ndarray]], code_bytes: int) -> Choice:
    """At UNEQUAL_BYTES the candidate of the highest smallest margin over faiss PQ (per metric, the mean over the
    validation parts of candidate - PQ); at other budgets the highest mean validation overlap@10, then recall@10.
    Ties keep the earlier candidate."""
    if not validation:
        raise ValueError("no validation part to choose on")
    exact = {name: float_top(queries, docs) for name, (queries, docs) in validation.items()}
    reference = None
    if code_bytes == UNEQUAL_BYTES:
        quantizer = fit_product_quantizer(fit_vectors, code_bytes, REFERENCE_SUB_BITS)  # trained once, for every part
        reference = {name: metrics(quantizer.top(queries, docs), exact[name]) for name, (queries, docs) in validation.items()}
    table, best, best_key = [], None, None
    for candidate in candidates(code_bytes, fit_vectors.shape[1]):
        model = fit(fit_vectors, candidate)
        parts = {name: scores(model, queries, docs, exact[name]) for name, (queries, docs) in validation.items()}
        mean = {metric: float(np.mean([part[metric] for part in parts.values()])) for metric in METRICS}
        entry = {**candidate.describe(), "validation": parts, "mean": mean}
        if reference is None:
            key = (mean["overlap@10"], mean["recall@10"])
        else:
            entry["margin"] = {metric: float(np.mean([parts[name][metric] - reference[name][metric] for name in parts]))
                               for metric in METRICS}
            key = (min(entry["margin"].values()),)
        table.append(entry)
        if best_key is None or key > best_key:  # strictly higher: ties keep the earlier candidate
            best, best_key = candidate, key
    rule = "overlap@10" if reference is None else f"smallest margin over {REFERENCE}"
    return Choice(best, table, rule, reference)


def split_trainable(domains: dict, exclude: str | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Of the trainable domains but `exclude`: the vectors outside their validation parts, all their vectors,
    and each one's validation pairs."""
    fitting, everything, validation = [], [], {}
    for name, (queries, docs, _, is_validation) in domains.items():
        if name not in TRAINABLE or name == exclude:
            continue
        fitting += [queries[~is_validation], docs[~is_validation]]
        everything += [queries, docs]
        if is_validation.any():
            validation[name] = (queries[is_validation], docs[is_validation])
    return np.concatenate(fitting), np.concatenate(everything), validation


def main() -> None:
    from sdk.cli.main import main as rapid_edge

    from bebr_domain_fidelity import load_domains

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=Path, default=default_domains_path())
    parser.add_argument("--out", type=Path, required=True, help="the package folder to write")
    args = parser.parse_args()
    domains, record = load_domains(args.domains)
    fitting, everything, validation = split_trainable(domains)
    choice = choose(fitting, validation, DEFAULT_BYTES)
    vectors = args.domains.with_name("trainable_vectors.npy")
    np.save(vectors, everything)
    training = choice.chosen.describe()
    command = ["bebr", "train", "--vectors", str(vectors), "--out", str(args.out), "--bits", str(training["bits"]),
               "--planes", str(training["planes"]), "--hidden", "0", "--init", training["init"],
               "--directions", str(training["directions"]), "--epochs", str(training["epochs"]),
               "--learning-rate", str(training["learning_rate"])]
    print("rapid-edge " + " ".join(command))
    if rapid_edge(command) != 0:
        raise SystemExit("training the default failed")
    choice = {"rule": "sdk/weights/bebr/TRAINING.md, Settings of the task-agnostic binarizer", "bytes": DEFAULT_BYTES,
              "chosen": training, "candidates": choice.table, "fitted_on_vectors": len(everything),
              "domains": {name: record["pairs"][name] for name in domains if name in TRAINABLE},
              "command": "rapid-edge " + " ".join(command)}
    (args.out / "choice.json").write_text(json.dumps(choice, indent=2) + "\n")
    print(f"chose {training}; wrote {args.out / 'choice.json'}")


if __name__ == "__main__":
    main()
