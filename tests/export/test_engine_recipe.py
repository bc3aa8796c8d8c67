"""What an engine build decides before TensorRT is touched, and Polygraphy's loader chain for it: the
graph, typing and precision flag of each precision on TensorRT 10 and 11, the optimisation profile of the
package's dynamic axes, the plugin library for packages with custom ops. Polygraphy imports TensorRT
lazily, so the chains are built (not run) on machines without it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from export.engine import EngineError, engine_chain, engine_recipe
from runtimes.package import load_package
from sdk.shipped import shipped_package

pytest.importorskip("polygraphy")


@pytest.fixture(scope="module")
def bebr_package():
    return load_package(shipped_package("bebr"))


def with_manifest(package_folder: Path, tmp_path: Path, change) -> Path:
    """A copy of a package with its manifest changed by `change` (the model file untouched)."""
    folder = tmp_path / "package"
    shutil.copytree(package_folder, folder, ignore=shutil.ignore_patterns("checkpoint"))
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("precision, has_fp16_flag, graph, strongly_typed, fp16_flag", [
    ("fp32", True, "exported", True, False),
    ("fp32", False, "exported", True, False),
    ("fp16", True, "exported", False, True),     # TensorRT 10: the builder flag on a weakly typed network
    ("fp16", False, "fp16", True, False),        # TensorRT 11: a float16 graph, strongly typed
    ("int8", True, "int8-qdq", True, False),
    ("int8", False, "int8-qdq", True, False),
])
def test_each_precision_on_tensorrt_10_and_11(bebr_package, precision, has_fp16_flag, graph, strongly_typed, fp16_flag):
    recipe = engine_recipe(bebr_package, precision, has_fp16_flag, workspace_gib=0.5)
    assert (recipe.graph, recipe.strongly_typed, recipe.fp16_flag) == (graph, strongly_typed, fp16_flag)
    assert recipe.workspace_bytes == 1 << 29
    assert not recipe.needs_plugins


def test_the_profile_spans_the_manifests_dynamic_axes(bebr_package):
    recipe = engine_recipe(bebr_package, "fp32", True)
    queries = bebr_package.profiles["queries"]
    assert recipe.profile == {"embeddings": ((queries["min"], 384), (queries["opt"], 384), (queries["max"], 384))}


def test_the_chain_carries_the_recipe_into_polygraphys_loaders(bebr_package):
    from polygraphy.backend.trt import EngineFromNetwork, NetworkFromOnnxPath

    recipe = engine_recipe(bebr_package, "fp16", True)
    chain = engine_chain(recipe, bebr_package.model_path)
    assert isinstance(chain.network, NetworkFromOnnxPath) and isinstance(chain.engine, EngineFromNetwork)
    assert chain.network.path == str(bebr_package.model_path)
    assert chain.network.strongly_typed is False and chain.config.fp16 is True
    (profile,) = chain.config.profiles
    low, opt, high = recipe.profile["embeddings"]
    assert (tuple(profile["embeddings"].min), tuple(profile["embeddings"].opt), tuple(profile["embeddings"].max)) == (low, opt, high)
    strongly = engine_chain(engine_recipe(bebr_package, "fp32", False), bebr_package.model_path)
    assert strongly.network.strongly_typed is True and strongly.config.fp16 is False


def test_a_package_with_custom_ops_needs_the_plugin_library(bebr_package, tmp_path):
    folder = with_manifest(bebr_package.folder, tmp_path, lambda m: m.update(custom_ops=["rapid::BinarySearch"]))
    assert engine_recipe(load_package(folder, verify=False), "fp32", True).needs_plugins


def test_a_dynamic_axis_without_a_profile_is_refused(bebr_package, tmp_path):
    folder = with_manifest(bebr_package.folder, tmp_path, lambda m: m["profiles"].pop("queries"))
    with pytest.raises(EngineError, match="'embeddings' has dynamic axes \\['queries'\\] without a profile"):
        engine_recipe(load_package(folder, verify=False), "fp32", True)


def test_an_unknown_precision_is_refused(bebr_package):
    with pytest.raises(ValueError, match="precision must be one of"):
        engine_recipe(bebr_package, "fp8", True)
