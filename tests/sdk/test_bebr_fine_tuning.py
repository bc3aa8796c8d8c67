"""Fine-tuning a binarizer from a start, and early stopping on a validation part carved from the pairs: the
result is the best epoch's weights (the start when training never beats it), its scores are the search's."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from runtimes.ops.bebr_numba import binary_search_numba
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.checkpoint import OPTIMIZER
from sdk.retrieval.training import (BEST, best_epoch, epoch_order, load_binarizer, split_validation, train_binarizer,
                                    validation_scores)

from bebr_data import synthetic_pairs

LINEAR = BinarizerConfig(dim=32, bits=64, planes=2, hidden=0)
STOPPING = dict(validation_fraction=0.2, patience=2, hard_negatives=4)


@pytest.fixture(scope="module")
def pairs():
    return TrainingData(*synthetic_pairs(1500, seed=11))


@pytest.fixture(scope="module")
def start(tmp_path_factory, pairs):
    """A binarizer trained on other pairs of the same task, a few epochs."""
    folder = tmp_path_factory.mktemp("start")
    other = TrainingData(*synthetic_pairs(1500, seed=12))
    train_binarizer(other, folder, LINEAR, BinarizerTraining(epochs=3, batch_size=256, hard_negatives=4), progress=False)
    return folder


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_a_run_that_never_beats_its_start_returns_the_start(tmp_path, pairs, start):
    """With no learning the scores never rise: epoch 0 wins, training stops after `patience` epochs."""
    frozen = BinarizerTraining(epochs=10, batch_size=256, learning_rate=0.0, **STOPPING)
    train_binarizer(pairs, tmp_path, None, frozen, progress=False, start=start)
    record = json.loads((tmp_path / "config.json").read_text())["training"]
    assert [entry["epoch"] for entry in record["history"]] == [0, 1, 2]
    assert record["result"]["epoch"] == 0 and not (tmp_path / BEST).exists()
    begun, ended = weights(start), weights(tmp_path)
    assert all(torch.equal(begun[name], ended[name]) for name in begun)


def test_the_result_is_the_best_epoch_and_its_scores_are_the_searchs(tmp_path, pairs, start):
    settings = BinarizerTraining(epochs=8, batch_size=128, learning_rate=3e-3, **STOPPING)
    train_binarizer(pairs, tmp_path, None, settings, progress=False, start=start)
    record = json.loads((tmp_path / "config.json").read_text())["training"]
    history, result = record["history"], record["result"]
    assert result["epoch"] == best_epoch(history)
    assert result["score"] == max(entry["validation"]["score"] for entry in history)
    assert result["score"] > history[0]["validation"]["score"]  # fine-tuning on the task's pairs helps
    training, part = split_validation(pairs, settings)
    model = load_binarizer(tmp_path)
    assert validation_scores(model, part, "cpu", training.docs) == {
        key: result[key] for key in ("recall@1", "recall@10", "mrr", "score")}
    searched = np.concatenate([part.docs, training.docs])  # the training documents are searched, never the answer
    with torch.no_grad():
        (query_codes, query_norms), (doc_codes, doc_norms) = (model.encode(torch.from_numpy(v)) for v in (part.queries, searched))
    _, found = binary_search_numba(query_codes.numpy(), query_norms.numpy(), doc_codes.numpy(), doc_norms.numpy(),
                                   model.config.layout, len(searched))
    ranks = np.argmax(found == np.arange(len(found))[:, None], axis=1)
    close = dict(abs=1.5 / len(ranks))  # the kernel's float32 norms may order a near tie the other way
    assert result["recall@1"] == pytest.approx(float((ranks < 1).mean()), **close)
    assert result["recall@10"] == pytest.approx(float((ranks < 10).mean()), **close)
    assert result["mrr"] == pytest.approx(float((1.0 / (ranks + 1)).mean()), **close)
    assert result["score"] == result["mrr"] and result["mrr"] < validation_scores(model, part, "cpu")["mrr"]


def test_the_validation_part_is_kept_out_of_training_and_drawn_by_the_seed(pairs):
    settings = BinarizerTraining(validation_fraction=0.1)
    training, part = split_validation(pairs, settings)
    assert (len(training), len(part)) == (1350, 150)
    together = np.concatenate([training.queries, part.queries])
    assert len(np.unique(together, axis=0)) == len(pairs)
    again = split_validation(pairs, settings)[1]
    other = split_validation(pairs, BinarizerTraining(validation_fraction=0.1, seed=1))[1]
    assert np.array_equal(again.queries, part.queries) and not np.array_equal(other.queries, part.queries)
    assert split_validation(pairs, BinarizerTraining())[1] is None


def test_vectors_mode_stops_on_overlap_with_float_search(tmp_path):
    vectors = TrainingData(synthetic_pairs(800, seed=13)[0])
    settings = BinarizerTraining(epochs=2, batch_size=128, init="pca", learning_rate=1e-4, validation_fraction=0.25)
    train_binarizer(vectors, tmp_path, LINEAR, settings, progress=False)
    result = json.loads((tmp_path / "config.json").read_text())["training"]["result"]
    assert set(result) == {"epoch", "overlap@10", "score"} and 0.3 < result["overlap@10"] <= 1.0


def test_small_tasks_train_in_one_batch_and_bad_requests_fail_naming_the_problem(tmp_path, pairs, start):
    few = pairs.rows(np.arange(100))
    train_binarizer(few, tmp_path / "few", None, BinarizerTraining(epochs=1, batch_size=512, hard_negatives=4),
                    progress=False, start=start)
    assert json.loads((tmp_path / "few" / "config.json").read_text())["training"]["history"][0]["epoch"] == 1
    with pytest.raises(ValueError, match="too few"):
        train_binarizer(pairs.rows(np.arange(4)), tmp_path / "x", None, BinarizerTraining(epochs=1, hard_negatives=4),
                        progress=False, start=start)
    with pytest.raises(ValueError, match="too small to stop on"):
        train_binarizer(few, tmp_path / "x", None, BinarizerTraining(validation_fraction=0.1, hard_negatives=4),
                        progress=False, start=start)
    with pytest.raises(ValueError, match="fine-tuning keeps its shape"):
        train_binarizer(pairs, tmp_path / "x", BinarizerConfig(dim=32, bits=128, planes=2, hidden=0), BinarizerTraining(),
                        progress=False, start=start)
    with pytest.raises(ValueError, match="give one"):
        train_binarizer(pairs, tmp_path / "x", None, BinarizerTraining(init="pca"), progress=False, start=start)
    with pytest.raises(ValueError, match="validation_fraction"):
        BinarizerTraining(validation_fraction=1.0)


def steps_taken(folder) -> int:
    return int(load_file(str(folder / OPTIMIZER))["0.step"])


def test_an_epoch_takes_at_least_min_steps_and_a_large_set_trains_as_before(tmp_path, pairs, start):
    few = pairs.rows(np.arange(200))  # one batch of 200
    for minimum in (1, 5):
        settings = BinarizerTraining(epochs=2, batch_size=512, hard_negatives=4, min_steps_per_epoch=minimum)
        train_binarizer(few, tmp_path / f"few-{minimum}", None, settings, progress=False, start=start)
        assert steps_taken(tmp_path / f"few-{minimum}") == 2 * minimum
    for minimum in (1, 3):  # 1,500 rows are 5 batches of 256: a minimum below that changes nothing
        settings = BinarizerTraining(epochs=1, batch_size=256, hard_negatives=4, min_steps_per_epoch=minimum)
        train_binarizer(pairs, tmp_path / f"many-{minimum}", None, settings, progress=False, start=start)
    assert steps_taken(tmp_path / "many-3") == 5
    assert all(torch.equal(a, b) for a, b in zip(weights(tmp_path / "many-1").values(), weights(tmp_path / "many-3").values()))
    order = epoch_order(10, 25, seed=0, epoch=1)
    assert len(order) == 30 and np.array_equal(np.bincount(order), np.full(10, 3))
    assert np.array_equal(order[:10], np.random.default_rng([0, 1]).permutation(10))
    with pytest.raises(ValueError, match="min_steps_per_epoch"):
        BinarizerTraining(min_steps_per_epoch=0)


def test_the_cli_fine_tunes_the_shipped_default_on_pairs_by_default(tmp_path, capsys):
    from sdk.cli.main import main
    from sdk.retrieval.settings import RECIPES
    from sdk.shipped import default_checkpoint

    queries, docs = synthetic_pairs(600, seed=14, dim=384)
    np.savez(tmp_path / "pairs.npz", queries=queries, docs=docs)
    assert main(["bebr", "train", "--pairs", str(tmp_path / "pairs.npz"), "--out", str(tmp_path / "pkg"), "--epochs", "2",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["started_from"] == str(default_checkpoint("bebr"))
    assert load_binarizer(tmp_path / "pkg" / "checkpoint").config == load_binarizer(default_checkpoint("bebr")).config
    assert [entry["epoch"] for entry in report["history"]][0] == 0
    assert report["result"]["epoch"] == best_epoch(report["history"])
    record = json.loads((tmp_path / "pkg" / "checkpoint" / "config.json").read_text())["training"]
    assert record["validation_fraction"] == RECIPES["pairs"].training.validation_fraction  # the recipe, not the flags'
    assert record["learning_rate"] == RECIPES["pairs"].training.learning_rate and record["epochs"] == 2

    narrow = tmp_path / "narrow.npz"
    np.savez(narrow, queries=queries[:, :32], docs=docs[:, :32])
    cases = [(["--pairs", str(narrow)], "give --start none"),
             (["--pairs", str(tmp_path / "pairs.npz"), "--bits", "512"], "fine-tuning keeps its shape")]
    for extra, message in cases:
        assert main(["bebr", "train", *extra, "--out", str(tmp_path / "bad")]) == 2
        assert message in capsys.readouterr().err


def test_the_cli_help_names_each_modes_default():
    from sdk.cli.bebr import _recipe_defaults
    from sdk.retrieval.settings import RECIPES

    pairs, vectors = RECIPES["pairs"], RECIPES["vectors"]
    assert _recipe_defaults("learning_rate") == (f" (default: vectors {vectors.training.learning_rate}, "
                                                 f"pairs {pairs.training.learning_rate})")
    assert _recipe_defaults("start") == " (default: vectors none, pairs default)"
    assert _recipe_defaults("bits") == f" (default: vectors {vectors.config.bits}, pairs the start's)"


def test_the_cli_trains_the_task_agnostic_recipe_on_vectors_by_default(tmp_path):
    from sdk.cli.main import main
    from sdk.retrieval.settings import RECIPES

    np.save(tmp_path / "vectors.npy", synthetic_pairs(600, seed=15)[0])
    assert main(["bebr", "train", "--vectors", str(tmp_path / "vectors.npy"), "--out", str(tmp_path / "pkg")]) == 0
    record = json.loads((tmp_path / "pkg" / "checkpoint" / "config.json").read_text())
    recipe = RECIPES["vectors"]
    assert {k: record["model"][k] for k in ("bits", "planes", "hidden")} == {
        "bits": recipe.config.bits, "planes": recipe.config.planes, "hidden": recipe.config.hidden}
    assert record["model"]["dim"] == 32 and record["training"]["init"] == recipe.training.init
    assert record["training"]["epochs_done"] == recipe.training.epochs and "result" not in record["training"]


def test_the_pairs_recipe_is_the_one_its_protocol_chose():
    from pathlib import Path

    from sdk.retrieval.settings import RECIPES

    results = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "bebr_task_tuning.json"
    chosen = json.loads(results.read_text())["recipe"]
    training = RECIPES["pairs"].training
    assert {name: getattr(training, name) for name in chosen} == chosen
