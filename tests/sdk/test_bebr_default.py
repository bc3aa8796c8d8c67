"""The binarizer that ships with the SDK: a ready package (no export, no torch to run it), consistent with
the checkpoint it was exported from, usable as `default` by the pipeline and the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from runtimes.bebr_index import BinaryIndex
from runtimes.ops.bebr_spec import popcount
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.package import load_package
from sdk.retrieval.settings import RECIPES
from sdk.retrieval.training import load_binarizer, read_code_version, read_training_record
from sdk.shipped import default_checkpoint, shipped_package
from sdk.retrieval.steps import BinarizerInfo, encode_all


@pytest.fixture(scope="module")
def package():
    return load_package(shipped_package("bebr"))  # verifies every file's sha256


def test_the_default_is_the_choice_its_record_names(package):
    """128 bytes of 384-d embeddings, in the layout and from the start the recorded validation choice picked,
    trained on vectors alone (task-agnostic)."""
    info = BinarizerInfo.of(package)
    choice = json.loads((package.folder / "choice.json").read_text())
    chosen = choice["chosen"]
    assert (info.layout.bits, info.layout.planes, info.layout.code_bytes, info.dim) == (chosen["bits"], chosen["planes"], 128, 384)
    best = max(choice["candidates"], key=lambda c: (c["mean"]["overlap@10"], c["mean"]["recall@10"]))
    assert {k: best[k] for k in chosen} == chosen
    training = read_training_record(default_checkpoint("bebr"))["training"]
    assert training["mode"] == "vectors" and training["init"] == chosen["init"] and training["epochs"] == chosen["epochs"]
    # `bebr train --vectors` trains by the same recipe
    recipe = RECIPES["vectors"]
    assert (recipe.config.bits, recipe.config.planes, recipe.config.hidden) == (chosen["bits"], chosen["planes"], chosen["hidden"])
    assert (recipe.training.init, recipe.training.epochs, recipe.training.learning_rate) == (
        chosen["init"], chosen["epochs"], chosen["learning_rate"])
    assert info.code_version == read_code_version(default_checkpoint("bebr"))
    assert json.loads((package.folder / "parity.json").read_text())["passed"]
    assert not (default_checkpoint("bebr") / "optimizer.safetensors").exists()


def test_the_package_encodes_as_its_checkpoint(package):
    vectors = np.random.default_rng(0).standard_normal((512, 384)).astype(np.float32)
    with OnnxRuntimeRunner(package, providers=["CPUExecutionProvider"]) as runner:
        codes, norms = encode_all(runner, vectors, 384)
    with torch.no_grad():
        expected_codes, expected_norms = load_binarizer(default_checkpoint("bebr")).encode(torch.from_numpy(vectors))
    differing = popcount(codes.view(np.uint32) ^ expected_codes.numpy().view(np.uint32)).sum()
    assert differing / codes.size / 32 <= 1e-4
    # the norms are square roots of whole numbers: the same to a float32 ulp (the package's parity report says so)
    np.testing.assert_allclose(norms, expected_norms.numpy(), rtol=float(np.finfo(np.float32).eps))


def test_the_pipeline_and_the_cli_take_the_default(package, tmp_path):
    from sdk import Pipeline, SearchOptions
    from sdk.cli.main import main

    docs = np.random.default_rng(1).standard_normal((200, 384)).astype(np.float32)
    np.save(tmp_path / "docs.npy", docs)
    assert main(["bebr", "index", "default", "--embeddings", str(tmp_path / "docs.npy"), "--out", str(tmp_path / "d.bebr")]) == 0
    index = BinaryIndex.load(tmp_path / "d.bebr")
    assert index.info.package_sha256 == BinarizerInfo.of(package).package_sha256
    with Pipeline("bebr", "onnxruntime-cpu", search=SearchOptions(index=index, k=3)) as pipeline:
        result = pipeline(docs[:5] + 0.01)  # a document slightly moved still finds itself
    assert result.ids[:, 0].tolist() == [0, 1, 2, 3, 4]
