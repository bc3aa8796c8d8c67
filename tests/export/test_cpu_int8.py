"""INT8 packages for ONNX Runtime's CPU provider: the operators are chosen by label agreement on selection
feeds, a graph that cannot keep the labels is refused, and the reduced-precision parity gate (label agreement
and mIoU against fp32 PyTorch) decides whether a package is written at all."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from export.cpu_quantization import quantize_int8
from export.parity import REDUCED_PRECISION, ParityCase, ParityError, check, compare
from runtimes.runner import Runner
from sensors.labels import SEMANTIC_KITTI
from sdk.cli.main import main

CLASSES = 20


def conv_net(path, rng) -> None:
    """image [1, 8, 16, 16] -> three 1x1 convolutions (ReLU between) -> logits [256, classes]."""
    nodes, initializers, channels = [], [], 8
    for layer, width in enumerate((32, 32, CLASSES)):
        weight = (rng.standard_normal((width, channels, 1, 1)) / np.sqrt(channels)).astype(np.float32)
        initializers += [numpy_helper.from_array(weight, f"w{layer}"),
                         numpy_helper.from_array(np.zeros(width, np.float32), f"b{layer}")]
        source = "image" if layer == 0 else f"relu{layer - 1}"
        nodes.append(helper.make_node("Conv", [source, f"w{layer}", f"b{layer}"], [f"conv{layer}"], name=f"conv{layer}"))
        if layer < 2:
            nodes.append(helper.make_node("Relu", [f"conv{layer}"], [f"relu{layer}"]))
        channels = width
    initializers.append(numpy_helper.from_array(np.array([CLASSES, -1], np.int64), "shape"))
    nodes += [helper.make_node("Reshape", ["conv2", "shape"], ["flat"]),
              helper.make_node("Transpose", ["flat"], ["logits"], perm=[1, 0])]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 8, 16, 16])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [256, CLASSES])], initializers)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def feeds(rng, count: int) -> list[dict[str, np.ndarray]]:
    return [{"image": rng.standard_normal((1, 8, 16, 16)).astype(np.float32)} for _ in range(count)]


def test_operators_are_chosen_by_agreement_and_an_impossible_bar_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    conv_net(tmp_path / "fp32.onnx", rng)
    calibration, selection = feeds(rng, 4), feeds(rng, 3)
    choice = quantize_int8(tmp_path / "fp32.onnx", tmp_path / "int8.onnx", calibration, selection, 0.9)
    assert set(choice.quantized) | set(choice.kept_fp32) == {"conv0", "conv1", "conv2"}
    assert choice.quantized and choice.agreement >= 0.9 and set(choice.alone) == {"conv0", "conv1", "conv2"}
    quantized = onnx.load(str(tmp_path / "int8.onnx"))
    dequantized = {o for n in quantized.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    for node in quantized.graph.node:  # a chosen convolution reads dequantized int8, a kept one does not
        if node.op_type == "Conv":
            assert (node.input[0] in dequantized) == (node.name in choice.quantized), node.name
    with pytest.raises(ValueError, match=r"no operator can be quantized alone with label agreement >= 1.01"):
        quantize_int8(tmp_path / "fp32.onnx", tmp_path / "never.onnx", calibration, selection, 1.01)


class Fixed(Runner):
    """A runner that answers with given logits, one array per call."""

    def __init__(self, name: str, outputs: list[np.ndarray]) -> None:
        super().__init__()
        self.name, self.answers = name, iter(outputs)

    def inputs(self) -> list:
        return []

    def outputs(self) -> list:
        return []

    def activate(self) -> None:
        pass

    def deactivate(self) -> None:
        pass

    def _infer(self, feed):
        return {"logits": next(self.answers)}


def test_the_reduced_precision_gate_holds_the_miou_as_well_as_the_labels():
    rng = np.random.default_rng(1)
    classes = len(SEMANTIC_KITTI.class_names) - 1  # the logits' classes: training ids 1.., 0 is "ignore"
    truth = rng.integers(1, classes + 1, 2000)
    reference = np.eye(classes, dtype=np.float32)[truth - 1] * 5 + rng.standard_normal((2000, classes)).astype(np.float32)
    moved = reference.copy()
    moved[:15] = np.roll(moved[:15], 1, axis=1)  # 15 of 2000 points (0.75 %) change label: above 99 % agreement
    case = [ParityCase("frame", {}, truth, SEMANTIC_KITTI)]
    report = compare(Fixed("pytorch", [reference]), Fixed("int8", [moved]), case, thresholds=REDUCED_PRECISION)
    assert report["worst"]["label_agreement"] == pytest.approx(0.9925) and report["worst"]["miou_change"] < 0
    drop = -report["worst"]["miou_change"]
    assert report["passed"] is (drop <= REDUCED_PRECISION.miou_drop)
    strict = compare(Fixed("pytorch", [reference]), Fixed("int8", [moved]), case,
                     thresholds=type(REDUCED_PRECISION)(0.99, 0.99, miou_drop=drop / 2))
    assert not strict["passed"]
    with pytest.raises(ParityError, match=r"mIoU change -\d\.\d\d points \(may lose"):
        check(strict)


def test_int8_is_refused_for_the_plugin_form_before_anything_is_exported(tmp_path, capsys):
    pytest.importorskip("torch")
    assert main(["export", "rapid_seg", "--form", "plugin", "--precision", "int8", "--out", str(tmp_path / "p")]) == 2
    assert "int8 is for ONNX Runtime's CPU provider" in capsys.readouterr().err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


@pytest.mark.slow
def test_an_int8_export_of_rapid_seg_is_written_only_through_the_gate(tmp_path, capsys):
    """Whatever this network's int8 graph does, the package exists only if it passed: then its manifest says
    int8 and names what was quantized; else the error names the gate and no manifest is written. (The shipped
    weights' int8 graph moves 4 % of the real scan's labels and is refused: docs/export_and_runtimes.md.)"""
    pytest.importorskip("torch")
    pytest.importorskip("open3d")
    out = tmp_path / "int8"
    code = main(["export", "rapid_seg", "--precision", "int8", "--calibration-frames", "4", "--sim-frames", "1",
                 "--out", str(out)])
    parity = json.loads((out / "parity.json").read_text())
    if code == 0:
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["precision"] == "int8" and manifest["quantization"]["quantized"]
        assert parity["passed"] and parity["worst"]["label_agreement"] >= REDUCED_PRECISION.label_agreement
    else:
        assert code == 2 and "needs 0.99" in capsys.readouterr().err
        assert not parity["passed"] and not (out / "manifest.json").exists()
    assert parity["thresholds"]["miou_drop"] == REDUCED_PRECISION.miou_drop
