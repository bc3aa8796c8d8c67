"""rapid::BinarySearch on the CPU with numba: the fast path of the CPU pipeline.

The documents are dealt out in one contiguous range per thread. A batch of queries walks a thread's
range in blocks that fit the L1 cache, transposed word-major once per block, so the innermost loop runs
over documents: XOR with one query word, popcount (LLVM's ctpop: VPOPCNTQ on AVX-512 machines, a
nibble lookup on AVX2), shift by the plane pair's weight (a power of two) and add, all vectorised; the
index is read once per batch, not once per query. A single query (or a few) reads the index without
transposing, one document at a time, with the word counts of the usual layouts as constants. Each thread
keeps a sorted top-k per query; a document is scored exactly (float32 cosine, product first, as the
reference) only when an integer bound (from the k-th score and the index's range of norms) says it may
enter; a thread's documents arrive in index order, so a later document enters only when strictly better,
and the per-thread lists are merged by (score, index) at the end."""
from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange, types
from numba.extending import intrinsic

from .bebr_spec import CodeLayout, NormRange, check_codes, check_k, check_norms

#: bytes of document codes per transposed block: the block stays in the L1 cache (32 KiB measured best)
BLOCK_BYTES = 32 * 1024
#: batches smaller than this read the index directly: transposing a block costs more than it saves then
TRANSPOSE_FROM_QUERIES = 4
#: relative slack of the cheap entry bound; rounding of the exact cosine is ~1e-7
BOUND_SLACK = np.float32(1e-4)


@intrinsic
def popcount(typingctx, value):
    """The hardware population count of an integer (LLVM ctpop)."""
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return value(value), codegen


def binary_search_numba(query_codes: np.ndarray, query_norms: np.ndarray, doc_codes: np.ndarray,
                        doc_norms: np.ndarray, layout: CodeLayout, k: int, threads: int | None = None,
                        doc_norm_range: NormRange | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k cosine of every query: scores float32 [Q, k] and document indices int64 [Q, k].
    `doc_norm_range`: the range of `doc_norms`, from an index that checked them when they entered it (the
    norms are then not scanned again); without it the norms are checked and their range measured here."""
    query_codes, doc_codes = check_codes(query_codes, layout, "query codes"), check_codes(doc_codes, layout, "document codes")
    query_norms = check_norms(query_norms, len(query_codes), "query norms")
    doc_norms = check_norms(doc_norms, len(doc_codes), "document norms", values=doc_norm_range is None)
    doc_norm_range = doc_norm_range or NormRange.of(doc_norms)
    check_k(k, len(doc_codes))
    chunks = max(1, min(threads or get_num_threads(), len(doc_codes) // 1024))
    word = np.uint64 if layout.words_per_plane % 2 == 0 else np.uint32  # 64-bit words: half the popcounts
    queries, documents = query_codes.view(word), doc_codes.view(word)
    u = layout.u
    shifts = np.array([[2 * u - i - j for j in range(layout.planes)] for i in range(layout.planes)], dtype=np.int64)
    base = int(layout.bits * layout.pair_weights().sum())
    block = max(64, BLOCK_BYTES // layout.code_bytes)
    search = _search_blocked if len(queries) >= TRANSPOSE_FROM_QUERIES else _search_direct
    scores, indices = search(queries, query_norms, documents, doc_norms, doc_norm_range.lowest, doc_norm_range.highest,
                             layout.planes, base, shifts, k, chunks, block)
    return _merge(scores, indices, k)


@njit(parallel=True, cache=True)
def _search_blocked(queries, query_norms, documents, doc_norms, lowest_norm, highest_norm, planes, base, shifts, k,
                    chunks, block):
    """Per chunk of documents, the top-k of every query: [chunks, Q, k] scores and indices."""
    n_queries, n_documents, n_words = queries.shape[0], documents.shape[0], queries.shape[1]
    words_per_plane = n_words // planes
    scores, indices = _empty_lists(chunks, n_queries, k)
    for chunk in prange(chunks):
        start, stop = chunk * n_documents // chunks, (chunk + 1) * n_documents // chunks
        transposed = np.empty((n_words, block), dtype=documents.dtype)
        weighted = np.empty(block, dtype=np.int64)  # sum_ij 2^shift_ij popcount(q_i ^ d_j) per document
        for block_start in range(start, stop, block):
            size = min(block, stop - block_start)
            for d in range(size):
                for w in range(n_words):
                    transposed[w, d] = documents[block_start + d, w]
            for q in range(n_queries):
                for i in range(planes):
                    for j in range(planes):
                        shift = shifts[i, j]
                        for w in range(words_per_plane):
                            query_word = queries[q, i * words_per_plane + w]
                            row = transposed[j * words_per_plane + w]
                            if i == 0 and j == 0 and w == 0:  # the first pass writes: no zeroing pass
                                for d in range(size):
                                    weighted[d] = np.int64(popcount(query_word ^ row[d])) << shift
                            else:
                                for d in range(size):
                                    weighted[d] += np.int64(popcount(query_word ^ row[d])) << shift
                _offer_block(scores[chunk, q], indices[chunk, q], weighted, size, base, query_norms[q], doc_norms,
                             block_start, lowest_norm, highest_norm)
    return scores, indices


@njit(parallel=True, cache=True)
def _search_direct(queries, query_norms, documents, doc_norms, lowest_norm, highest_norm, planes, base, shifts, k,
                   chunks, block):
    """As _search_blocked without the transposition, for a batch of one or a few: bound by memory speed."""
    n_queries, n_documents, n_words = queries.shape[0], documents.shape[0], queries.shape[1]
    words_per_plane = n_words // planes
    flat = documents.reshape(-1)
    scores, indices = _empty_lists(chunks, n_queries, k)
    for chunk in prange(chunks):
        start, stop = chunk * n_documents // chunks, (chunk + 1) * n_documents // chunks
        weighted = np.empty(block, dtype=np.int64)
        for block_start in range(start, stop, block):
            size = min(block, stop - block_start)
            for q in range(n_queries):
                _score_block_direct(queries[q], flat, block_start, size, words_per_plane, planes, shifts, weighted)
                _offer_block(scores[chunk, q], indices[chunk, q], weighted, size, base, query_norms[q], doc_norms,
                             block_start, lowest_norm, highest_norm)
    return scores, indices


@njit(cache=True, inline="always")
def _score_rows(query, flat, first, size, words_per_plane, planes, shifts, weighted):
    """weighted[d] = sum_ij 2^(2u-i-j) popcount(q_i ^ d_j) for documents first .. first + size."""
    n_words = words_per_plane * planes
    for d in range(size):
        offset = (first + d) * n_words
        total = 0
        for i in range(planes):
            for j in range(planes):
                differing = 0
                for w in range(words_per_plane):
                    differing += popcount(query[i * words_per_plane + w] ^ flat[offset + j * words_per_plane + w])
                total += np.int64(differing) << shifts[i, j]
        weighted[d] = total


@njit(cache=True, inline="always")
def _score_block_direct(query, flat, first, size, words_per_plane, planes, shifts, weighted):
    """_score_rows with constant word counts for the usual layouts (128 to 1024 bits per plane at u = 0 or 1;
    3 planes of 64, 160 and 320 bits; 4 planes of 64 to 256 bits): the compiler unrolls the words and
    vectorises over documents, measured 1.5x to 2x faster at a batch of one. 160 bits are five 32-bit words,
    the others 64-bit words."""
    if planes == 1 and words_per_plane == 4:
        _score_rows(query, flat, first, size, 4, 1, shifts, weighted)
    elif planes == 1 and words_per_plane == 8:
        _score_rows(query, flat, first, size, 8, 1, shifts, weighted)
    elif planes == 1 and words_per_plane == 16:
        _score_rows(query, flat, first, size, 16, 1, shifts, weighted)
    elif planes == 2 and words_per_plane == 2:
        _score_rows(query, flat, first, size, 2, 2, shifts, weighted)
    elif planes == 2 and words_per_plane == 4:
        _score_rows(query, flat, first, size, 4, 2, shifts, weighted)
    elif planes == 2 and words_per_plane == 8:
        _score_rows(query, flat, first, size, 8, 2, shifts, weighted)
    elif planes == 3 and words_per_plane == 1:
        _score_rows(query, flat, first, size, 1, 3, shifts, weighted)
    elif planes == 3 and words_per_plane == 5:
        _score_rows(query, flat, first, size, 5, 3, shifts, weighted)
    elif planes == 4 and words_per_plane == 1:
        _score_rows(query, flat, first, size, 1, 4, shifts, weighted)
    elif planes == 4 and words_per_plane == 2:
        _score_rows(query, flat, first, size, 2, 4, shifts, weighted)
    elif planes == 4 and words_per_plane == 4:
        _score_rows(query, flat, first, size, 4, 4, shifts, weighted)
    elif planes == 4 and words_per_plane == 8:
        _score_rows(query, flat, first, size, 8, 4, shifts, weighted)
    else:
        _score_rows(query, flat, first, size, words_per_plane, planes, shifts, weighted)


@njit(cache=True)
def _empty_lists(chunks, n_queries, k):
    return (np.full((chunks, n_queries, k), -np.inf, dtype=np.float32),
            np.full((chunks, n_queries, k), -1, dtype=np.int64))


@njit(cache=True, inline="always")
def _offer_block(best, best_index, weighted, size, base, query_norm, doc_norms, block_start, lowest_norm, highest_norm):
    """Offer a block of documents. A document enters only if S / (|q| |d|) beats the k-th cosine t, which needs
    S >= t |q| |d| >= t |q| times the lowest or highest norm of the index, whichever is smaller: one integer
    bound on the weighted popcounts for the whole block, checked in one vectorised loop, no norm read (the
    threshold only rises, so a bound from the block's first threshold lets no entrant by)."""
    threshold = np.float64(best[len(best) - 1]) * query_norm
    if threshold == -np.inf:  # the list is not full yet: every document is a candidate
        most = np.int64(np.iinfo(np.int64).max)
    else:
        limit = min(threshold * lowest_norm, threshold * highest_norm)
        limit -= abs(limit) * BOUND_SLACK
        most = np.int64(np.floor((base - limit) / 2.0))  # weighted <= most  <=>  S = base - 2 weighted >= limit
    candidates = 0
    for d in range(size):
        candidates += weighted[d] <= most
    if candidates == 0:  # the usual case once the list has filled: no scalar pass over the block
        return
    for d in range(size):
        if weighted[d] <= most:
            _offer(best, best_index, base - 2 * weighted[d], query_norm, doc_norms[block_start + d], block_start + d)


@njit(cache=True, inline="always")
def _offer(best, best_index, total, query_norm, doc_norm, index):
    """Enter document `index` of score S = total if its cosine beats the k-th: a cheap bound first."""
    threshold = best[len(best) - 1]
    bound = threshold * query_norm * doc_norm
    if np.float32(total) < bound - abs(bound) * BOUND_SLACK:
        return
    cosine = np.float32(total) / (query_norm * doc_norm)
    if cosine > threshold:
        _insert(best, best_index, cosine, index)


@njit(cache=True)
def _insert(best, best_index, score, index):
    """Into a list sorted by descending score: after every equal score (those have lower indices)."""
    slot = len(best) - 1
    while slot > 0 and best[slot - 1] < score:
        best[slot], best_index[slot] = best[slot - 1], best_index[slot - 1]
        slot -= 1
    best[slot], best_index[slot] = score, index


def _merge(scores: np.ndarray, indices: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """[chunks, Q, k] -> [Q, k]: descending score, then lower index; unfilled slots (index -1) last."""
    if scores.shape[0] == 1:
        return scores[0], indices[0]
    scores = np.moveaxis(scores, 0, 1).reshape(scores.shape[1], -1)
    indices = np.moveaxis(indices, 0, 1).reshape(indices.shape[1], -1)
    missing = indices < 0
    order = np.lexsort((np.where(missing, np.iinfo(np.int64).max, indices), -scores), axis=-1)[:, :k]
    return np.take_along_axis(scores, order, axis=-1), np.take_along_axis(indices, order, axis=-1)
