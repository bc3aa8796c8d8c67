"""The BEBR index: build, add, remove, save atomically, load memory-mapped; versions; bad files fail at once."""
from __future__ import annotations

import json
import mmap
import os

import numpy as np
import pytest

from runtimes.bebr_index import MAGIC, BinaryIndex, CodeVersionError, IndexFileError, IndexInfo
from runtimes.embeddings import EmbeddingError, check_embeddings, load_embeddings
from runtimes.ops.bebr_reference import binary_search_reference
from runtimes.ops.bebr_spec import CodeError, CodeLayout, code_norms, pack_signs

LAYOUT = CodeLayout(64, 2)
VERSION = "bebr-test-0001"


def codes(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    values = np.random.default_rng(seed).standard_normal((count, LAYOUT.planes, LAYOUT.bits))
    packed = pack_signs(values, LAYOUT)
    return packed, code_norms(packed, LAYOUT)


@pytest.fixture
def index():
    docs, norms = codes(300)
    return BinaryIndex(IndexInfo(LAYOUT, VERSION, "ab" * 32), docs, norms, np.arange(1000, 1300))


def file_backed(array: np.ndarray) -> bool:
    """Whether an array's memory is a mapped file (some base of it is an mmap)."""
    while array is not None:
        if isinstance(array, mmap.mmap):
            return True
        array = getattr(array, "base", None)
    return False


def test_search_maps_rows_to_ids(index):
    queries, query_norms = codes(4, seed=1)
    ids, scores = index.search(queries, query_norms, 7, VERSION)
    expected_scores, rows = binary_search_reference(queries, query_norms, index.codes, index.norms, LAYOUT, 7)
    np.testing.assert_array_equal(ids, index.ids[rows])
    np.testing.assert_array_equal(scores, expected_scores)


def test_add_and_remove_by_id(index):
    extra, extra_norms = codes(5, seed=2)
    index.add(extra, extra_norms)
    assert index.ids[-5:].tolist() == list(range(1300, 1305))
    ids, _ = index.search(extra[:1], extra_norms[:1], 1, VERSION)
    assert ids[0, 0] == 1300
    index.remove([1300, 1000])
    assert len(index) == 303 and 1300 not in index.ids and 1000 not in index.ids
    ids, _ = index.search(extra[:1], extra_norms[:1], 1, VERSION)
    assert ids[0, 0] != 1300
    with pytest.raises(CodeError, match="not in the index: \\[1300\\]"):
        index.remove([1301, 1300])
    assert len(index) == 303  # nothing removed when one id is missing
    with pytest.raises(CodeError, match="already in the index"):
        index.add(extra[1:2], extra_norms[1:2], [1001])


def test_save_and_load_memory_mapped(tmp_path, index):
    index.declare_compatible("bebr-newer-0002")
    path = index.save(tmp_path / "docs.bebr")
    loaded = BinaryIndex.load(path)
    assert all(file_backed(a) for a in (loaded.codes, loaded.norms, loaded.ids))
    np.testing.assert_array_equal(loaded.codes, index.codes)
    np.testing.assert_array_equal(loaded.norms, index.norms)
    np.testing.assert_array_equal(loaded.ids, index.ids)
    assert loaded.info == index.info
    queries, query_norms = codes(3, seed=3)
    for version in (VERSION, "bebr-newer-0002"):
        np.testing.assert_array_equal(loaded.search(queries, query_norms, 5, version)[0],
                                      index.search(queries, query_norms, 5, version)[0])
    # changing a loaded index copies: the file is not written through the map
    loaded.remove([1000])
    assert len(BinaryIndex.load(path)) == 300


def test_an_empty_index_saves_loads_and_refuses_to_search(tmp_path):
    empty = BinaryIndex(IndexInfo(LAYOUT, VERSION))
    loaded = BinaryIndex.load(empty.save(tmp_path / "empty.bebr"))
    assert len(loaded) == 0
    queries, query_norms = codes(1)
    with pytest.raises(CodeError, match="empty"):
        loaded.search(queries, query_norms, 1, VERSION)


def test_queries_of_another_version_are_refused_unless_declared(index):
    queries, query_norms = codes(2, seed=4)
    with pytest.raises(CodeVersionError, match="bebr-other"):
        index.search(queries, query_norms, 3, "bebr-other")
    index.declare_compatible("bebr-other")
    assert index.search(queries, query_norms, 3, "bebr-other")[0].shape == (2, 3)


def test_k_larger_than_the_index_is_refused(index):
    queries, query_norms = codes(1)
    with pytest.raises(CodeError, match="larger than the index"):
        index.search(queries, query_norms, 301, VERSION)


def corrupt(path, offset: int, data: bytes) -> None:
    with path.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def test_damaged_truncated_and_foreign_files_fail_naming_the_file(tmp_path, index):
    path = index.save(tmp_path / "docs.bebr")
    good = path.read_bytes()

    (tmp_path / "foreign.bebr").write_bytes(b"PK\x03\x04" + good[4:])
    with pytest.raises(IndexFileError, match="foreign.bebr.*signature"):
        BinaryIndex.load(tmp_path / "foreign.bebr")

    (tmp_path / "short.bebr").write_bytes(good[:-100])
    with pytest.raises(IndexFileError, match="short.bebr: truncated"):
        BinaryIndex.load(tmp_path / "short.bebr")

    (tmp_path / "stub.bebr").write_bytes(good[:20])
    with pytest.raises(IndexFileError, match="stub.bebr: truncated inside its header"):
        BinaryIndex.load(tmp_path / "stub.bebr")

    flipped = tmp_path / "flipped.bebr"
    flipped.write_bytes(good)
    corrupt(flipped, len(good) - 8 * 300 - 30, b"\xff")
    with pytest.raises(IndexFileError, match="flipped.bebr: payload sha256"):
        BinaryIndex.load(flipped)

    header = tmp_path / "header.bebr"
    header.write_bytes(good)
    corrupt(header, 12, b"#")
    with pytest.raises(IndexFileError, match="header.bebr: damaged header"):
        BinaryIndex.load(header)

    with pytest.raises(IndexFileError, match="no such index file"):
        BinaryIndex.load(tmp_path / "absent.bebr")


def test_other_format_versions_are_refused(tmp_path, index):
    path = index.save(tmp_path / "docs.bebr")
    data = bytearray(path.read_bytes())
    data[:] = data.replace(b'"format_version": 1', b'"format_version": 9')
    path.write_bytes(bytes(data))
    with pytest.raises(IndexFileError, match="format version 9"):
        BinaryIndex.load(path)


def test_an_interrupted_save_leaves_the_previous_index(tmp_path, index, monkeypatch):
    path = index.save(tmp_path / "docs.bebr")
    before = path.read_bytes()
    index.remove([1000, 1001])

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        index.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["docs.bebr"]  # no partial file left behind
    assert MAGIC == before[:8]


def test_embedding_checks_name_the_problem(tmp_path):
    good = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    assert check_embeddings(good.astype(np.float16), "x").dtype == np.float32
    bad = good.copy()
    bad[3, 2] = np.nan
    with pytest.raises(EmbeddingError, match="row 3 holds NaN"):
        check_embeddings(bad, "x")
    bad = good.copy()
    bad[1] = 0
    with pytest.raises(EmbeddingError, match="row 1 is a zero vector"):
        check_embeddings(bad, "x")
    with pytest.raises(EmbeddingError, match="dimension 8, expected 384"):
        check_embeddings(good, "x", dim=384)
    np.save(tmp_path / "ints.npy", np.ones((3, 4), dtype=np.int64))
    with pytest.raises(EmbeddingError, match="ints.npy: expected float16 or float32"):
        load_embeddings(tmp_path / "ints.npy")
    (tmp_path / "junk.npy").write_text("not numpy")
    with pytest.raises(EmbeddingError, match="junk.npy: not a NumPy"):
        load_embeddings(tmp_path / "junk.npy")
    with pytest.raises(EmbeddingError, match="no such file"):
        load_embeddings(tmp_path / "absent.npy")
    assert json.dumps(load_embeddings(_saved(tmp_path, good)).shape) == "[5, 8]"


def _saved(folder, array):
    np.save(folder / "good.npy", array)
    return folder / "good.npy"
