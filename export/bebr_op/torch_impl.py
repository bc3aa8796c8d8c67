"""rapid::BinarySearch in standard PyTorch ops; exported, it is the portable ONNX form.

The codes are decoded to their levels sum_i 2^(u-i) b_i with integer arithmetic only (Less, Where, Sub and
Div on non-negative int32, which ONNX's integer Div computes exactly: TensorRT has no bitwise ops; the
exporter's own floor and trunc divisions add Mod or float casts, so `whole_div` translates to one Div), the
SDC scores are one MatMul of
the levels (whole numbers below 2^24: exact in float32 in any order), the cosine divides by the product
of the norms as the reference does, and TopK (K constant, at most TensorRT's 3840) ranks them; ONNX's
TopK puts the lower index first on ties, and eager PyTorch uses a stable sort to do the same. Decoding
every document on every call makes this form exact and portable, not fast."""
from __future__ import annotations

import torch

from runtimes.ops.bebr_spec import WORD_BITS, CodeLayout

INT32_MIN = -(1 << (WORD_BITS - 1))


@torch.library.custom_op("rapid::whole_div", mutates_args=())
def whole_div(dividend: torch.Tensor, divisor: torch.Tensor) -> torch.Tensor:
    """Integer division of non-negative int32 tensors (exported: one ONNX Div)."""
    return torch.div(dividend, divisor, rounding_mode="trunc")


@whole_div.register_fake
def _(dividend, divisor):
    return torch.empty(torch.broadcast_shapes(dividend.shape, divisor.shape), dtype=dividend.dtype, device=dividend.device)


def _onnx_whole_div(dividend, divisor):
    from onnxscript import opset18 as op

    return op.Div(dividend, divisor)


def translation_table() -> dict:
    """custom_translation_table entries for torch.onnx.export(dynamo=True)."""
    return {torch.ops.rapid.whole_div.default: _onnx_whole_div}


def decode_levels(codes: torch.Tensor, layout: CodeLayout) -> torch.Tensor:
    """[N, W] int32 words -> [N, m] float32 levels."""
    negative = codes < 0  # bit 31
    low = torch.where(negative, codes - INT32_MIN, codes)  # bits 0..30, non-negative
    powers = torch.tensor([1 << b for b in range(WORD_BITS - 1)], dtype=torch.int32)
    shifted = whole_div(low[..., None], powers)
    bits = shifted - 2 * whole_div(shifted, torch.tensor(2, dtype=torch.int32))
    bits = torch.cat([bits, negative[..., None].to(torch.int32)], dim=-1)  # [N, W, 32], LSB first
    signs = (2 * bits - 1).to(torch.float32).reshape(codes.shape[0], layout.planes, layout.bits)
    weights = torch.tensor([float(2 ** (layout.u - i)) for i in range(layout.planes)])
    return (signs * weights[:, None]).sum(dim=1)


def binary_search_torch(query_codes: torch.Tensor, query_norms: torch.Tensor, doc_codes: torch.Tensor,
                        doc_norms: torch.Tensor, layout: CodeLayout, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-k cosine: scores float32 [Q, k], indices int64 [Q, k]."""
    scores = decode_levels(query_codes, layout) @ decode_levels(doc_codes, layout).T
    cosine = scores / (query_norms[:, None] * doc_norms[None, :])
    if torch.compiler.is_exporting():
        return torch.topk(cosine, k, dim=1, largest=True, sorted=True)
    ranked = torch.sort(cosine, dim=1, descending=True, stable=True)
    return ranked.values[:, :k], ranked.indices[:, :k]
