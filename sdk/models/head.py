"""The per-point head: each point reads its cell's features and adds its own geometry, intensity and
RAPiD vector, so points that share a pixel still get their own logits."""
from __future__ import annotations

import torch
from torch import nn

POINT_FEATURES = 5  # x, y, z, range, intensity


def point_geometry(points: torch.Tensor) -> torch.Tensor:
    """[N, 4] x, y, z, intensity -> [N, 5] with the range."""
    xyz = points[:, :3]
    distance = torch.sqrt((xyz * xyz).sum(dim=1, keepdim=True))
    return torch.cat([xyz, distance, points[:, 3:4]], dim=1)


class PointHead(nn.Module):
    def __init__(self, cell_channels: int, head_cell_channels: int, rapid_channels: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.reduce = nn.Sequential(nn.Conv2d(cell_channels, head_cell_channels, 1), nn.ReLU())
        self.mlp = nn.Sequential(
            nn.Linear(head_cell_channels + POINT_FEATURES + rapid_channels, hidden), nn.ReLU(),
            nn.Linear(hidden, classes))

    def forward(self, cells: torch.Tensor, cell_index: torch.Tensor, point_features: torch.Tensor) -> torch.Tensor:
        """cells [B, C, Hc, Wc]; cell_index [N] into B * Hc * Wc; point_features [N, F] -> logits [N, classes]."""
        reduced = self.reduce(cells)
        flat = reduced.permute(0, 2, 3, 1).reshape(-1, reduced.shape[1])
        return self.mlp(torch.cat([flat.index_select(0, cell_index), point_features], dim=1))
