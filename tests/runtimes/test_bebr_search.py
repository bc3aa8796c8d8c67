"""rapid::BinarySearch: the reference against an independent reading of the contract, and the numba fast
path and the native op in ONNX Runtime against the reference, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtimes.binary_search_session import BinarySearchSession, binary_search_graph
from runtimes.native_ops import session_options
from runtimes.ops.bebr_numba import binary_search_numba
from runtimes.ops.bebr_reference import binary_search_reference, sdc_scores
from runtimes.ops.bebr_spec import (MAX_K, CodeError, CodeLayout, NormRange, code_norms, decoded_levels, pack_signs,
                                    popcount, unpack_signs)

#: the kernel's specialised word counts (256 to 1024 bits x 1 plane; 128 to 512 bits x 2; 64, 160, 320 bits x 3; 64
#: to 512 bits x 4) and general ones (96 x 3, 32 x 1, 2048 x 1)
LAYOUTS = [CodeLayout(256, 1), CodeLayout(512, 1), CodeLayout(1024, 1), CodeLayout(128, 2), CodeLayout(256, 2),
           CodeLayout(512, 2), CodeLayout(128, 4), CodeLayout(256, 4), CodeLayout(512, 4), CodeLayout(96, 3), CodeLayout(64, 4),
           CodeLayout(64, 3), CodeLayout(160, 3), CodeLayout(320, 3), CodeLayout(32, 1), CodeLayout(2048, 1)]


def test_popcount_counts_every_set_bit_without_numpy_2():
    """The reference's popcount (numpy 1.26 has no bitwise_count) against a count of the bits one by one."""
    words = np.random.default_rng(3).integers(0, 2**32, size=(4, 3, 5), dtype=np.uint32)
    words[0, 0, :3] = [0, 0xFFFFFFFF, 1 << 31]
    by_bit = sum((words >> shift) & 1 for shift in range(32)).astype(np.int64)
    assert popcount(words).shape == words.shape and (popcount(words) == by_bit).all()
    assert popcount(words)[0, 0, :3].tolist() == [0, 32, 1]
    assert (popcount(words[:, ::2, 1:4]) == by_bit[:, ::2, 1:4]).all()  # a strided view


def random_codes(rng, count: int, layout: CodeLayout) -> np.ndarray:
    return pack_signs(rng.standard_normal((count, layout.planes, layout.bits)), layout)


def corpus(rng, layout: CodeLayout, documents: int = 3000, queries: int = 5):
    """Documents with runs of duplicates (tied scores) and queries that equal some documents."""
    docs = random_codes(rng, documents, layout)
    last = documents - 1
    docs[documents // 15: documents // 10] = docs[7]
    docs[documents // 2: documents // 2 + 5] = docs[last]
    queries_codes = random_codes(rng, queries, layout)
    queries_codes[0], queries_codes[-1] = docs[7], docs[last]
    return queries_codes, code_norms(queries_codes, layout), docs, code_norms(docs, layout)


def test_pack_unpack_round_trip_and_sign_of_zero():
    layout = CodeLayout(64, 2)
    values = np.random.default_rng(0).standard_normal((3, 2, 64))
    values[0, 1, 5] = 0.0
    signs = unpack_signs(pack_signs(values, layout), layout)
    np.testing.assert_array_equal(signs, np.where(values >= 0, 1, -1))
    assert signs[0, 1, 5] == 1
    # bit j of plane i is bit j % 32 of word i * m / 32 + j // 32, LSB first
    one = np.full((1, 2, 64), -1.0)
    one[0, 1, 33] = 1.0
    words = pack_signs(one, layout).view(np.uint32)
    assert words.tolist() == [[0, 0, 0, 2]]


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_reference_score_is_the_inner_product_of_decoded_codes(layout):
    rng = np.random.default_rng(1)
    queries, query_norms, docs, doc_norms = corpus(rng, layout, documents=400)
    levels_q, levels_d = decoded_levels(queries, layout), decoded_levels(docs, layout)
    for q in range(len(queries)):
        np.testing.assert_array_equal(sdc_scores(queries[q], docs, layout), levels_d @ levels_q[q])
    # the norm is sqrt(S(c, c)) from the popcount formula too
    self_scores = np.array([sdc_scores(c, c[None], layout)[0] for c in docs])
    np.testing.assert_array_equal(doc_norms, np.sqrt(self_scores.astype(np.float32)))
    scores, indices = binary_search_reference(queries, query_norms, docs, doc_norms, layout, 10)
    cosine = (levels_q @ levels_d.T) / np.outer(np.linalg.norm(levels_q, axis=1), np.linalg.norm(levels_d, axis=1))
    np.testing.assert_allclose(scores, np.take_along_axis(cosine, indices, axis=1), rtol=2e-7)
    assert (np.diff(scores, axis=1) <= 0).all()
    assert scores[0, 0] == pytest.approx(1.0) and indices[0, 0] == 7


def test_ties_go_to_the_lower_index():
    layout = CodeLayout(32, 1)
    docs = random_codes(np.random.default_rng(2), 50, layout)
    docs[[3, 17, 40]] = docs[9]
    _, indices = binary_search_reference(docs[9:10], code_norms(docs[9:10], layout), docs, code_norms(docs, layout), layout, 4)
    assert indices[0].tolist() == [3, 9, 17, 40]


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("queries", [1, 3, 4, 9])  # both of the kernel's paths (direct below 4 queries)
@pytest.mark.parametrize("threads", [1, 3])
def test_numba_matches_reference_bit_for_bit(layout, queries, threads):
    rng = np.random.default_rng(queries * 10 + threads)
    arrays = corpus(rng, layout, queries=queries)
    for k in (1, 10, 37):
        expected = binary_search_reference(*arrays, layout, k)
        actual = binary_search_numba(*arrays, layout, k, threads=threads)
        np.testing.assert_array_equal(actual[1], expected[1])
        np.testing.assert_array_equal(actual[0], expected[0])
        # as an index searches: the norms' range kept from when they entered it
        kept = binary_search_numba(*arrays, layout, k, threads=threads, doc_norm_range=NormRange.of(arrays[3]))
        np.testing.assert_array_equal(kept[1], expected[1])


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.sampled_from([32, 64, 96]), st.integers(1, 600),
       st.integers(1, 6), st.integers(1, 3))
@pytest.mark.parametrize("search", ["numba", "onnxruntime"])
def test_fast_paths_match_reference_on_few_distinct_codes(search, seed, planes, bits, documents, queries, distinct_bits):
    """Codes that differ in a few bits only: scores tie everywhere, the case where orders part ways."""
    layout = CodeLayout(bits, planes)
    rng = np.random.default_rng(seed)
    values = np.ones((documents + queries, planes, bits))
    values[..., :distinct_bits] = rng.choice([-1.0, 1.0], size=(documents + queries, planes, distinct_bits))
    codes = pack_signs(values, layout)
    docs, query_codes = codes[:documents], codes[documents:]
    arrays = (query_codes, code_norms(query_codes, layout), docs, code_norms(docs, layout))
    k = int(rng.integers(1, documents + 1))
    expected = binary_search_reference(*arrays, layout, k)
    fast = binary_search_numba if search == "numba" else binary_search_onnxruntime
    actual = fast(*arrays, layout, k, threads=int(rng.integers(1, 4)))
    np.testing.assert_array_equal(actual[1], expected[1])
    np.testing.assert_array_equal(actual[0], expected[0])


def binary_search_onnxruntime(query_codes, query_norms, doc_codes, doc_norms, layout, k, threads=None):
    """The rapid::BinarySearch node in an ONNX Runtime session (the native op library's CPU kernel)."""
    return BinarySearchSession(doc_codes, doc_norms, layout, k, threads).search(query_codes, query_norms)


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("threads", [1, 2])
def test_native_op_in_onnxruntime_matches_reference_bit_for_bit(layout, threads):
    arrays = corpus(np.random.default_rng(threads), layout, queries=6)
    for k in (1, 10, 37):
        expected = binary_search_reference(*arrays, layout, k)
        actual = binary_search_onnxruntime(*arrays, layout, k, threads)
        np.testing.assert_array_equal(actual[1], expected[1])
        np.testing.assert_array_equal(actual[0], expected[0])


@pytest.mark.parametrize("documents, queries, k", [(70_000, 3, 100), (5_000, 2, MAX_K), (40_000, 1, 1)],
                         ids=["ranges-merged", "largest-k", "one-query"])
def test_native_op_merges_document_ranges_exactly(documents, queries, k):
    """Many documents (searched in ranges on every thread, then merged), k at TensorRT's limit, a lone query."""
    layout = CodeLayout(64, 2)
    arrays = corpus(np.random.default_rng(documents), layout, documents=documents, queries=queries)
    expected = binary_search_reference(*arrays, layout, k)
    actual = binary_search_onnxruntime(*arrays, layout, k, threads=2)
    np.testing.assert_array_equal(actual[1], expected[1])
    np.testing.assert_array_equal(actual[0], expected[0])


def test_the_native_op_refuses_bad_inputs_naming_them():
    """What the op itself checks when a graph feeds it directly (no Python check in front)."""
    import onnxruntime as ort

    layout, k = CodeLayout(64, 2), 5
    session = ort.InferenceSession(binary_search_graph(layout, k).SerializeToString(), session_options(),
                                   providers=["CPUExecutionProvider"])
    queries, query_norms, docs, doc_norms = corpus(np.random.default_rng(4), layout, documents=20, queries=2)
    feed = {"query_codes": queries, "query_norms": query_norms, "doc_codes": docs, "doc_norms": doc_norms}
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument, match=r"k = 5 is larger than the index \(3"):
        session.run(None, {**feed, "doc_codes": docs[:3], "doc_norms": doc_norms[:3]})
    bad_norms = doc_norms.copy()
    bad_norms[4] = np.nan
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument, match=r"document norm must be finite.*entry 4"):
        session.run(None, {**feed, "doc_norms": bad_norms})
    with pytest.raises(ort.capi.onnxruntime_pybind11_state.InvalidArgument, match="one norm per code"):
        session.run(None, {**feed, "query_norms": query_norms[:1]})


@pytest.mark.parametrize("search", [binary_search_reference, binary_search_numba, binary_search_onnxruntime])
def test_bad_requests_fail_naming_the_problem(search):
    layout = CodeLayout(64, 2)
    queries, query_norms, docs, doc_norms = corpus(np.random.default_rng(3), layout, documents=20, queries=2)
    with pytest.raises(CodeError, match="larger than the index"):
        search(queries, query_norms, docs, doc_norms, layout, 21)
    with pytest.raises(CodeError, match="empty"):
        search(queries, query_norms, docs[:0], doc_norms[:0], layout, 1)
    with pytest.raises(CodeError, match=f"1..{MAX_K}"):
        search(queries, query_norms, docs, doc_norms, layout, 0)
    with pytest.raises(CodeError, match=r"expected \[N, 4\]"):
        search(queries[:, :3], query_norms, docs, doc_norms, layout, 1)
    with pytest.raises(CodeError, match="int32 words"):
        search(queries.astype(np.float32), query_norms, docs, doc_norms, layout, 1)
    bad_norms = doc_norms.copy()
    bad_norms[4] = np.nan
    with pytest.raises(CodeError, match="finite and positive"):
        search(queries, query_norms, docs, bad_norms, layout, 1)


@pytest.mark.parametrize("bits, planes", [(0, 1), (48, 1), (64, 0), (64, 5), (8192, 1)])
def test_unsupported_layouts_are_refused(bits, planes):
    with pytest.raises(CodeError):
        CodeLayout(bits, planes)


def test_layout_for_a_byte_budget():
    assert CodeLayout.for_budget(128, 2) == CodeLayout(512, 2)
    assert CodeLayout.for_budget(64, 3) == CodeLayout(160, 3)  # 60 of the 64 bytes: bits come in words of 32
    assert CodeLayout.for_budget(64, 3).code_bytes == 60
