"""The ONNX schema of rapid::RapidFeatures (domain `rapid`, version 1), so onnx.checker knows the node."""
from __future__ import annotations

import onnx
from onnx.defs import OpSchema

from runtimes.ops.nodes import DOMAIN, VERSION
from runtimes.ops.nodes import RAPID_FEATURES as OP_TYPE
from runtimes.ops.rapid_spec import RapidConfig

_INT_ATTRIBUTES = ("window", "k_near", "k_mid", "k_far", "frozen")


def schema() -> OpSchema:
    defaults = RapidConfig().attributes()
    attributes = [
        OpSchema.Attribute(name, OpSchema.AttrType.INT if name in _INT_ATTRIBUTES else OpSchema.AttrType.FLOAT,
                           description=f"see runtimes/ops/rapid_spec.py (default {value})")
        for name, value in defaults.items()
    ]
    return OpSchema(
        OP_TYPE, DOMAIN, VERSION,
        doc="R-RAPiD features of a range image: sorted, normalised 4-D distances to the k nearest same-row "
            "neighbours within a column window (runtimes/ops/rapid_spec.py states the contract).",
        inputs=[OpSchema.FormalParameter("image", "T", "[B, 4, H, W]: x, y, z, reflectivity; zero where empty")],
        outputs=[OpSchema.FormalParameter("features", "T", "[B, k_max, H, W] in [0, 1]")],
        type_constraints=[("T", ["tensor(float)"], "float32")],
        attributes=attributes,
    )


def register() -> None:
    """Idempotent: onnx keeps one schema per (domain, name, version)."""
    if not onnx.defs.has(OP_TYPE, DOMAIN):
        onnx.defs.register_schema(schema())
