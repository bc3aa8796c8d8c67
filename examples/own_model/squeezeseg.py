"""A small SqueezeSeg-style network (Wu et al., 2018: Fire modules over the range image, downsampling along
the columns only), with RAPiD features as extra input channels: an architecture independent of
rapid_seg's, exported and run through the SDK as any user's network would be (docs/own_model.md).

    rapid-edge export --model examples/own_model/squeezeseg.py:build --checkpoint W.safetensors \\
        --config examples/own_model/squeezeseg.json --out squeezeseg_pkg/

Contract: "pixel_logits" with RAPiD: forward(image [1, 4, H, W], rapid [1, k, H, W]) -> [1, classes, H, W]."""
from __future__ import annotations

import torch
from torch import nn


class Fire(nn.Module):
    """Squeeze (1x1) then expand (1x1 and 3x3, concatenated): SqueezeNet's module."""

    def __init__(self, channels_in: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(channels_in, squeeze, 1), nn.BatchNorm2d(squeeze), nn.ReLU())
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1), nn.BatchNorm2d(expand), nn.ReLU())
        self.expand3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1), nn.BatchNorm2d(expand), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = self.squeeze(x)
        return torch.cat([self.expand1(squeezed), self.expand3(squeezed)], dim=1)


class FireUp(nn.Module):
    """Twice the columns (nearest), then a Fire module over the upsampled map and the skip connection."""

    def __init__(self, channels_in: int, skip: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=(1, 2), mode="nearest")
        self.fire = Fire(channels_in + skip, squeeze, expand)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.fire(torch.cat([self.upsample(x), skip], dim=1))


class SqueezeSegLite(nn.Module):
    def __init__(self, classes: int = 19, rapid_channels: int = 10, width: int = 16) -> None:
        super().__init__()
        channels_in = 5 + rapid_channels  # x, y, z, intensity, range, then the RAPiD features
        self.stem = nn.Sequential(nn.Conv2d(channels_in, 4 * width, 3, stride=(1, 2), padding=1),
                                  nn.BatchNorm2d(4 * width), nn.ReLU())
        self.pool = nn.MaxPool2d(3, stride=(1, 2), padding=1)
        self.down1 = nn.Sequential(Fire(4 * width, width, 4 * width), Fire(8 * width, width, 4 * width))
        self.down2 = nn.Sequential(Fire(8 * width, 2 * width, 8 * width), Fire(16 * width, 2 * width, 8 * width))
        self.up2 = FireUp(16 * width, 8 * width, 2 * width, 4 * width)
        self.up1 = FireUp(8 * width, 4 * width, width, 2 * width)
        self.up0 = FireUp(4 * width, channels_in, width, 2 * width)
        self.classifier = nn.Conv2d(4 * width, classes, 3, padding=1)

    def forward(self, image: torch.Tensor, rapid: torch.Tensor) -> torch.Tensor:
        xyz = image[:, :3]
        distance = torch.sqrt((xyz * xyz).sum(dim=1, keepdim=True))
        x0 = torch.cat([image, distance, rapid], dim=1)     # full columns
        x1 = self.stem(x0)                                   # 1/2
        x2 = self.down1(self.pool(x1))                       # 1/4
        x3 = self.down2(self.pool(x2))                       # 1/8
        return self.classifier(self.up0(self.up1(self.up2(x3, x2), x1), x0))


def build(classes: int = 19, rapid_channels: int = 10, width: int = 16) -> SqueezeSegLite:
    """The factory `rapid-edge export --model` calls with the config's arguments."""
    return SqueezeSegLite(classes, rapid_channels, width)
