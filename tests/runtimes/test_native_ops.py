"""The native ONNX Runtime op library: built into the cache from the SDK's sources, checked against its build
record before it is loaded, the CUDA flavour compiled by nvcc, and one build run in the installed ONNX Runtime
and in the oldest release the SDK supports (1.18)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import OLDEST_ONNXRUNTIME
from runtimes import native_ops
from runtimes.binary_search_session import binary_search_graph
from runtimes.ops.bebr_reference import binary_search_reference
from runtimes.ops.bebr_spec import CodeLayout, code_norms, pack_signs
from runtimes.ops.nodes import DOMAIN, RAPID_FEATURES, VERSION
from runtimes.ops.rapid_reference import rapid_features_reference
from runtimes.ops.rapid_spec import KITTI

needs_gxx = pytest.mark.skipif(shutil.which("g++") is None, reason="g++ builds the native op library")


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPID_EDGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(native_ops.ENVIRONMENT, raising=False)
    return tmp_path / "cache"


@needs_gxx
def test_built_once_into_the_cache_and_checked_before_loading(own_cache, monkeypatch):
    library = native_ops.library()
    assert library.is_relative_to(own_cache) and library.name == "librapid_edge_ort.so"
    record = json.loads((library.parent / "build.json").read_text())
    assert record["sha256"] == native_ops.sha256(library) and record["digest"] == native_ops.build_digest(native_ops.Build())
    built_at = library.stat().st_mtime_ns
    assert native_ops.library() == library and library.stat().st_mtime_ns == built_at  # found, not rebuilt
    with monkeypatch.context() as without_compilers:
        without_compilers.setattr(native_ops.shutil, "which", lambda tool: None)
        assert native_ops.library() == library  # a machine whose compiler went away after the build still finds it
    exported = subprocess.run(["nm", "-D", "--defined-only", str(library)], capture_output=True, text=True).stdout
    assert re.findall(r" T (\w+)", exported) == ["RegisterCustomOps"]  # the entry point alone
    assert "onnxruntime" not in subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
    with library.open("r+b") as handle:
        handle.seek(200)
        handle.write(b"\x90")
    with pytest.raises(native_ops.NativeOpsError, match="sha256 does not match its build record.*not loading"):
        native_ops.library()


def test_a_library_of_the_users_own_is_taken_as_named(own_cache, tmp_path, monkeypatch):
    mine = tmp_path / "mine.so"
    monkeypatch.setenv(native_ops.ENVIRONMENT, str(mine))
    with pytest.raises(native_ops.NativeOpsError, match="no such file"):
        native_ops.library()
    mine.write_bytes(b"a build of the user's")
    assert native_ops.library() == mine
    assert not own_cache.exists()  # nothing built


def test_without_a_compiler_the_message_says_what_to_install(own_cache, monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(native_ops.shutil, "which", lambda tool: None if tool == "g++" else real_which(tool))
    with pytest.raises(native_ops.NativeOpsError, match=r"built on first use with g\+\+.*apt install g\+\+.*RAPID_EDGE_ORT_LIBRARY"):
        native_ops.library()


@needs_gxx
@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is needed for the CUDA flavour")
def test_cuda_flavour_compiles_and_its_cpu_kernels_run_where_no_gpu_is(own_cache, tmp_path):
    """nvcc builds the flavour that registers the CUDA provider's kernels too; loaded into a CPU-only ONNX Runtime,
    its registration is accepted and the CPU kernels answer (the CUDA ones run in the GPU check script)."""
    library = native_ops.library(native_ops.Build(cuda=True, cuda_arch="90"))
    assert "libcudart" in subprocess.run(["ldd", str(library)], capture_output=True, text=True).stdout
    arrays, layout, k = search_case()
    np.savez(tmp_path / "feed.npz", **arrays)
    (tmp_path / "search.onnx").write_bytes(binary_search_graph(layout, k).SerializeToString())
    (search,), _ = run_in(sys.executable, library, tmp_path, [("search.onnx", "feed.npz")])
    expected = binary_search_reference(*arrays.values(), layout, k)
    np.testing.assert_array_equal(search["indices"], expected[1])
    np.testing.assert_array_equal(search["scores"], expected[0])


def search_case():
    layout, k = CodeLayout(96, 3), 25
    rng = np.random.default_rng(11)
    docs = pack_signs(rng.standard_normal((5000, layout.planes, layout.bits)), layout)
    docs[100:160] = docs[9]
    queries = pack_signs(rng.standard_normal((7, layout.planes, layout.bits)), layout)
    queries[0] = docs[9]
    arrays = {"query_codes": queries, "query_norms": code_norms(queries, layout), "doc_codes": docs,
              "doc_norms": code_norms(docs, layout)}
    return arrays, layout, k


def rapid_features_graph(height: int, width: int):
    """A one-node plugin-form graph written by onnx's helper (IR version 9, which ONNX Runtime 1.18 reads)."""
    import onnx
    from onnx import TensorProto, helper

    attributes = KITTI.attributes()
    node = helper.make_node(RAPID_FEATURES, ["image"], ["features"], domain=DOMAIN, **attributes)
    graph = helper.make_graph([node], "rapid", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 4, height, width])],
                              [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", KITTI.k_max, height, width])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(DOMAIN, VERSION)],
                             ir_version=onnx.IR_VERSION_2023_5_5)


RUNNER = """
import sys, numpy as np, onnxruntime as ort
library, folder = sys.argv[1], sys.argv[2]
print(ort.__version__, file=sys.stderr)
for index, pair in enumerate(sys.argv[3:]):
    model, feed = pair.split(":")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.register_custom_ops_library(library)
    session = ort.InferenceSession(folder + "/" + model, options, providers=["CPUExecutionProvider"])
    with np.load(folder + "/" + feed) as arrays:
        results = session.run(None, dict(arrays))
    np.savez(f"{folder}/out{index}.npz", **dict(zip([o.name for o in session.get_outputs()], results)))
"""


def run_in(python: str, library, folder, cases, environment=None) -> tuple[list[dict], str]:
    """Each (model, feed) pair through a session with `library` registered, in a fresh interpreter; the outputs
    and the ONNX Runtime version that ran them."""
    (folder / "runner.py").write_text(RUNNER)
    run = subprocess.run([python, str(folder / "runner.py"), str(library), str(folder), *(f"{m}:{f}" for m, f in cases)],
                         capture_output=True, text=True, env={**os.environ, **(environment or {})})
    assert run.returncode == 0, run.stderr[-3000:]
    outputs = []
    for index in range(len(cases)):
        with np.load(folder / f"out{index}.npz") as arrays:
            outputs.append(dict(arrays))
    return outputs, run.stderr.splitlines()[0]


@needs_gxx
@pytest.mark.skipif(not OLDEST_ONNXRUNTIME.is_dir(), reason=f"install.sh puts ONNX Runtime 1.18 in {OLDEST_ONNXRUNTIME}")
def test_one_build_runs_in_onnxruntime_1_18_and_the_installed_release(tmp_path):
    """The library asks for API 18: the same file loads in the oldest supported release and the newest."""
    import onnxruntime

    from conftest import data_file

    import sensors
    from sdk.segmentation.range_image import project

    frame = next(iter(sensors.open(data_file("semantickitti/sequences/00/velodyne/000000.bin"))))
    image = project(frame).image[None]
    batch = np.concatenate([image, image[..., ::-1]])
    (tmp_path / "rapid.onnx").write_bytes(rapid_features_graph(*image.shape[2:]).SerializeToString())
    np.savez(tmp_path / "image.npz", image=batch)
    arrays, layout, k = search_case()
    (tmp_path / "search.onnx").write_bytes(binary_search_graph(layout, k).SerializeToString())
    np.savez(tmp_path / "codes.npz", **arrays)
    expected_features = rapid_features_reference(batch, KITTI)
    expected_scores, expected_indices = binary_search_reference(*arrays.values(), layout, k)
    library = native_ops.library()
    cases = [("rapid.onnx", "image.npz"), ("search.onnx", "codes.npz")]
    versions = []
    for environment in ({"PYTHONPATH": str(OLDEST_ONNXRUNTIME)}, {}):
        (features, search), version = run_in(sys.executable, library, tmp_path, cases, environment)
        versions.append(version)
        np.testing.assert_array_equal(features["features"], expected_features)
        np.testing.assert_array_equal(search["indices"], expected_indices)
        np.testing.assert_array_equal(search["scores"], expected_scores)
    assert versions == ["1.18.1", onnxruntime.__version__]


def cuda_provider_missing() -> str | None:
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return "ONNX Runtime's CUDA provider is not installed (onnxruntime-gpu)"
    if shutil.which("nvcc") is None:
        return "nvcc is needed to build the CUDA flavour"
    return None


@pytest.mark.gpu
@pytest.mark.skipif(cuda_provider_missing() is not None, reason=cuda_provider_missing() or "")
def test_cuda_provider_runs_the_cuda_kernels(tmp_path):
    """The CUDA flavour's kernels on the stream ONNX Runtime's CUDA provider gives them, against the reference."""
    import onnxruntime as ort

    from conftest import data_file

    import sensors
    from sdk.segmentation.range_image import project

    image = project(next(iter(sensors.open(data_file("semantickitti/sequences/00/velodyne/000000.bin"))))).image[None]
    batch = np.concatenate([image, image[..., ::-1]])
    providers = ["CUDAExecutionProvider"]
    options = native_ops.session_options(providers=providers)
    rapid = ort.InferenceSession(rapid_features_graph(*image.shape[2:]).SerializeToString(), options, providers=providers)
    np.testing.assert_allclose(rapid.run(None, {"image": batch})[0], rapid_features_reference(batch, KITTI), atol=1e-5, rtol=0)
    arrays, layout, k = search_case()
    search = ort.InferenceSession(binary_search_graph(layout, k).SerializeToString(), options, providers=providers)
    scores, indices = search.run(None, arrays)
    expected_scores, expected_indices = binary_search_reference(*arrays.values(), layout, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(scores, expected_scores)
