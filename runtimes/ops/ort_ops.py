"""The SDK's custom ops (rapid::RapidFeatures, rapid::BinarySearch) for ONNX Runtime on the CPU, through
onnxruntime-extensions' Python ops.

The extension copies tensors through Python lists, so this serves to run and check plugin-form graphs
on a machine without TensorRT, not the hot path (the CPU pipelines run the split or portable forms)."""
from __future__ import annotations

from functools import cache

import numpy as np

from .bebr_numba import binary_search_numba
from .bebr_spec import CodeLayout
from .rapid_numba import rapid_features_numba
from .rapid_spec import RapidConfig

DOMAIN = "rapid"


@cache
def register() -> str:
    """Register the Python ops once per process; returns the extensions library to load into sessions."""
    from onnxruntime_extensions import PyCustomOpDef, get_library_path, onnx_op

    integer, real = PyCustomOpDef.dt_int64, PyCustomOpDef.dt_float
    attributes = {name: integer if isinstance(value, int) else real for name, value in RapidConfig().attributes().items()}

    @onnx_op(op_type=f"{DOMAIN}::RapidFeatures", inputs=[real], outputs=[real], attrs=attributes)
    def rapid_features(image: np.ndarray, **node_attributes) -> np.ndarray:
        return rapid_features_numba(np.asarray(image, dtype=np.float32), RapidConfig.from_attributes(node_attributes))

    words = PyCustomOpDef.dt_int32

    @onnx_op(op_type=f"{DOMAIN}::BinarySearch", inputs=[words, real, words, real], outputs=[real, integer],
             attrs={"bits": integer, "planes": integer, "k": integer})
    def binary_search(query_codes, query_norms, doc_codes, doc_norms, bits, planes, k):
        return binary_search_numba(np.asarray(query_codes, dtype=np.int32), np.asarray(query_norms, dtype=np.float32),
                                   np.asarray(doc_codes, dtype=np.int32), np.asarray(doc_norms, dtype=np.float32),
                                   CodeLayout(int(bits), int(planes)), int(k))

    return get_library_path()


def session_options(options=None):
    """onnxruntime SessionOptions able to run graphs holding rapid:: nodes."""
    import onnxruntime as ort

    options = options or ort.SessionOptions()
    options.register_custom_ops_library(register())
    return options
