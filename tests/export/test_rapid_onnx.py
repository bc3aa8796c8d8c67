"""The two ONNX forms of rapid::RapidFeatures: graph checks, ONNX Runtime runs against the reference."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import sensors
from export.graph_checks import tensorrt_problems
from export.rapid_op.onnx_export import export_rapid_features
from runtimes.native_ops import session_options
from runtimes.ops.rapid_reference import rapid_features_reference
from runtimes.ops.rapid_spec import KITTI, FrozenStats, RapidConfig
from sdk.segmentation.range_image import project

PLUGIN_NODE = frozenset({("rapid", "RapidFeatures")})


@pytest.fixture(scope="module")
def scan_image():
    from conftest import data_file

    frame = next(iter(sensors.open(data_file("semantickitti/sequences/00/velodyne/000000.bin"))))
    return project(frame).image[None]


@pytest.fixture(scope="module")
def models(tmp_path_factory, scan_image):
    folder = tmp_path_factory.mktemp("rapid")
    height, width = scan_image.shape[2:]
    return {form: (folder / f"{form}.onnx", export_rapid_features(folder / f"{form}.onnx", form, height, width, KITTI))
            for form in ("portable", "plugin")}


def test_portable_form_uses_only_tensorrt_importable_ops(models):
    _, model = models["portable"]
    assert tensorrt_problems(model) == []
    assert all(node.domain in ("", "ai.onnx") for node in model.graph.node)


def test_plugin_form_is_one_registered_custom_node(models):
    _, model = models["plugin"]
    (node,) = model.graph.node
    assert (node.domain, node.op_type) == ("rapid", "RapidFeatures")
    assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}["window"] == KITTI.window
    assert ("rapid", 1) in {(o.domain, o.version) for o in model.opset_import}
    assert tensorrt_problems(model) and not tensorrt_problems(model, allowed_custom=PLUGIN_NODE)
    onnx.checker.check_model(model, full_check=True)  # the schema is registered


@pytest.mark.slow
def test_onnxruntime_runs_the_portable_form_like_the_reference(models, scan_image):
    path, _ = models["portable"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = np.concatenate([scan_image, scan_image[..., ::-1].copy()])  # a batch of two, statistics per item
    out = session.run(None, {"image": batch})[0]
    np.testing.assert_allclose(out, rapid_features_reference(batch, KITTI), atol=1e-5, rtol=0)


@pytest.mark.parametrize("config", [KITTI, RapidConfig(frozen=FrozenStats(0.0, 1.0, 0.01, 3.0, 12.0))],
                         ids=["measured", "frozen"])
def test_the_native_op_runs_the_plugin_form_bit_for_bit(tmp_path, scan_image, config):
    """The native library's CPU kernel (the CUDA kernels' per-pixel functions, pixels spread over ONNX Runtime's
    threads with per-chunk statistics) on the real scan and its mirror in one batch."""
    export_rapid_features(tmp_path / "plugin.onnx", "plugin", *scan_image.shape[2:], config)
    options = session_options()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(tmp_path / "plugin.onnx"), options, providers=["CPUExecutionProvider"])
    batch = np.concatenate([scan_image, scan_image[..., ::-1].copy()])
    np.testing.assert_array_equal(session.run(None, {"image": batch})[0], rapid_features_reference(batch, config))


def test_frozen_statistics_survive_export(tmp_path):
    config = RapidConfig(frozen=FrozenStats(0.0, 1.0, 0.01, 3.0, 12.0))
    rng = np.random.default_rng(0)
    image = rng.uniform(1, 20, (1, 4, 4, 64)).astype(np.float32)
    for form in ("portable", "plugin"):
        path = tmp_path / f"{form}.onnx"
        export_rapid_features(path, form, 4, 64, config)
        session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(session.run(None, {"image": image})[0], rapid_features_reference(image, config),
                                   atol=1e-5, rtol=0)


def test_unknown_form_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown form"):
        export_rapid_features(tmp_path / "x.onnx", "fancy", 4, 64)
