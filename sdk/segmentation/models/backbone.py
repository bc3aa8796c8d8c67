"""A small range-view U-Net over the cell grid: three stride-2 stages down, three up with skips.
Plain Conv/BatchNorm/ReLU/Resize: exports to ONNX and builds in TensorRT without plugins."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def conv_bn(inputs: int, outputs: int, kernel: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, inputs: int, skip: int, outputs: int) -> None:
        super().__init__()
        self.merge = conv_bn(inputs + skip, outputs, kernel=1)
        self.refine = conv_bn(outputs, outputs)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.refine(self.merge(torch.cat([x, skip], dim=1)))


class RangeUNet(nn.Module):
    def __init__(self, inputs: int, channels: tuple[int, int, int, int]) -> None:
        super().__init__()
        c0, c1, c2, c3 = channels
        self.stem = conv_bn(inputs, c0)
        self.down1 = nn.Sequential(conv_bn(c0, c1, stride=2), conv_bn(c1, c1))
        self.down2 = nn.Sequential(conv_bn(c1, c2, stride=2), conv_bn(c2, c2))
        self.down3 = nn.Sequential(conv_bn(c2, c3, stride=2), conv_bn(c3, c3))
        self.up2 = Up(c3, c2, c2)
        self.up1 = Up(c2, c1, c1)
        self.up0 = Up(c1, c0, c0)
        self.out_channels = c0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = self.stem(x)
        s1 = self.down1(s0)
        s2 = self.down2(s1)
        s3 = self.down3(s2)
        return self.up0(self.up1(self.up2(s3, s2), s1), s0)
