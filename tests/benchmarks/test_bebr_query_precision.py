"""The query-precision benchmark scores each method both ways: an exact query must rank the documents' codes
at least as well as a quantized one, and each way must be the one it names (not the other twice)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

pytest.importorskip("faiss")
pytest.importorskip("torch")


def correlated_pairs(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    basis = rng.standard_normal((24, 384)).astype(np.float32)
    docs = rng.standard_normal((count, 24)).astype(np.float32) @ basis
    return docs + 0.4 * rng.standard_normal(docs.shape).astype(np.float32), docs


@pytest.mark.parametrize("method", ["pq", "binarizer"])
def test_an_exact_query_finds_more_of_the_float_neighbours_than_a_quantized_one(method):
    import bebr_query_precision
    from bebr_agnostic import candidates, fit
    from bebr_fidelity import fit_product_quantizer, float_top, metrics

    train = np.concatenate(correlated_pairs(2000, 0))
    queries, docs = correlated_pairs(300, 1)
    if method == "pq":
        quantizer = fit_product_quantizer(train, 16, 8)
        bebr_query_precision.product_quantizer_tops(quantizer, docs[:50], docs[:50])  # a part searched before
        tops = bebr_query_precision.product_quantizer_tops(quantizer, queries, docs)
    else:
        four_planes_pca = next(c for c in candidates(16, 384) if c.config.planes == 4 and c.training.init == "pca"
                               and c.training.epochs == 0)
        tops = bebr_query_precision.binarizer_tops(fit(train, four_planes_pca), queries, docs)
    exact = float_top(queries, docs)
    scored = {kind: metrics(top, exact)["overlap@10"] for kind, top in tops.items()}
    if method == "binarizer":  # its own projection, unquantized, is the ceiling of its codes
        assert scored["unquantized projection"] >= scored["asymmetric"]
    assert scored["asymmetric"] > scored["symmetric"] + 0.02
    assert scored["asymmetric"] > 0.3
