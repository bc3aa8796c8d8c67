"""What quantizing the query costs at 64 bytes per vector: BEBR's search is symmetric (the query is binarized like
the documents: rapid::BinarySearch's SDC contract), faiss IndexPQ's is asymmetric (the float query against
quantized documents). Each is scored both ways on the trainable domains' validation parts (nothing held out):
the task-agnostic binarizer as the protocol chooses it at 64 bytes (bebr_agnostic.py), symmetric through the
search kernel and asymmetric as the cosine of the query's float projection with the documents' decoded codes;
faiss PQ of 64 bytes, asymmetric through IndexPQ's search and symmetric as the cosine of the query's and the
documents' reconstructions. Beside them: the binarizer's projection unquantized on both sides (what its codes
quantize), and exact float search. Writes benchmarks/results/bebr_query_precision.json.

    python benchmarks/bebr_query_precision.py [--domains PATH]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bebr_agnostic import choose, fit, split_trainable
from bebr_domain_fidelity import load_domains
from bebr_domains import default_domains_path
from bebr_fidelity import ProductQuantizer, code_top, fit_product_quantizer, float_top, metrics
from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it

REPO = Path(__file__).resolve().parent.parent
CODE_BYTES = 64


def binarizer_tops(model, queries: np.ndarray, docs: np.ndarray) -> dict[str, np.ndarray]:
    """The binarizer's top-k with the query binarized (the kernel), with its float projection (plane 0's
    transform before the sign) against the documents' decoded codes, and with both sides' projections."""
    import torch

    from sdk.retrieval.binarizer import l2_normalise

    with torch.no_grad():
        query_codes, doc_codes = (model.encode(torch.from_numpy(v))[0].numpy() for v in (queries, docs))
        projected, projected_docs = (model.encoders[0](l2_normalise(torch.from_numpy(v))).numpy() for v in (queries, docs))
        decoded = model.levels(model(torch.from_numpy(docs))).numpy()
    return {"symmetric": code_top(query_codes, doc_codes, model.config.layout), "asymmetric": float_top(projected, decoded),
            "unquantized projection": float_top(projected, projected_docs)}


def product_quantizer_tops(quantizer: ProductQuantizer, queries: np.ndarray, docs: np.ndarray) -> dict[str, np.ndarray]:
    """The trained PQ over `docs`, searched as faiss does (asymmetric) and by its reconstructions."""
    pq = quantizer.index.pq
    rebuilt = [pq.decode(pq.compute_codes(quantizer.prepared(v))) for v in (queries, docs)]
    return {"asymmetric": quantizer.top(queries, docs), "symmetric": float_top(*rebuilt)}


def run(path: Path) -> dict:
    domains, _ = load_domains(path)
    fitting, _, validation = split_trainable(domains)
    chosen = choose(fitting, validation, CODE_BYTES).chosen
    model, quantizer = fit(fitting, chosen), fit_product_quantizer(fitting, CODE_BYTES, 8)
    parts = {}
    for name, (queries, docs) in validation.items():
        exact = float_top(queries, docs)
        tops = {"task-agnostic BEBR": binarizer_tops(model, queries, docs),
                "faiss IndexPQ (8-bit codes)": product_quantizer_tops(quantizer, queries, docs)}
        parts[name] = [{"method": "float32 exact", "query": "float", **metrics(exact, exact)}]
        parts[name] += [{"method": method, "query": kind, **metrics(top, exact)}
                        for method, by_kind in tops.items() for kind, top in by_kind.items()]
        print(name, json.dumps(parts[name]), flush=True)
    return {"bytes": CODE_BYTES, "evaluated_on": "validation parts of the trainable domains (fitted without them)",
            "binarizer": chosen.describe(), "pairs": {name: len(q) for name, (q, _) in validation.items()},
            "parts": parts, "machine": describe_machine()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=Path, default=default_domains_path())
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bebr_query_precision.json")
    args = parser.parse_args()
    report = run(args.domains)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
