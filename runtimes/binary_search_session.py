"""rapid::BinarySearch as the one node of an ONNX Runtime session, run by the SDK's native op library: the BEBR
search as a deployed graph runs it (`SearchOptions(runtime="onnxruntime")`, `rapid-edge bebr search
--search-runtime onnxruntime`), beside the numba path. The documents are bound once, without a copy."""
from __future__ import annotations

import numpy as np

from . import native_ops
from .onnxruntime_install import load_onnxruntime
from .onnxruntime_runner import session_options
from .ops.bebr_spec import CodeLayout, check_codes, check_k, check_norms
from .ops.nodes import BINARY_SEARCH, DOCUMENTS, DOMAIN, QUERIES, SEARCH_INPUTS, SEARCH_OUTPUTS, VERSION

#: the standard opset the one-node graph declares (it holds no standard op)
ONNX_OPSET = 17


def binary_search_graph(layout: CodeLayout, k: int):
    """The ONNX model: the four inputs (queries and documents dynamic) -> scores float32 and indices int64 [Q, k]."""
    import onnx
    from onnx import TensorProto, helper

    words = layout.words
    inputs = [helper.make_tensor_value_info(name, dtype, shape) for name, dtype, shape in zip(
        SEARCH_INPUTS, (TensorProto.INT32, TensorProto.FLOAT, TensorProto.INT32, TensorProto.FLOAT),
        ([QUERIES, words], [QUERIES], [DOCUMENTS, words], [DOCUMENTS]))]
    outputs = [helper.make_tensor_value_info(name, dtype, [QUERIES, k])
               for name, dtype in zip(SEARCH_OUTPUTS, (TensorProto.FLOAT, TensorProto.INT64))]
    node = helper.make_node(BINARY_SEARCH, list(SEARCH_INPUTS), list(SEARCH_OUTPUTS), domain=DOMAIN,
                            bits=layout.bits, planes=layout.planes, k=k)
    graph = helper.make_graph([node], "binary_search", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET), helper.make_opsetid(DOMAIN, VERSION)],
                             ir_version=onnx.IR_VERSION_2023_5_5)


class BinarySearchSession:
    """Top-k of query codes against one set of documents: `search(query_codes, query_norms)` -> (scores, rows)."""

    def __init__(self, doc_codes: np.ndarray, doc_norms: np.ndarray, layout: CodeLayout, k: int,
                 threads: int | None = None, check_doc_norms: bool = True) -> None:
        ort = load_onnxruntime()
        self.layout, self.k = layout, check_k(k, len(doc_codes))
        doc_codes = check_codes(doc_codes, layout, "document codes")
        doc_norms = check_norms(doc_norms, len(doc_codes), "document norms", values=check_doc_norms)
        self.session = ort.InferenceSession(binary_search_graph(layout, self.k).SerializeToString(),
                                            native_ops.session_options(session_options(threads)),
                                            providers=["CPUExecutionProvider"])
        # on the CPU an OrtValue wraps the array's memory (a memory-mapped index stays on disk until read)
        self.documents = {name: ort.OrtValue.ortvalue_from_numpy(array)
                          for name, array in zip(SEARCH_INPUTS[2:], (doc_codes, doc_norms))}

    def search(self, query_codes: np.ndarray, query_norms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ort = load_onnxruntime()
        query_codes = check_codes(query_codes, self.layout, "query codes")
        query_norms = check_norms(query_norms, len(query_codes), "query norms")
        feed = {**self.documents, **{name: ort.OrtValue.ortvalue_from_numpy(array)
                                     for name, array in zip(SEARCH_INPUTS[:2], (query_codes, query_norms))}}
        scores, rows = self.session.run_with_ort_values(list(SEARCH_OUTPUTS), feed)
        return scores.numpy(), rows.numpy()
