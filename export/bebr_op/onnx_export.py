"""One-op ONNX models of rapid::BinarySearch in either form (portable: standard ops; plugin: one node),
for checking the op in ONNX Runtime and TensorRT on its own and for the benchmark."""
from __future__ import annotations

from pathlib import Path

import onnx
import torch

from runtimes.ops.bebr_spec import CodeLayout, check_k
from runtimes.ops.nodes import DOCUMENTS, QUERIES
from runtimes.ops.nodes import SEARCH_INPUTS as INPUTS
from runtimes.ops.nodes import SEARCH_OUTPUTS as OUTPUTS

from ..opset import DEFAULT_OPSET
from .custom_op import binary_search_plugin, translation_table
from .torch_impl import binary_search_torch

FORMS = ("portable", "plugin")


class BinarySearchModule(torch.nn.Module):
    """The op with a fixed layout and k, in either form."""

    def __init__(self, layout: CodeLayout, k: int, form: str) -> None:
        super().__init__()
        if form not in FORMS:
            raise ValueError(f"unknown form {form!r}; choose {', '.join(FORMS)}")
        self.layout, self.k = layout, k
        self.function = binary_search_plugin if form == "plugin" else binary_search_torch

    def forward(self, query_codes, query_norms, doc_codes, doc_norms):
        return self.function(query_codes, query_norms, doc_codes, doc_norms, self.layout, self.k)


def example_codes(count: int, layout: CodeLayout) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid codes and norms to trace with (their values do not matter)."""
    from runtimes.ops.bebr_spec import code_norms

    codes = torch.arange(count * layout.words, dtype=torch.int32).reshape(count, layout.words) * 7919
    return codes, torch.from_numpy(code_norms(codes.numpy(), layout))


def export_binary_search(path: Path, form: str, layout: CodeLayout, k: int, opset: int = DEFAULT_OPSET) -> onnx.ModelProto:
    """Inputs query_codes [queries, W], query_norms [queries], doc_codes [documents, W], doc_norms
    [documents]; outputs scores [queries, k], indices [queries, k]."""
    check_k(k, k)
    queries, documents = example_codes(3, layout), example_codes(max(2 * k, 16), layout)
    query_axis = torch.export.Dim(QUERIES, min=1, max=65536)
    doc_axis = torch.export.Dim(DOCUMENTS, min=k, max=1 << 30)
    program = torch.onnx.export(
        BinarySearchModule(layout, k, form).eval(), (*queries, *documents), dynamo=True, opset_version=opset,
        input_names=list(INPUTS), output_names=list(OUTPUTS), custom_translation_table=translation_table(),
        dynamic_shapes={"query_codes": {0: query_axis}, "query_norms": {0: query_axis},
                        "doc_codes": {0: doc_axis}, "doc_norms": {0: doc_axis}}, verbose=False)
    program.save(str(path))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    return model
