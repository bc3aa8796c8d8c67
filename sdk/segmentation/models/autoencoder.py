"""The double-nested autoencoder of RAPiD-Seg: an outer set-attention encoder pools the RAPiD vectors of
a cell's pixels into l latent codes of d channels; an inner convolutional autoencoder squeezes each code
from d to code_dim and back; a decoder reconstructs every pixel's RAPiD vector from the cell (training only).

Cells are 1 x cell_width pixels of the range image: neighbours along a laser ring, the geometry RAPiD
itself is computed on, and a layout that stays a plain tensor reshape in ONNX."""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from sdk.segmentation.models.rapid_seg_config import RapidSegConfig

MASKED = -1e4  # attention score of an empty pixel (finite, so a cell without returns stays defined)


def to_cells(pixels: torch.Tensor, cell_width: int) -> torch.Tensor:
    """[B, C, H, W] -> [B, C, H, W / cell_width, cell_width]."""
    b, c, h, w = pixels.shape
    return pixels.reshape(b, c, h, w // cell_width, cell_width)


class NestedEncoder(nn.Module):
    """Outer set-attention encoder and the inner encoder, computed together.

    Outer: l learned queries q_l attend over the cell's valid pixels (keys W_k r, values W_v r) giving
    latent codes z_l = sum_c a_lc (W_v r_c + b_v) of d channels. Inner encoder: tanh(E_l z_l + b_E),
    d -> code_dim per code. Everything between the pixel and the code is linear, so the product E_l W_v
    (and q_l W_k) can be applied after pooling the raw k-channel RAPiD vectors with each code's attention:
    the same function, without the [l, d] latent per cell that would dominate the model's cost."""

    def __init__(self, config: RapidSegConfig) -> None:
        super().__init__()
        l, d, e, k = config.latents, config.latent_dim, config.code_dim, config.rapid_channels
        self.cell_width, self.latents, self.code_dim = config.cell_width, l, e
        self.queries = nn.Parameter(torch.randn(l, d) / math.sqrt(d))
        self.key = nn.Linear(k, d)
        self.value = nn.Linear(k, d)
        self.inner = nn.Parameter(torch.randn(l, e, d) / math.sqrt(d))  # E_l
        self.inner_bias = nn.Parameter(torch.zeros(l, e))

    def forward(self, rapid: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """rapid [B, k, H, W], valid [B, 1, H, W] -> codes [B, l * code_dim, H, W / cell_width]."""
        l, e, d = self.latents, self.code_dim, self.queries.shape[1]
        score_weight = self.queries @ self.key.weight / math.sqrt(d)  # [l, k]
        score_bias = self.queries @ self.key.bias / math.sqrt(d)
        code_weight = torch.einsum("led,dk->lek", self.inner, self.value.weight)  # [l, e, k]
        code_bias = torch.einsum("led,d->le", self.inner, self.value.bias) + self.inner_bias
        scores = to_cells(F.conv2d(rapid, score_weight[:, :, None, None], score_bias), self.cell_width)
        scores = torch.where(to_cells(valid, self.cell_width) > 0, scores, MASKED)
        attention = torch.softmax(scores, dim=-1).permute(0, 2, 3, 1, 4)  # [B, H, Wc, l, cw]
        cells = to_cells(rapid, self.cell_width).permute(0, 2, 3, 4, 1)  # [B, H, Wc, cw, k]
        pooled = attention @ cells  # [B, H, Wc, l, k]: each code's attention-weighted RAPiD vector
        b, h, wc = pooled.shape[:3]
        pooled = pooled.reshape(b, h, wc, l * pooled.shape[-1]).permute(0, 3, 1, 2)  # [B, l * k, H, Wc]
        codes = F.conv2d(pooled, code_weight.reshape(l * e, -1, 1, 1), code_bias.reshape(-1), groups=l)
        return torch.tanh(codes)


class InnerDecoder(nn.Module):
    """Per code: code_dim -> d (grouped 1x1 convolution), the inner autoencoder's way back (training only)."""

    def __init__(self, config: RapidSegConfig) -> None:
        super().__init__()
        l, d, e = config.latents, config.latent_dim, config.code_dim
        self.net = nn.Sequential(nn.Conv2d(l * e, l * d, 1, groups=l), nn.ReLU())

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.net(codes)


class PixelDecoder(nn.Module):
    """Cell latents -> the RAPiD vector of each of the cell's pixels (used in training only)."""

    def __init__(self, config: RapidSegConfig) -> None:
        super().__init__()
        self.cell_width = config.cell_width
        self.channels = config.rapid_channels
        self.net = nn.Sequential(
            nn.Conv2d(config.latents * config.latent_dim, 128, 1), nn.ReLU(),
            nn.Conv2d(128, config.cell_width * config.rapid_channels, 1), nn.Sigmoid())

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """[B, l * d, H, Wc] -> [B, k, H, Wc * cell_width]."""
        b, _, h, wc = latents.shape
        cells = self.net(latents).reshape(b, self.cell_width, self.channels, h, wc)
        return cells.permute(0, 2, 3, 4, 1).reshape(b, self.channels, h, wc * self.cell_width)


class DoubleNestedAutoencoder(nn.Module):
    def __init__(self, config: RapidSegConfig) -> None:
        super().__init__()
        self.encoder = NestedEncoder(config)
        self.inner_decoder = InnerDecoder(config)
        self.decoder = PixelDecoder(config)

    def forward(self, rapid: torch.Tensor, valid: torch.Tensor, reconstruct: bool = False):
        """-> (codes [B, l * code_dim, H, Wc], reconstruction [B, k, H, W] or None)."""
        codes = self.encoder(rapid, valid)
        if not reconstruct:
            return codes, None
        return codes, self.decoder(self.inner_decoder(codes))
