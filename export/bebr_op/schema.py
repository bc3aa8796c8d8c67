"""The ONNX schema of rapid::BinarySearch (domain `rapid`, version 1), so onnx.checker knows the node."""
from __future__ import annotations

import onnx
from onnx.defs import OpSchema

from runtimes.ops.nodes import BINARY_SEARCH as OP_TYPE
from runtimes.ops.nodes import DOMAIN, VERSION
#: the node's attributes: the code layout (runtimes/ops/bebr_spec.py) and k
ATTRIBUTES = ("bits", "planes", "k")


def schema() -> OpSchema:
    def tensor(name: str, kind: str, doc: str) -> OpSchema.FormalParameter:
        return OpSchema.FormalParameter(name, kind, doc)

    return OpSchema(
        OP_TYPE, DOMAIN, VERSION,
        doc="Top-k cosine search over BEBR binary codes by symmetric distance (runtimes/ops/bebr_spec.py "
            "states the contract): scores descending, ties to the lower document index.",
        inputs=[tensor("query_codes", "tensor(int32)", "[Q, W] int32 words of the query codes"),
                tensor("query_norms", "tensor(float)", "[Q] the codes' norms"),
                tensor("doc_codes", "tensor(int32)", "[N, W] int32 words of the document codes"),
                tensor("doc_norms", "tensor(float)", "[N] the codes' norms")],
        outputs=[tensor("scores", "tensor(float)", "[Q, k] cosine, descending"),
                 tensor("indices", "tensor(int64)", "[Q, k] document rows")],
        attributes=[OpSchema.Attribute(name, OpSchema.AttrType.INT, description=f"see bebr_spec ({name})")
                    for name in ATTRIBUTES],
    )


def register() -> None:
    """Idempotent: onnx keeps one schema per (domain, name, version)."""
    if not onnx.defs.has(OP_TYPE, DOMAIN):
        onnx.defs.register_schema(schema())
