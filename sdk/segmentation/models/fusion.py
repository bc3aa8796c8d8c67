"""FuAtten: channel-wise attention fusion of the coordinate, intensity and RAPiD embeddings
(squeeze-excitation; the squeeze averages over the frame's cells that hold returns)."""
from __future__ import annotations

import torch
from torch import nn


class FuAtten(nn.Module):
    def __init__(self, channels: int, out_channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.excite = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid())
        self.project = nn.Sequential(nn.Conv2d(channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, embeddings: torch.Tensor, cell_valid: torch.Tensor) -> torch.Tensor:
        """embeddings [B, C, H, W], cell_valid [B, 1, H, W] -> [B, out, H, W]."""
        weight = cell_valid.to(embeddings.dtype)
        squeezed = (embeddings * weight).sum(dim=(2, 3)) / weight.sum(dim=(2, 3)).clamp(min=1.0)
        gates = self.excite(squeezed)[:, :, None, None]
        return self.project(embeddings * gates)


class PlainFusion(nn.Module):
    """The ablation without FuAtten: concatenation and a 1x1 convolution."""

    def __init__(self, channels: int, out_channels: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Conv2d(channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU())

    def forward(self, embeddings: torch.Tensor, cell_valid: torch.Tensor) -> torch.Tensor:
        return self.project(embeddings)
