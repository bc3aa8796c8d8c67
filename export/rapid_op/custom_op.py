"""rapid::RapidFeatures as a torch.library custom op that the dynamo exporter writes as ONE node in
domain `rapid` (the plugin form), plus the translation that keeps the portable form's stable sorts
exact (ONNX TopK breaks ties by index, as the reference's stable sort does)."""
from __future__ import annotations

import torch

from runtimes.ops.rapid_spec import RapidConfig

from . import schema
from .torch_impl import rapid_features_torch


@torch.library.custom_op("rapid::rapid_features", mutates_args=())
def rapid_features_op(image: torch.Tensor, window: int, k_near: int, k_mid: int, k_far: int,
                      range_near: float, range_far: float, delta: float, frozen: int,
                      r_min: float, r_max: float, d_min: float, d_max: float, scale: float) -> torch.Tensor:
    config = RapidConfig.from_attributes(dict(
        window=window, k_near=k_near, k_mid=k_mid, k_far=k_far, range_near=range_near, range_far=range_far,
        delta=delta, frozen=frozen, r_min=r_min, r_max=r_max, d_min=d_min, d_max=d_max, scale=scale))
    return rapid_features_torch(image, config).contiguous()


@rapid_features_op.register_fake
def _(image, window, k_near, k_mid, k_far, range_near, range_far, delta, frozen, r_min, r_max, d_min, d_max, scale):
    return image.new_empty((image.shape[0], max(k_near, k_mid, k_far), image.shape[2], image.shape[3]))


def rapid_features_plugin(image: torch.Tensor, config: RapidConfig) -> torch.Tensor:
    """Call the custom op with a config: in eager mode it computes, exported it is one rapid node."""
    return rapid_features_op(image, **config.attributes())


def _onnx_rapid_features(image, window, k_near, k_mid, k_far, range_near, range_far, delta, frozen,
                         r_min, r_max, d_min, d_max, scale):
    import onnxscript

    rapid = onnxscript.values.Opset(schema.DOMAIN, schema.VERSION)
    return rapid.RapidFeatures(image, window=window, k_near=k_near, k_mid=k_mid, k_far=k_far,
                               range_near=range_near, range_far=range_far, delta=delta, frozen=frozen,
                               r_min=r_min, r_max=r_max, d_min=d_min, d_max=d_max, scale=scale)


def _onnx_stable_sort(self, stable=None, dim: int = -1, descending: bool = False):
    from onnxscript import opset18 as op

    everything = op.Shape(self, start=dim)  # static in our graphs: folded into TopK's constant K
    return op.TopK(self, everything, axis=dim, largest=descending, sorted=True)


def translation_table() -> dict:
    """custom_translation_table for torch.onnx.export(dynamo=True)."""
    schema.register()
    return {
        torch.ops.rapid.rapid_features.default: _onnx_rapid_features,
        torch.ops.aten.sort.stable: _onnx_stable_sort,
    }
