"""One-op ONNX models of rapid::RapidFeatures in either form (portable: standard ops; plugin: one node),
for checking the op in ONNX Runtime and TensorRT on its own and for the benchmark."""
from __future__ import annotations

from pathlib import Path

import onnx
import torch

from runtimes.ops.rapid_spec import RapidConfig

from ..opset import DEFAULT_OPSET
from .custom_op import rapid_features_plugin, translation_table
from .torch_impl import rapid_features_torch

FORMS = ("portable", "plugin")


class _RapidModule(torch.nn.Module):
    def __init__(self, config: RapidConfig, form: str) -> None:
        super().__init__()
        self.config = config
        self.function = rapid_features_plugin if form == "plugin" else rapid_features_torch

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.function(image, self.config)


def export_rapid_features(path: Path, form: str, height: int, width: int, config: RapidConfig = RapidConfig(),
                          opset: int = DEFAULT_OPSET, max_batch: int = 16) -> onnx.ModelProto:
    """Write a model with input `image` [batch, 4, H, W] and output `features` [batch, k_max, H, W]."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; choose {', '.join(FORMS)}")
    example = torch.zeros((2, 4, height, width), dtype=torch.float32)
    program = torch.onnx.export(
        _RapidModule(config, form).eval(), (example,), dynamo=True, opset_version=opset, input_names=["image"],
        output_names=["features"], custom_translation_table=translation_table(), verbose=False,
        dynamic_shapes={"image": {0: torch.export.Dim("batch", min=1, max=max_batch)}},
    )
    program.save(str(path))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    return model
