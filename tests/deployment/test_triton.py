"""The Triton model repository: every config.pbtxt parses against Triton's ModelConfig schema (tritonclient's
model_config.proto), and, where PyTriton's server is installed (.venv-triton), the repository served for real
on loopback labels the real scan and the VLP-16 capture exactly as the local pipeline does."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import sensors
from conftest import REPO, data_file
from sdk.apps.triton_repository import NETWORK, NETWORK_TENSORRT, PIPELINE, write_repository
from runtimes.package import load_package, seal
from sdk.shipped import shipped_package

sys.path.insert(0, str(REPO / "benchmarks"))
from loopback import LOOPBACK_ENV, loopback_only  # noqa: E402

TRITON_ENV = REPO / ".venv-triton"
SOURCES = ("semantickitti/sequences/00/velodyne/000000.bin", "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap")
needs_schema = pytest.mark.skipif(importlib.util.find_spec("tritonclient") is None,
                                  reason="tritonclient (the triton extra) carries Triton's model-config schema")


def parse(path):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


@needs_schema
@pytest.mark.parametrize("backend", ["onnxruntime", "python"])
def test_every_config_parses_against_tritons_schema(tmp_path, backend):
    package = load_package(shipped_package("rapid_seg"))
    configs = write_repository(package, tmp_path, network_backend=backend, gpu=True, instances=2)
    assert [c.parent.name for c in configs] == [NETWORK, PIPELINE]
    network, pipeline = (parse(c) for c in configs)
    assert network.backend == backend and network.max_batch_size == 0
    assert [(i.name, list(i.dims)) for i in network.input] == [
        ("image", [1, 4, 64, 2048]), ("pixel", [-1]), ("points", [-1, 4]), ("rapid", [1, 10, 64, 2048])]
    assert [(o.name, list(o.dims)) for o in network.output] == [("logits", [-1, 19])]
    assert network.instance_group[0].count == 2 and network.instance_group[0].kind == 1  # KIND_GPU
    assert pipeline.backend == "python" and [i.name for i in pipeline.input] == ["POINTS", "RING"]
    assert pipeline.input[1].optional and pipeline.parameters["network"].string_value == NETWORK
    version = tmp_path / NETWORK / "1"
    assert (version / "model.onnx").read_bytes() == package.model_path.read_bytes()
    if backend == "python":
        assert load_package(version).manifest == package.manifest  # the version folder is the package, checked on load


@needs_schema
def test_a_built_engine_becomes_a_tensorrt_model(tmp_path):
    import shutil

    folder = tmp_path / "package"
    shutil.copytree(shipped_package("rapid_seg"), folder)
    (folder / "engines").mkdir()
    (folder / "engines" / "trt10.3-cuda12.6-sm87-fp16.engine").write_bytes(b"serialised engine")
    configs = write_repository(seal(load_package(folder)), tmp_path / "repo")
    assert [c.parent.name for c in configs] == [NETWORK, NETWORK_TENSORRT, PIPELINE]
    config = parse(configs[1])
    assert config.backend == "tensorrt" and config.instance_group[0].kind == 1
    assert (tmp_path / "repo" / NETWORK_TENSORRT / "1" / "model.plan").read_bytes() == b"serialised engine"


def plugin_form(folder, custom_op: str):
    """The shipped package's files relabelled as a plugin-form package (the configs read only the manifest)."""
    import shutil

    from runtimes.package import write_manifest

    shutil.copytree(shipped_package("rapid_seg"), folder)
    manifest = {k: v for k, v in load_package(folder).manifest.to_json().items() if k not in ("format", "format_version", "files")}
    write_manifest(folder, {**manifest, "form": "plugin", "custom_ops": [custom_op]})
    return load_package(folder)


@needs_schema
def test_a_plugin_form_network_names_the_native_op_library(tmp_path):
    """Triton's onnxruntime backend loads the SDK's op library for the plugin form's RAPiD node: the library travels
    into the network's folder, byte for byte this machine's checked build, and the config names it."""
    from runtimes import native_ops

    package = plugin_form(tmp_path / "package", "rapid::RapidFeatures")
    network_config, _ = write_repository(package, tmp_path / "repo")
    network = parse(network_config)
    (library,) = network.model_operations.op_library_filename
    assert library == str((tmp_path / "repo" / NETWORK / "librapid_edge_ort.so").resolve())
    assert native_ops.sha256(library) == native_ops.sha256(native_ops.library())
    python_network, _ = write_repository(package, tmp_path / "python", network_backend="python")
    assert not parse(python_network).model_operations.op_library_filename  # its runner registers the library itself
    with pytest.raises(ValueError, match="for ONNX Runtime's TensorRT provider"):
        write_repository(plugin_form(tmp_path / "trt", "trt.plugins::RapidFeatures"), tmp_path / "repo2")


def test_bad_settings_are_refused(tmp_path):
    package = load_package(shipped_package("rapid_seg"))
    with pytest.raises(ValueError, match="unknown network backend 'tensorflow'"):
        write_repository(package, tmp_path, network_backend="tensorflow")
    with pytest.raises(ValueError, match="instances must be >= 1"):
        write_repository(package, tmp_path, instances=0)


@pytest.mark.slow
@pytest.mark.skipif(not (TRITON_ENV / "bin" / "python").is_file(),
                    reason="no PyTriton environment at .venv-triton (install.sh makes it on x86_64)")
def test_a_real_triton_server_labels_as_the_local_pipeline(tmp_path):
    sources = [str(data_file(s)) for s in SOURCES]
    command = [sys.executable, str(REPO / "tests" / "deployment" / "triton_serve_check.py"), str(tmp_path), str(TRITON_ENV), *sources]
    run = subprocess.run(loopback_only(command), capture_output=True, text=True, env={**os.environ, **LOOPBACK_ENV}, timeout=900)
    log = (tmp_path / "server.log").read_text()[-3000:] if (tmp_path / "server.log").is_file() else ""
    assert run.returncode == 0, run.stderr[-3000:] + log
    from sdk import Pipeline

    with np.load(tmp_path / "labels.npz") as served, Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        frames = [frame for source in sources for frame in sensors.open(source)]
        assert len(frames) == 6
        for i, frame in enumerate(frames):
            expected = pipeline(frame).labels
            np.testing.assert_array_equal(served[f"pipeline/{i}"], expected)
            np.testing.assert_array_equal(served[f"model/{i}"], expected)
        assert "no point has finite coordinates" in str(served["bad_request"])
        assert bool(served["alive_after_bad_request"])
