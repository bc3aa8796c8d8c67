"""rapid::RapidFeatures in standard PyTorch ops; exported, it is the portable ONNX form.

Every op used maps to an ONNX op on the TensorRT parser's supported list (export/tensorrt_onnx_ops.txt):
Gather for the candidate windows (constant indices, so no Mod), Sqrt/Mul/Add/Sub, Where, TopK with a
constant K (from the stable sorts), ReduceMin/ReduceMax, Less/LessOrEqual/And/Not, IsNaN-free masks.
The arithmetic follows the NumPy reference step by step, in float32.
"""
from __future__ import annotations

import numpy as np
import torch

from runtimes.ops.rapid_spec import NOTHING_NEAR, RapidConfig


def candidate_index(width: int, config: RapidConfig) -> torch.Tensor:
    """[W, C] column of each candidate, wrapped around the azimuth (a constant: no Mod in the graph)."""
    return torch.as_tensor((np.arange(width)[:, None] + config.candidate_offsets()[None, :]) % width)


def rapid_features_torch(image: torch.Tensor, config: RapidConfig) -> torch.Tensor:
    """[B, 4, H, W] -> [B, k_max, H, W]."""
    inf = torch.tensor(float("inf"), dtype=image.dtype)
    xyz, reflectivity = image[:, :3], image[:, 3]
    finite = (xyz.abs() < inf).all(dim=1) & (reflectivity.abs() < inf)
    valid = finite & (torch.where(finite[:, None], xyz, 0.0).abs().sum(dim=1) > 0)
    xyz = torch.where(valid[:, None], xyz, 0.0)
    reflectivity = torch.where(valid, reflectivity, 0.0)

    index = candidate_index(image.shape[-1], config)
    difference = xyz[..., index] - xyz[..., None]  # [B, 3, H, W, C]
    distance3 = torch.sqrt(difference[:, 0] * difference[:, 0] + difference[:, 1] * difference[:, 1]
                           + difference[:, 2] * difference[:, 2])
    distance3 = torch.where(valid[..., index] & valid[..., None], distance3, inf)
    chosen3, order = torch.sort(distance3, dim=-1, stable=True)
    chosen3, order = chosen3[..., : config.k_max], order[..., : config.k_max]
    chosen_refl = torch.gather(reflectivity[..., index], -1, order)

    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    distance = torch.sqrt(x * x + y * y + z * z)
    near, far = config.range_thresholds
    k_near, k_mid, k_far = config.k_values
    k = torch.where(distance < near, k_near, torch.where(distance < far, k_mid, k_far))
    chosen = (torch.arange(config.k_max) < k[..., None]) & (chosen3 < inf)

    if config.frozen:
        stats = config.frozen
        r_min, r_max, d_min, d_max = (torch.tensor(v, dtype=image.dtype).reshape(1, 1, 1)
                                      for v in (stats.r_min, stats.r_max, stats.d_min, stats.d_max))
    else:
        r_min = torch.where(valid, reflectivity, inf).amin(dim=(1, 2), keepdim=True)
        r_max = torch.where(valid, reflectivity, -inf).amax(dim=(1, 2), keepdim=True)
        d_min = torch.where(chosen, chosen3, inf).amin(dim=(1, 2, 3))[:, None, None]
        d_max = torch.where(chosen, chosen3, -inf).amax(dim=(1, 2, 3))[:, None, None]
    span = r_max - r_min
    ratio = torch.where(span > 0, (d_max - d_min) / torch.where(span > 0, span, 1.0), 0.0)
    g_centre = d_min + (reflectivity - r_min) * ratio
    g_neighbour = d_min[..., None] + (chosen_refl - r_min[..., None]) * ratio[..., None]
    gap = g_centre[..., None] - g_neighbour
    distance4 = torch.sqrt(chosen3 * chosen3 + gap * gap)
    distance4 = torch.where(chosen, distance4, inf)
    distance4 = torch.sort(distance4, dim=-1, stable=True).values

    if config.frozen:
        scale = torch.tensor(config.frozen.scale, dtype=image.dtype)
    else:
        scale = torch.where(distance4 < inf, distance4, -inf).amax(dim=(1, 2, 3))[:, None, None, None]
    values = distance4 / scale
    in_range = values <= config.delta
    row_max = torch.where(in_range, values, -inf).amax(dim=-1, keepdim=True)
    features = torch.where(in_range, values, row_max)
    features = torch.where((row_max > -inf) & valid[..., None], features, NOTHING_NEAR)
    return features.permute(0, 3, 1, 2)


class RapidFeatures(torch.nn.Module):
    """The portable form as a module, for export and for models that compute features in-graph."""

    def __init__(self, config: RapidConfig = RapidConfig()) -> None:
        super().__init__()
        self.config = config

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return rapid_features_torch(image, self.config)
