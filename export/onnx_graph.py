"""From a PyTorch module to a clean single-file ONNX graph: dynamo export (with the rapid op's
translations), full checker with shape inference, constant folding and simplification by onnxslim
(custom nodes kept), and the TensorRT importability check for the portable forms."""
from __future__ import annotations

import logging
from pathlib import Path

import onnx

from runtimes.errors import SdkError

from .bebr_op import schema as bebr_schema
from .graph_checks import tensorrt_problems
from .rapid_op import schema as rapid_schema

log = logging.getLogger("export")
#: the custom nodes the SDK's plugin library provides, all in domain `rapid`
DOMAIN = rapid_schema.DOMAIN
PLUGIN_NODES = frozenset({(DOMAIN, rapid_schema.OP_TYPE), (DOMAIN, bebr_schema.OP_TYPE)})


def translation_table() -> dict:
    """The dynamo exporter's translations of every custom op of the SDK (each registers its ONNX schema)."""
    from .bebr_op.custom_op import translation_table as bebr_translations
    from .rapid_op.custom_op import translation_table as rapid_translations

    return {**rapid_translations(), **bebr_translations()}


def move_custom_nodes(path: Path, domain: str) -> onnx.ModelProto:
    """Rewrite the graph at `path` with its custom nodes (and their opset import) in `domain`; the rest, the ops'
    names and attributes, unchanged. ONNX Runtime's TensorRT provider offers the creators of TensorRT's plugin
    registry as ops of its own domain (runtimes/ops/nodes.py: TENSORRT_EP_DOMAIN)."""
    model = onnx.load(str(path))
    for node in model.graph.node:
        if node.domain == DOMAIN:
            node.domain = domain
    for opset in model.opset_import:
        if opset.domain == DOMAIN:
            opset.domain = domain
    onnx.save(model, str(path))
    return model


class ExportError(SdkError):
    """The export cannot produce a usable graph; the message says which stage failed and why."""


#: the oldest PyTorch whose dynamo exporter takes the SDK's graphs (custom translation tables, dynamic shapes);
#: pyproject's [export] floor, checked here because on aarch64 the SDK leaves NVIDIA's Jetson torch as it is
MIN_TORCH = (2, 4)


def check_torch(torch_version: str) -> None:
    """A pre-release counts as its release (JetPack 6.0's 2.4.0a0+...nv24.07 is 2.4)."""
    from packaging.version import InvalidVersion, Version

    try:
        release = Version(torch_version).release
    except InvalidVersion:
        return  # a local build with a version of its own: let the exporter say what it lacks
    if release[:2] < MIN_TORCH:
        raise ExportError(f"exporting needs PyTorch >= {'.'.join(map(str, MIN_TORCH))} (its dynamo ONNX exporter); "
                          f"this is {torch_version}: on a Jetson install NVIDIA's torch for a newer JetPack, or export "
                          "on a workstation and copy the package (packages run without PyTorch)")


def export_module(module, example: tuple, path: Path, input_names: list[str], output_names: list[str],
                  dynamic_shapes: dict, opset: int) -> onnx.ModelProto:
    import torch

    check_torch(torch.__version__)
    log.info("exporting with torch %s (dynamo), opset %d", torch.__version__, opset)
    try:
        program = torch.onnx.export(module.eval(), example, dynamo=True, opset_version=opset, input_names=input_names,
                                    output_names=output_names, dynamic_shapes=dynamic_shapes,
                                    custom_translation_table=translation_table(), verbose=False, external_data=False)
    except Exception as err:  # the exporter raises many types; all mean the same to the user
        raise ExportError(f"PyTorch -> ONNX failed: {err}") from err
    program.save(str(path), external_data=False)
    return onnx.load(str(path))


def clean(model: onnx.ModelProto, path: Path, allow_plugin: bool) -> onnx.ModelProto:
    """Checker + shape inference, onnxslim simplification, checker again; TensorRT op check."""
    rapid_schema.register()
    bebr_schema.register()
    _check(model, "exported graph")
    import onnxslim

    log.info("simplifying with onnxslim %s (constant folding, dead code, fusion)", onnxslim.__version__)
    slim = onnxslim.slim(model)
    _check(slim, "simplified graph")
    if not allow_plugin and any(n.domain == DOMAIN for n in slim.graph.node):
        raise ExportError("the portable graph holds rapid:: nodes")
    problems = tensorrt_problems(slim, PLUGIN_NODES if allow_plugin else frozenset())
    if problems:
        raise ExportError("TensorRT's ONNX parser would refuse the graph: " + "; ".join(problems))
    onnx.save(slim, str(path))
    log.info("graph: %d nodes, %d initializers, every op importable by TensorRT", len(slim.graph.node), len(slim.graph.initializer))
    return slim


def _check(model: onnx.ModelProto, what: str) -> None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as err:
        raise ExportError(f"{what} fails onnx.checker: {err}") from err
