"""rapid::BinarySearch on an NVIDIA GPU through CuPy, from the very kernel source the TensorRT plugin
compiles (binary_search_kernels.cu): the GPU check of the kernels without TensorRT."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from runtimes.ops.bebr_spec import CodeLayout, check_codes, check_k, check_norms

KERNELS = Path(__file__).with_name("binary_search_kernels.cu")
SCORE_THREADS = 256
SELECT_THREADS = 1024  # BEBR_SELECT_THREADS
QUERY_CHUNK = 32  # kBinarySearchQueryChunk of the launcher


@cache
def _kernels():
    import cupy

    module = cupy.RawModule(code=KERNELS.read_text(), options=("--std=c++17",))
    return module.get_function("bebr_score"), module.get_function("bebr_select")


def binary_search_cuda(query_codes, query_norms, doc_codes, doc_norms, layout: CodeLayout, k: int):
    """As the reference; inputs NumPy or CuPy, outputs CuPy scores [Q, k] and indices [Q, k]."""
    import cupy

    host = [np.asarray(a.get() if hasattr(a, "get") else a) for a in (query_codes, query_norms, doc_codes, doc_norms)]
    check_codes(host[0], layout, "query codes"), check_codes(host[2], layout, "document codes")
    check_norms(host[1], len(host[0]), "query norms"), check_norms(host[3], len(host[2]), "document norms")
    check_k(k, len(host[2]))
    queries, query_norms, docs, doc_norms = (cupy.ascontiguousarray(cupy.asarray(a)) for a in host)
    n_queries, n_docs = len(queries), len(docs)
    scores = cupy.empty((n_queries, k), dtype=cupy.float32)
    indices = cupy.empty((n_queries, k), dtype=cupy.int64)
    cosines = cupy.empty((min(n_queries, QUERY_CHUNK), n_docs), dtype=cupy.float32)
    score, select = _kernels()
    i32 = np.int32
    for first in range(0, n_queries, QUERY_CHUNK):
        chunk = min(QUERY_CHUNK, n_queries - first)
        grid = ((n_docs + SCORE_THREADS - 1) // SCORE_THREADS, chunk)
        score(grid, (SCORE_THREADS,), (queries[first:], query_norms[first:], docs, doc_norms, i32(n_docs),
                                       i32(layout.words), i32(layout.bits), i32(layout.planes), cosines))
        select((chunk,), (SELECT_THREADS,), (cosines, i32(n_docs), i32(k), scores[first:], indices[first:]))
    return scores, indices
