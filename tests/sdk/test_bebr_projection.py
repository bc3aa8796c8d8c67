"""The binarizer's fitted start: a projection's residual code, what each later plane adds, the principal
directions it keeps, MLP blocks that start as the same linear code, and the trainer's --init."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sdk.cli.main import main
from sdk.retrieval.binarizer import Binarizer
from sdk.retrieval.projection import fit_projection, initialise
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.retrieval.training import load_binarizer, train_binarizer


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def code_levels(model: Binarizer, vectors: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.levels(model(torch.from_numpy(vectors))).numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (unit(a) * unit(b)).sum(axis=1)


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((1500, 64)).astype(np.float32)


def test_each_later_plane_brings_the_code_closer_to_the_projected_vector(vectors):
    projection = fit_projection(vectors, 64, "rotation")
    assert np.allclose(projection.T @ projection, np.eye(64), atol=1e-5)  # a rotation: nothing lost
    model = initialise(Binarizer(BinarizerConfig(dim=64, bits=64, planes=4, hidden=0)), projection).eval()
    with torch.no_grad():
        planes = model(torch.from_numpy(vectors)).numpy()
    projected = unit(vectors) @ projection
    np.testing.assert_array_equal(planes[:, 0], np.where(projected >= 0, 1.0, -1.0))  # plane 0: the signs
    closeness = [cosines(np.einsum("npm,p->nm", planes[:, :k], 2.0 ** -np.arange(k)), projected).mean()
                 for k in range(1, 5)]
    # about 0.80, 0.94, 0.98, 0.99: the 1, 2, 3 and 4-bit quantizers of a Gaussian coordinate
    assert closeness[0] < 0.82 and np.all(np.diff(closeness) > 0.005) and closeness[-1] > 0.99, closeness


def test_pca_keeps_the_directions_the_vectors_vary_in():
    rng = np.random.default_rng(1)
    basis = np.linalg.qr(rng.standard_normal((96, 96)))[0][:, :12]  # the vectors live in 12 of 96 dimensions
    vectors = (rng.standard_normal((800, 12)) @ basis.T).astype(np.float32)
    projection = fit_projection(vectors, 32, "pca")
    kept = projection @ np.linalg.pinv(projection)  # the projector onto the directions the code sees
    np.testing.assert_allclose(kept @ basis, basis, atol=1e-4)
    assert np.linalg.matrix_rank(projection, tol=1e-4) == 32
    with pytest.raises(ValueError, match="unknown projection 'ica'"):
        fit_projection(vectors, 32, "ica")


def test_pca_keeps_fewer_directions_when_asked_and_spends_the_code_on_them():
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.standard_normal((64, 64)))[0]
    scales = np.r_[np.full(8, 3.0), np.full(56, 0.6)]  # 8 directions carry the vectors, 56 noise
    vectors = ((rng.standard_normal((1500, 64)) * scales) @ basis.T).astype(np.float32)
    projection = fit_projection(vectors, 64, "pca", directions=8)
    np.testing.assert_allclose(projection @ projection.T, basis[:, :8] @ basis[:, :8].T, atol=0.05)
    fewer, every = (initialise(Binarizer(BinarizerConfig(dim=64, bits=64, planes=1, hidden=0)),
                               fit_projection(vectors, 64, "pca", directions=kept)).eval() for kept in (8, 0))
    leading = unit(vectors) @ basis[:, :8]
    exact = np.argsort(-(leading @ leading[:200].T), axis=0)[:10]  # the neighbours within the leading directions

    def overlap(model: Binarizer) -> float:
        codes = code_levels(model, vectors)
        found = np.argsort(-(codes @ codes[:200].T), axis=0)[:10]
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.T, exact.T)])

    assert overlap(fewer) > overlap(every) + 0.1, (overlap(fewer), overlap(every))
    with pytest.raises(ValueError, match="keeps 1 to 64 principal directions, not 80"):
        fit_projection(vectors, 64, "pca", directions=80)
    with pytest.raises(ValueError, match="directions is a count of the pca start"):
        BinarizerTraining(init="rotation", directions=8)


def test_mlp_blocks_start_as_the_same_linear_code(vectors):
    projection = fit_projection(vectors, 128, "pca")
    linear = initialise(Binarizer(BinarizerConfig(dim=64, bits=128, planes=2, hidden=0)), projection).eval()
    mlp = initialise(Binarizer(BinarizerConfig(dim=64, bits=128, planes=2, hidden=256)), projection).eval()
    np.testing.assert_array_equal(code_levels(linear, vectors), code_levels(mlp, vectors))
    with pytest.raises(ValueError, match="no skip projection"):  # a block of equal widths adds its input
        initialise(Binarizer(BinarizerConfig(dim=64, bits=64, planes=2, hidden=256)), fit_projection(vectors, 64, "pca"))


def test_zero_epochs_from_a_fitted_start_is_that_start(tmp_path, vectors):
    config = BinarizerConfig(dim=64, bits=64, planes=2, hidden=0)
    train_binarizer(TrainingData(vectors), tmp_path, config, BinarizerTraining(epochs=0, init="pca", batch_size=256),
                    progress=False)
    expected = initialise(Binarizer(config), fit_projection(vectors, 64, "pca")).eval()
    np.testing.assert_array_equal(code_levels(load_binarizer(tmp_path), vectors), code_levels(expected, vectors))
    with pytest.raises(ValueError, match="epochs >= 1"):
        BinarizerTraining(epochs=0)  # random weights are no start to keep


def test_the_cli_trains_from_a_fitted_start_and_refuses_an_unknown_one(tmp_path, vectors, capsys):
    np.save(tmp_path / "vectors.npy", vectors)
    common = ["bebr", "train", "--vectors", str(tmp_path / "vectors.npy"), "--bits", "64", "--planes", "4",
              "--hidden", "0", "--epochs", "0", "--batch-size", "256"]
    assert main([*common, "--init", "pca", "--out", str(tmp_path / "pkg"), "--json"]) == 0
    assert load_binarizer(tmp_path / "pkg" / "checkpoint").config.planes == 4
    assert main([*common, "--init", "pca", "--directions", "16", "--out", str(tmp_path / "fewer")]) == 0
    expected = initialise(Binarizer(BinarizerConfig(dim=64, bits=64, planes=4, hidden=0)),
                          fit_projection(vectors, 64, "pca", directions=16)).eval()
    np.testing.assert_array_equal(code_levels(load_binarizer(tmp_path / "fewer" / "checkpoint"), vectors),
                                  code_levels(expected, vectors))
    with pytest.raises(SystemExit) as refused:
        main([*common, "--init", "kmeans", "--out", str(tmp_path / "bad")])
    assert refused.value.code == 2 and "invalid choice: 'kmeans'" in capsys.readouterr().err
