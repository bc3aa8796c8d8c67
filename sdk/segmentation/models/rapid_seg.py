"""RAPiD-Seg as shipped: R-RAPiD features -> double-nested autoencoder embedding -> FuAtten with the
coordinate and intensity embeddings -> range-view U-Net -> per-point head (19 SemanticKITTI classes).

Inputs (one model for training, evaluation and every export form):
  image   [B, 4, H, W]  x, y, z, intensity of the range image (zero where empty)
  pixel   [N] int64     each point's pixel, as an index into B * H * W
  points  [N, 4]        each point's x, y, z, intensity
  rapid   [B, k, H, W]  the RAPiD features, or None to compute them in the graph
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from sensors.labels import SEMANTIC_KITTI

from sdk.segmentation.models.autoencoder import DoubleNestedAutoencoder, to_cells
from sdk.segmentation.models.backbone import RangeUNet
from sdk.segmentation.models.fusion import FuAtten, PlainFusion
from sdk.segmentation.models.head import PointHead, point_geometry
from sdk.segmentation.models.interface import RAPID_FORMS, NetworkInterface, rapid_in_graph
from sdk.segmentation.models.rapid_seg_config import RapidSegConfig

@dataclass
class TrainingOutputs:
    logits: torch.Tensor  # [N, classes]
    codes: torch.Tensor | None  # [B, l * code_dim, H, Wc]: the class-aware embedding
    reconstruction: torch.Tensor | None  # [B, k, H, W]
    rapid: torch.Tensor | None  # [B, k, H, W]: what the autoencoder reconstructs
    valid: torch.Tensor  # [B, 1, H, W]


class RapidSeg(nn.Module):
    def __init__(self, config: RapidSegConfig = RapidSegConfig(), rapid_form: str = "input") -> None:
        super().__init__()
        if rapid_form not in RAPID_FORMS:
            raise ValueError(f"rapid_form must be one of {RAPID_FORMS}")
        self.config = config
        self.rapid_form = rapid_form
        c = config
        self.coordinates = nn.Sequential(nn.Conv2d(4, c.coordinate_channels, 1), nn.ReLU(),
                                         nn.Conv2d(c.coordinate_channels, c.coordinate_channels, 1), nn.ReLU())
        self.intensity = nn.Sequential(nn.Conv2d(1, c.intensity_channels, 1), nn.ReLU())
        fused_in = c.coordinate_channels + c.intensity_channels
        self.autoencoder = DoubleNestedAutoencoder(c) if c.use_autoencoder else None
        self.rapid_cells = None
        if c.use_rapid and not c.use_autoencoder:  # the ablation: raw RAPiD vectors pooled per cell
            self.rapid_cells = nn.Sequential(nn.Conv2d(c.rapid_channels, 32, 1), nn.ReLU())
            fused_in += 32
        elif c.use_autoencoder:
            fused_in += c.latents * c.code_dim
        self.fusion = (FuAtten(fused_in, c.fused_channels, c.fuatten_reduction) if c.use_fuatten
                       else PlainFusion(fused_in, c.fused_channels))
        self.backbone = RangeUNet(c.fused_channels, c.stage_channels)
        self.head = PointHead(self.backbone.out_channels, c.head_cell_channels,
                              c.rapid_channels if c.use_rapid else 0, c.head_hidden, c.classes)

    @property
    def interface(self) -> NetworkInterface:
        c = self.config
        return NetworkInterface(c.height, c.width, SEMANTIC_KITTI, c.rapid if c.use_rapid else None)

    def compute_rapid(self, image: torch.Tensor) -> torch.Tensor:
        """In the graph for the portable and plugin forms; in training, where no feature is fed, as portable."""
        return rapid_in_graph(image, self.config.rapid, "plugin" if self.rapid_form == "plugin" else "portable")

    def forward(self, image: torch.Tensor, pixel: torch.Tensor, points: torch.Tensor,
                rapid: torch.Tensor | None = None) -> torch.Tensor:
        return self.run(image, pixel, points, rapid).logits

    def run(self, image, pixel, points, rapid=None, reconstruct: bool = False) -> TrainingOutputs:
        c = self.config
        xyz = image[:, :3]
        valid = ((xyz.abs().sum(dim=1, keepdim=True)) > 0).to(image.dtype)
        distance = torch.sqrt((xyz * xyz).sum(dim=1, keepdim=True))
        coordinates = self.cell_max(self.coordinates(torch.cat([xyz, distance], dim=1)), valid)
        intensity = self.cell_max(self.intensity(image[:, 3:4]), valid)
        embeddings = [coordinates, intensity]
        codes = reconstruction = None
        if c.use_rapid:
            if rapid is None:
                rapid = self.compute_rapid(image)
            if self.autoencoder is not None:
                codes, reconstruction = self.autoencoder(rapid, valid, reconstruct)
                embeddings.append(codes)
            else:
                embeddings.append(self.cell_max(self.rapid_cells(rapid), valid))
        cell_valid = to_cells(valid, c.cell_width).amax(dim=-1)
        fused = self.fusion(torch.cat(embeddings, dim=1), cell_valid)
        cells = self.backbone(fused)
        point_features = point_geometry(points)
        if c.use_rapid:
            flat_rapid = rapid.permute(0, 2, 3, 1).reshape(-1, rapid.shape[1])
            point_features = torch.cat([point_features, flat_rapid.index_select(0, pixel)], dim=1)
        # consecutive cell_width columns of a row form a cell (pixel >= 0: truncation is floor, and no Mod)
        cell_index = torch.div(pixel, c.cell_width, rounding_mode="trunc")
        logits = self.head(cells, cell_index, point_features)
        return TrainingOutputs(logits, codes, reconstruction, rapid, valid)

    def cell_max(self, pixels: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Max over each cell's valid pixels (features are non-negative, so empty pixels count as 0)."""
        return to_cells(pixels * valid, self.config.cell_width).amax(dim=-1)
