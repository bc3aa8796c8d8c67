"""Retrieval fidelity of BEBR codes on real sentence embeddings, every method side by side at 64, 128 and
256 bytes per vector, by the protocol of sdk/weights/bebr/TRAINING.md (held-out docstring pairs, recall@1,
recall@10, overlap@10 with exact float search). Writes benchmarks/results/bebr_fidelity.json.

    python benchmarks/bebr_fidelity.py [--corpus PATH] [--budgets 64 128 256] [--epochs 20]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from runtimes.ops.bebr_numba import binary_search_numba
from runtimes.ops.bebr_spec import CodeLayout, code_norms, pack_signs
from bebr_corpus import default_corpus_path, load_corpus
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.retrieval.training import load_binarizer, train_binarizer

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it

REPO = Path(__file__).resolve().parent.parent
K = 10
FLOAT_BYTES = 384 * 4
SEED = 0
#: the MLP settings chosen on the validation part (sdk/weights/bebr/TRAINING.md), BinarizerConfig's defaults
MLP = {"hidden": BinarizerConfig.hidden, "dropout": BinarizerConfig.dropout}


def unit(values: np.ndarray) -> np.ndarray:
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def float_top(queries: np.ndarray, docs: np.ndarray, k: int = K) -> np.ndarray:
    """Exact cosine top-k, ties to the lower index."""
    scores = unit(queries) @ unit(docs).T
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def hits(top: np.ndarray, k: int) -> np.ndarray:
    """Per query: is its paired document (the document of its own row) among the first k found?"""
    return (top[:, :k] == np.arange(len(top))[:, None]).any(axis=1)


def metrics(top: np.ndarray, exact: np.ndarray) -> dict[str, float]:
    overlap = np.mean([len(np.intersect1d(a, b)) / K for a, b in zip(top, exact)])
    return {"recall@1": float(hits(top, 1).mean()), "recall@10": float(hits(top, K).mean()), "overlap@10": float(overlap)}


def code_top(query_codes: np.ndarray, doc_codes: np.ndarray, layout: CodeLayout) -> np.ndarray:
    return binary_search_numba(query_codes, code_norms(query_codes, layout), doc_codes, code_norms(doc_codes, layout),
                               layout, K)[1]


def projection_top(model, queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Exact cosine top-k of a float projection's outputs (a binarizer built with binary=False)."""
    import torch

    with torch.no_grad():
        return float_top(*(model.levels(model(torch.from_numpy(v))).numpy() for v in (queries, docs)))


def sign_codes(projected: np.ndarray) -> tuple[np.ndarray, CodeLayout]:
    layout = CodeLayout(projected.shape[1], 1)
    return pack_signs(projected[:, None, :], layout), layout


def random_projection(train: np.ndarray, bits: int) -> Callable[[np.ndarray], np.ndarray]:
    matrix = np.random.default_rng(SEED).standard_normal((train.shape[1], bits)).astype(np.float32)
    return lambda x: x @ matrix


#: ITQ's iterations (TRAINING.md)
ITQ_ITERATIONS = 50
#: the widest code faiss's ITQMatrix fits here: at 2,048 bits its SVD takes 70-95 s an iteration on 2 cores
FAISS_ITQ_MAX_BITS = 1024


def itq(train: np.ndarray, bits: int) -> Callable[[np.ndarray], np.ndarray]:
    """ITQ (Gong & Lazebnik): faiss's ITQMatrix up to FAISS_ITQ_MAX_BITS, `itq_rotation` above; vectors lifted by
    a Gaussian projection when bits > d."""
    import faiss

    dim = train.shape[1]
    mean = train.mean(axis=0)
    if bits <= dim:
        pca = faiss.PCAMatrix(dim, bits)
        pca.train(np.ascontiguousarray(train - mean))
        lift = lambda x: pca.apply(np.ascontiguousarray(x - mean))  # noqa: E731
    else:
        matrix = np.random.default_rng(SEED).standard_normal((dim, bits)).astype(np.float32) / np.sqrt(bits)
        lift = lambda x: np.ascontiguousarray((x - mean) @ matrix)  # noqa: E731
    if bits > FAISS_ITQ_MAX_BITS:
        rotation_matrix = itq_rotation(lift(train))
        return lambda x: lift(x) @ rotation_matrix
    rotation = faiss.ITQMatrix(bits)
    rotation.max_iter = ITQ_ITERATIONS
    rotation.seed = SEED
    rotation.train(lift(train))
    return lambda x: rotation.apply(lift(x))


def itq_rotation(vectors: np.ndarray, iterations: int = ITQ_ITERATIONS) -> np.ndarray:
    """ITQ's rotation R of centred `vectors` V [n, c], from a random orthogonal start: alternately B = sign(VR)
    and the orthogonal Procrustes solution R = U W^T of V^T B = U S W^T. Written here because faiss's ITQMatrix
    is impractical beyond FAISS_ITQ_MAX_BITS on this machine; the same iterations in numpy take ~4 s each."""
    width = vectors.shape[1]
    rotation, _ = np.linalg.qr(np.random.default_rng(SEED).standard_normal((width, width)).astype(np.float32))
    for _ in range(iterations):
        codes = np.where(vectors @ rotation >= 0, 1.0, -1.0).astype(np.float32)
        left, _, right = np.linalg.svd(vectors.T @ codes)
        rotation = left @ right
    return rotation


def orthonormal_lift(dim: int, out: int) -> np.ndarray:
    """[dim, out] with orthonormal rows: x -> x @ Q keeps every inner product."""
    q, _ = np.linalg.qr(np.random.default_rng(SEED).standard_normal((out, dim)))
    return q.T.astype(np.float32)


@dataclass
class ProductQuantizer:
    """A trained faiss PQ index and the lift its vectors take first (identity when their width is a multiple of M)."""

    index: object
    lift: np.ndarray

    def prepared(self, vectors: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(unit(vectors) @ self.lift)

    def top(self, queries: np.ndarray, docs: np.ndarray) -> np.ndarray:
        """Top-k of `queries` over `docs` (the index holds those documents only: earlier ones are dropped)."""
        self.index.reset()
        self.index.add(self.prepared(docs))
        return self.index.search(self.prepared(queries), K)[1]


def fit_product_quantizer(train: np.ndarray, code_bytes: int, sub_bits: int) -> ProductQuantizer:
    """IndexPQ with 8-bit sub-codes (M = bytes) or IndexPQFastScan with 4-bit ones (M = 2 x bytes), trained on
    unit-normalised `train`; vectors lifted by orthonormal columns to the next multiple of M when theirs is not one."""
    import faiss

    dim, quantizers = train.shape[1], code_bytes * 8 // sub_bits
    lift = orthonormal_lift(dim, -(-dim // quantizers) * quantizers) if dim % quantizers else np.eye(dim, dtype=np.float32)
    kind = faiss.IndexPQ if sub_bits == 8 else faiss.IndexPQFastScan
    quantizer = ProductQuantizer(kind(lift.shape[1], quantizers, sub_bits, faiss.METRIC_INNER_PRODUCT), lift)
    quantizer.index.train(quantizer.prepared(train))
    return quantizer


def product_quantizer(sub_bits: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]:
    """faiss PQ top-k at `code_bytes` (fit_product_quantizer) as a baseline method."""
    return lambda train, queries, docs, code_bytes: fit_product_quantizer(train, code_bytes, sub_bits).top(queries, docs)


def sign_hashing(fit: Callable[[np.ndarray, int], Callable[[np.ndarray], np.ndarray]]):
    """A training-free sign code (random projection, ITQ) as a top-k method like the PQ ones."""

    def top(train: np.ndarray, queries: np.ndarray, docs: np.ndarray, code_bytes: int) -> np.ndarray:
        transform = fit(train, code_bytes * 8)
        (query_codes, layout), (doc_codes, _) = sign_codes(transform(queries)), sign_codes(transform(docs))
        return code_top(query_codes, doc_codes, layout)

    return top


#: methods that need no training on the pairs, by the name of their rows: (train vectors, queries, docs, bytes) -> top-k
BASELINES = {
    "random-projection sign": sign_hashing(random_projection),
    "ITQ": sign_hashing(itq),
    "faiss IndexPQ (8-bit codes)": product_quantizer(8),
    "faiss IndexPQFastScan (4-bit codes)": product_quantizer(4),
}


def baseline_rows(train: np.ndarray, queries: np.ndarray, docs: np.ndarray, budgets: list[int], names: list[str],
                  exact: np.ndarray | None = None) -> list[dict]:
    """One row per named baseline and budget."""
    exact = float_top(queries, docs) if exact is None else exact
    return [{"method": name, "bytes": budget, **metrics(BASELINES[name](train, queries, docs, budget), exact)}
            for budget in budgets for name in names]


def learned(data: TrainingData, config: BinarizerConfig, settings: BinarizerTraining, folder: Path):
    """A binarizer (or its float / linear baselines) trained on the pairs; returns it and its training time."""
    start = time.perf_counter()
    train_binarizer(data, folder, config, settings, progress=False)
    return load_binarizer(folder), time.perf_counter() - start


def splits(corpus: Path, validation: bool) -> tuple[np.ndarray, ...]:
    """(train queries, train docs, evaluation queries, evaluation docs): the held-out pairs, or with
    `validation` the validation part of the training pairs (for choosing settings; trained without it)."""
    arrays = load_corpus(corpus)
    train_q, train_d = arrays["train_queries"], arrays["train_docs"]
    if not validation:
        return train_q, train_d, arrays["test_queries"], arrays["test_docs"]
    part = arrays["train_validation"]
    return train_q[~part], train_d[~part], train_q[part], train_d[part]


def run(corpus: Path, budgets: list[int], settings: BinarizerTraining, validation: bool = False) -> dict:
    import torch

    train_q, train_d, test_q, test_d = splits(corpus, validation)
    data = TrainingData(train_q, train_d)
    exact = float_top(test_q, test_d)
    rows = [{"method": "float32 exact", "bytes": FLOAT_BYTES, **metrics(exact, exact)}]
    both = np.concatenate([train_q, train_d])
    work = Path(tempfile.mkdtemp(prefix="bebr-fidelity-"))

    def encode(model, vectors):
        with torch.no_grad():
            return model.encode(torch.from_numpy(vectors))[0].numpy()

    config = BinarizerConfig(dim=train_q.shape[1], bits=512, planes=1, binary=False, **MLP)
    model, seconds = learned(data, config, settings, work / "float")
    rows.append({"method": "float projection, fine-tuned (512 x float32)", "bytes": 512 * 4,
                 **metrics(projection_top(model, test_q, test_d), exact), "train_s": round(seconds, 1)})
    for budget in budgets:
        bits = budget * 8
        rows += baseline_rows(both, test_q, test_d, [budget], list(BASELINES), exact)
        variants = [("learned linear + sign", BinarizerConfig(dim=train_q.shape[1], bits=bits, planes=1, hidden=0))]
        variants += [(f"BEBR u={planes - 1}", BinarizerConfig(dim=train_q.shape[1], bits=CodeLayout.for_budget(budget, planes).bits,
                                                            planes=planes, **MLP)) for planes in (1, 2, 3)]
        for name, config in variants:
            model, seconds = learned(data, config, settings, work / f"{name}-{budget}".replace(" ", "_"))
            layout = config.layout
            top = code_top(encode(model, test_q), encode(model, test_d), layout)
            rows.append({"method": name, "bytes": layout.code_bytes, "budget": budget, "bits": layout.bits,
                         "planes": layout.planes, **metrics(top, exact), "train_s": round(seconds, 1)})
            print(json.dumps(rows[-1]), flush=True)
    return {"protocol": "sdk/weights/bebr/TRAINING.md", "corpus": str(corpus),
            "evaluated_on": "validation part of the training pairs" if validation else "held-out pairs",
            "pairs": {"train": len(train_q), "evaluated": len(test_q)}, "k": K,
            "settings": asdict(settings), "rows": rows, "machine": describe_machine()}


def row_budget(row: dict) -> int:
    """The budget a row was made for: its layout's bytes can be fewer (3 planes of 160 bits fill 60 of 64)."""
    return row.get("budget", row["bytes"])


def merge_rows(previous: dict, rows: list[dict]) -> dict:
    """`previous` with `rows` in place of its rows of the same method and budget (a baseline added or rerun)."""
    fresh = {(r["method"], row_budget(r)) for r in rows}
    return {**previous, "rows": [r for r in previous["rows"] if (r["method"], row_budget(r)) not in fresh] + rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=default_corpus_path())
    parser.add_argument("--budgets", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--epochs", type=int, default=BinarizerTraining.epochs)
    parser.add_argument("--validation", action="store_true",
                        help="score on the validation part of the training pairs (choosing settings), not the held-out pairs")
    parser.add_argument("--only", nargs="+", choices=sorted(BASELINES), metavar="BASELINE",
                        help="run only these training-free baselines and merge their rows into the existing results "
                             f"(one of: {', '.join(BASELINES)})")
    parser.add_argument("--out", type=Path, default=None, help="default: results/bebr_fidelity[_validation].json")
    args = parser.parse_args()
    args.out = args.out or REPO / "benchmarks" / "results" / f"bebr_fidelity{'_validation' if args.validation else ''}.json"
    if args.only:
        if not args.out.is_file():
            parser.error(f"--only merges into existing results, and {args.out} does not exist")
        train_q, train_d, test_q, test_d = splits(args.corpus, args.validation)
        rows = baseline_rows(np.concatenate([train_q, train_d]), test_q, test_d, args.budgets, args.only)
        result = merge_rows(json.loads(args.out.read_text()), rows)
    else:
        result = run(args.corpus, args.budgets, BinarizerTraining(epochs=args.epochs), args.validation)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
