"""rapid::BinarySearch as a torch.library custom op that the dynamo exporter writes as ONE node in domain
`rapid` (the plugin form, for TensorRT with the SDK's plugin library); in eager mode it runs the numba
kernel."""
from __future__ import annotations

import torch

from runtimes.ops.bebr_spec import CodeLayout

from . import schema
from .torch_impl import translation_table as portable_translations


@torch.library.custom_op("rapid::binary_search", mutates_args=())
def binary_search_op(query_codes: torch.Tensor, query_norms: torch.Tensor, doc_codes: torch.Tensor,
                     doc_norms: torch.Tensor, bits: int, planes: int, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    from runtimes.ops.bebr_numba import binary_search_numba

    scores, indices = binary_search_numba(query_codes.numpy(), query_norms.numpy(), doc_codes.numpy(),
                                          doc_norms.numpy(), CodeLayout(bits, planes), k)
    return torch.from_numpy(scores), torch.from_numpy(indices)


@binary_search_op.register_fake
def _(query_codes, query_norms, doc_codes, doc_norms, bits, planes, k):
    rows = query_codes.shape[0]
    return query_norms.new_empty((rows, k)), query_norms.new_empty((rows, k), dtype=torch.int64)


def binary_search_plugin(query_codes, query_norms, doc_codes, doc_norms, layout: CodeLayout, k: int):
    """Call the custom op with a layout: in eager mode it computes, exported it is one rapid node."""
    return binary_search_op(query_codes, query_norms, doc_codes, doc_norms, layout.bits, layout.planes, k)


def _onnx_binary_search(query_codes, query_norms, doc_codes, doc_norms, bits, planes, k):
    import onnxscript

    rapid = onnxscript.values.Opset(schema.DOMAIN, schema.VERSION)
    return rapid.BinarySearch(query_codes, query_norms, doc_codes, doc_norms, bits=bits, planes=planes, k=k,
                              _outputs=2)


def translation_table() -> dict:
    """custom_translation_table entries for torch.onnx.export(dynamo=True)."""
    schema.register()
    return {torch.ops.rapid.binary_search.default: _onnx_binary_search, **portable_translations()}
