"""Checks on exported graphs: TensorRT importability of the portable form, custom-node bookkeeping."""
from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path

import onnx

SUPPORTED_OPS_FILE = Path(__file__).with_name("tensorrt_onnx_ops.txt")
TOPK_MAX_K = 3840  # TensorRT's TopK limit


@cache
def tensorrt_supported_ops() -> frozenset[str]:
    lines = SUPPORTED_OPS_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def op_counts(model: onnx.ModelProto) -> Counter[tuple[str, str]]:
    """(domain, op_type) -> count over the main graph and every subgraph."""
    counts: Counter[tuple[str, str]] = Counter()
    for graph in _graphs(model.graph):
        counts.update((node.domain or "", node.op_type) for node in graph.node)
    return counts


def tensorrt_problems(model: onnx.ModelProto, allowed_custom: frozenset[tuple[str, str]] = frozenset()) -> list[str]:
    """Why TensorRT's ONNX parser would refuse this graph (empty when it would import it).
    `allowed_custom` names custom nodes our plugin library provides, e.g. {("rapid", "RapidFeatures")}."""
    problems = []
    supported = tensorrt_supported_ops()
    for (domain, op_type), count in sorted(op_counts(model).items()):
        if (domain, op_type) in allowed_custom:
            continue
        if domain not in ("", "ai.onnx") or op_type not in supported:
            problems.append(f"{domain + '::' if domain else ''}{op_type} x{count} is not on TensorRT's ONNX op list")
    initializers = {init.name: init for graph in _graphs(model.graph) for init in graph.initializer}
    for graph in _graphs(model.graph):
        for node in graph.node:
            if node.op_type == "TopK" and not node.domain:
                k = initializers.get(node.input[1]) if len(node.input) > 1 else None
                if k is None:
                    problems.append(f"TopK {node.name}: K is not an initializer")
                elif int(onnx.numpy_helper.to_array(k).reshape(-1)[0]) > TOPK_MAX_K:
                    problems.append(f"TopK {node.name}: K above {TOPK_MAX_K}")
    return problems


def _graphs(graph: onnx.GraphProto):
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)
