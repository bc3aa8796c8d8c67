"""The NumPy reference of rapid::BinarySearch: the definition, written to be read, not to be fast.
Every other implementation is tested against it (see bebr_spec for the contract)."""
from __future__ import annotations

import numpy as np

from .bebr_spec import CodeLayout, check_codes, check_k, check_norms, popcount


def plane_pair_popcounts(query: np.ndarray, documents: np.ndarray, layout: CodeLayout) -> np.ndarray:
    """popcount(q_i XOR d_j) for one query code [W] against documents [N, W] -> [N, planes, planes]."""
    q = query.view(np.uint32).reshape(layout.planes, layout.words_per_plane)
    d = documents.view(np.uint32).reshape(len(documents), layout.planes, layout.words_per_plane)
    differing = q[None, :, None, :] ^ d[:, None, :, :]  # [N, i, j, words]
    return popcount(differing).sum(axis=-1)


def sdc_scores(query: np.ndarray, documents: np.ndarray, layout: CodeLayout) -> np.ndarray:
    """S(q, d) in int64 for one query against every document."""
    popcounts = plane_pair_popcounts(query, documents, layout)
    return ((layout.bits - 2 * popcounts) * layout.pair_weights()).sum(axis=(1, 2))


def binary_search_reference(query_codes: np.ndarray, query_norms: np.ndarray, doc_codes: np.ndarray,
                            doc_norms: np.ndarray, layout: CodeLayout, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine of every query: scores float32 [Q, k] and document indices int64 [Q, k]."""
    query_codes, doc_codes = check_codes(query_codes, layout, "query codes"), check_codes(doc_codes, layout, "document codes")
    query_norms = check_norms(query_norms, len(query_codes), "query norms")
    doc_norms = check_norms(doc_norms, len(doc_codes), "document norms")
    check_k(k, len(doc_codes))
    scores = np.empty((len(query_codes), k), dtype=np.float32)
    indices = np.empty((len(query_codes), k), dtype=np.int64)
    for row, (query, query_norm) in enumerate(zip(query_codes, query_norms)):
        cosine = sdc_scores(query, doc_codes, layout).astype(np.float32) / (query_norm * doc_norms)
        order = np.lexsort((np.arange(len(cosine)), -cosine))[:k]  # descending cosine, then lower index
        scores[row], indices[row] = cosine[order], order
    return scores, indices
