"""rapid::RapidFeatures for ONNX Runtime on the CPU, through onnxruntime-extensions' Python ops.

The extension copies tensors through Python lists, so this serves to run and check plugin-form graphs
on a machine without TensorRT, not the hot path (the CPU pipeline runs the split or portable form)."""
from __future__ import annotations

from functools import cache

import numpy as np

from .rapid_numba import rapid_features_numba
from .rapid_spec import RapidConfig

DOMAIN = "rapid"
OP_TYPE = "RapidFeatures"


@cache
def register() -> str:
    """Register the Python op once per process; returns the extensions library to load into sessions."""
    from onnxruntime_extensions import PyCustomOpDef, get_library_path, onnx_op

    integer, real = PyCustomOpDef.dt_int64, PyCustomOpDef.dt_float
    attributes = {name: integer if isinstance(value, int) else real for name, value in RapidConfig().attributes().items()}

    @onnx_op(op_type=f"{DOMAIN}::{OP_TYPE}", inputs=[real], outputs=[real], attrs=attributes)
    def rapid_features(image: np.ndarray, **node_attributes) -> np.ndarray:
        return rapid_features_numba(np.asarray(image, dtype=np.float32), RapidConfig.from_attributes(node_attributes))

    return get_library_path()


def session_options(options=None):
    """onnxruntime SessionOptions able to run graphs holding rapid:: nodes."""
    import onnxruntime as ort

    options = options or ort.SessionOptions()
    options.register_custom_ops_library(register())
    return options
