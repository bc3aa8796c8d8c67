"""`rapid-edge bebr` train -> index -> search -> declare, and Pipeline("bebr") over a stream with bad items."""
from __future__ import annotations

import json

import numpy as np
import pytest

from runtimes.bebr_index import BinaryIndex, CodeVersionError
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.ops.bebr_numba import binary_search_numba
from runtimes.package import load_package
from sdk.cli.main import main
from sdk.retrieval.steps import BinarizerInfo, encode_all
from bebr_data import synthetic_pairs

TRAIN = ["--start", "none", "--bits", "64", "--planes", "2", "--hidden", "64", "--dropout", "0", "--epochs", "3", "--batch-size", "256",
         "--learning-rate", "0.005", "--hard-negatives", "4"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Two binarizers of one layout (different seeds) trained by the CLI, and an index of the first."""
    folder = tmp_path_factory.mktemp("bebr")
    queries, docs = synthetic_pairs(2048, seed=0)
    np.savez(folder / "pairs.npz", queries=queries, docs=docs)
    test_queries, test_docs = synthetic_pairs(300, seed=1)
    np.save(folder / "queries.npy", test_queries)
    np.save(folder / "docs.npy", test_docs.astype(np.float16))
    for name, seed in (("first", "0"), ("second", "5")):
        assert main(["bebr", "train", "--pairs", str(folder / "pairs.npz"), "--out", str(folder / name), *TRAIN,
                     "--seed", seed]) == 0
    assert main(["bebr", "index", str(folder / "first"), "--embeddings", str(folder / "docs.npy"),
                 "--out", str(folder / "docs.bebr")]) == 0
    return folder


def direct_search(package_folder, index: BinaryIndex, queries: np.ndarray, k: int):
    package = load_package(package_folder)
    with OnnxRuntimeRunner(package) as runner:
        codes, norms = encode_all(runner, queries, BinarizerInfo.of(package).dim)
    scores, rows = binary_search_numba(codes, norms, index.codes, index.norms, index.layout, k)
    return index.ids[rows], scores


def test_train_writes_a_package_with_its_checkpoint(workspace):
    package = load_package(workspace / "first")
    info = BinarizerInfo.of(package)
    assert info.layout.bits == 64 and info.layout.planes == 2 and info.dim == 32
    assert (workspace / "first" / "checkpoint" / "model.safetensors").is_file()
    assert not (workspace / "first" / "checkpoint" / "optimizer.safetensors").exists()
    assert json.loads((workspace / "first" / "parity.json").read_text())["passed"]
    assert info.code_version != BinarizerInfo.of(load_package(workspace / "second")).code_version


@pytest.mark.parametrize("search_runtime", ["numba", "onnxruntime"])
def test_index_then_search_returns_the_kernels_answer(workspace, search_runtime, capsys):
    out = workspace / f"results-{search_runtime}.npz"
    assert main(["bebr", "search", str(workspace / "first"), str(workspace / "docs.bebr"), "--queries",
                 str(workspace / "queries.npy"), "--k", "5", "--out", str(out), "--search-runtime", search_runtime,
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)  # compilation is the warm-up's, before the timed search
    assert set(report["warmup_ms"]) == set(report["timings_ms"]) == {"encode", "search"}
    with np.load(out) as results:
        ids, scores = results["indices"], results["scores"]
    index = BinaryIndex.load(workspace / "docs.bebr")
    expected_ids, expected_scores = direct_search(workspace / "first", index, np.load(workspace / "queries.npy"), 5)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(scores, expected_scores)
    assert (ids[:, 0] == np.arange(300)).mean() > 0.3  # trained: the paired document often comes first (untrained: 1 in 300)


def test_the_warm_up_runs_both_of_the_kernel_s_search_paths(workspace, monkeypatch):
    """A few queries read the index directly, more transpose it: each compiles on first use, in the warm-up."""
    import runtimes.bebr_index
    from runtimes.ops.bebr_numba import TRANSPOSE_FROM_QUERIES

    from sdk.options import SearchOptions
    from sdk.pipeline import Pipeline

    batches = []
    monkeypatch.setattr(runtimes.bebr_index, "binary_search_numba", lambda codes, *args: batches.append(len(codes))
                        or binary_search_numba(codes, *args))
    with Pipeline("bebr", "onnxruntime-cpu", workspace / "first",
                  search=SearchOptions(index=workspace / "docs.bebr", k=5)) as pipeline:
        assert batches == [1, TRANSPOSE_FROM_QUERIES] and set(pipeline.warmup_timings) == {"encode", "search"}
        assert pipeline(np.load(workspace / "queries.npy")[0]).ids.shape == (5,)


def test_index_add_and_remove(workspace, tmp_path):
    path = tmp_path / "docs.bebr"
    assert main(["bebr", "index", str(workspace / "first"), "--embeddings", str(workspace / "docs.npy"), "--out", str(path)]) == 0
    assert main(["bebr", "index", str(workspace / "first"), "--embeddings", str(workspace / "docs.npy"), "--out", str(path),
                 "--add"]) == 0
    assert len(BinaryIndex.load(path)) == 600
    np.save(tmp_path / "gone.npy", np.arange(0, 600, 2))
    assert main(["bebr", "index", str(workspace / "first"), "--out", str(path), "--remove", str(tmp_path / "gone.npy")]) == 0
    assert BinaryIndex.load(path).ids.tolist() == list(range(1, 600, 2))


@pytest.mark.parametrize("search_runtime", ["numba", "onnxruntime"])
def test_pipeline_streams_embeddings_and_skips_bad_items(workspace, search_runtime):
    from sdk import Pipeline, SearchOptions

    queries = np.load(workspace / "queries.npy")[:40]
    stream = list(queries[:15]) + [np.full(32, np.nan, np.float32), np.ones(31, np.float32), np.zeros(32, np.float32)]
    stream += list(queries[15:])
    index = BinaryIndex.load(workspace / "docs.bebr")
    search = SearchOptions(index=index, k=3, runtime=search_runtime)
    with Pipeline("bebr", "onnxruntime-cpu", workspace / "first", search=search) as pipeline:
        run = pipeline.run(stream)
        results = list(run)
        summary = run.summary()
        batch = pipeline(queries[:7])
    assert len(results) == 40 and summary.frames_out == 40
    assert sum(summary.failed.values()) == 3 and summary.frames_in == 43
    expected_ids, expected_scores = direct_search(workspace / "first", index, queries, 3)
    np.testing.assert_array_equal(np.stack([r.ids for r in results]), expected_ids)
    np.testing.assert_array_equal(np.stack([r.scores for r in results]), expected_scores)
    assert {"encode", "search"} <= set(results[0].timings)
    np.testing.assert_array_equal(batch.ids, expected_ids[:7])


def test_another_binarizers_queries_are_refused_until_declared(workspace, tmp_path, capsys):
    index = tmp_path / "docs.bebr"
    index.write_bytes((workspace / "docs.bebr").read_bytes())
    search = ["bebr", "search", str(workspace / "second"), str(index), "--queries", str(workspace / "queries.npy"),
              "--out", str(tmp_path / "r.npz")]
    assert main(search) == 2
    assert "cannot search an index of" in capsys.readouterr().err
    assert main(["bebr", "declare", str(index), str(workspace / "second")]) == 2
    assert "was not trained compatible" in capsys.readouterr().err
    assert main(["bebr", "declare", str(index), str(workspace / "second"), "--force"]) == 0
    assert main(search) == 0
    from sdk import ModelOptions, Pipeline, SearchOptions

    with pytest.raises(CodeVersionError):
        Pipeline("bebr", package=workspace / "second", search=SearchOptions(index=workspace / "docs.bebr"),
                 model=ModelOptions(warmup=False)).open()


def test_bad_arguments_fail_with_a_message(workspace, tmp_path, capsys):
    np.save(tmp_path / "wide.npy", np.ones((3, 40), np.float32))
    cases = [
        (["bebr", "search", str(workspace / "first"), str(workspace / "docs.bebr"), "--queries", str(tmp_path / "wide.npy"),
          "--out", str(tmp_path / "r.npz")], "dimension 40, expected 32"),
        (["bebr", "search", str(workspace / "first"), str(workspace / "docs.bebr"), "--queries",
          str(workspace / "queries.npy"), "--k", "301", "--out", str(tmp_path / "r.npz")], "larger than the index"),
        (["bebr", "search", str(workspace / "first"), str(tmp_path / "absent.bebr"), "--queries",
          str(workspace / "queries.npy"), "--out", str(tmp_path / "r.npz")], "no such index file"),
        (["bebr", "index", str(tmp_path), "--embeddings", str(workspace / "docs.npy"), "--out", str(tmp_path / "x")],
         "not a model package"),
        (["bebr", "train", "--pairs", str(tmp_path / "absent.npz"), "--out", str(tmp_path / "p")], "no such file"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert message in capsys.readouterr().err, message


def test_a_binarizer_trained_compatible_is_declared_without_force(workspace, tmp_path):
    assert main(["bebr", "train", "--pairs", str(workspace / "pairs.npz"), "--out", str(tmp_path / "third"), *TRAIN,
                 "--seed", "9", "--epochs", "8", "--compatible-with", str(workspace / "first")]) == 0
    first, third = (BinarizerInfo.of(load_package(p)) for p in (workspace / "first", tmp_path / "third"))
    assert third.compatible_with == (first.code_version,)
    index = tmp_path / "docs.bebr"
    index.write_bytes((workspace / "docs.bebr").read_bytes())
    assert main(["bebr", "declare", str(index), str(tmp_path / "third")]) == 0
    from sdk import Pipeline, SearchOptions

    queries = np.load(workspace / "queries.npy")
    with Pipeline("bebr", "onnxruntime-cpu", tmp_path / "third", search=SearchOptions(index=index, k=1)) as pipeline:
        found = pipeline(queries).ids[:, 0]
    with Pipeline("bebr", "onnxruntime-cpu", workspace / "first", search=SearchOptions(index=index, k=1)) as pipeline:
        own = pipeline(queries).ids[:, 0]
    truth = np.arange(len(queries))
    assert (found == truth).mean() > 0.7 * (own == truth).mean()  # the old index serves the new queries


def test_an_unknown_search_runtime_is_refused_naming_the_choices(workspace):
    from sdk import SearchOptions

    with pytest.raises(ValueError, match=r"SearchOptions\(runtime=...\): 'faiss' is not one of numba, onnxruntime"):
        SearchOptions(index=workspace / "docs.bebr", runtime="faiss")
