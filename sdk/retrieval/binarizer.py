"""BEBR's recurrent binarizer (Gan et al., KDD 2023, arXiv 2302.08714): float embeddings -> u+1 bit-planes.

b_0 = sign(W_0(x)); for i = 1..u the code so far is decoded back to the input space (an MLP, then L2
normalised), the residual x - decode is binarized by another MLP, and the plane is added with weight
2^-i. Every transform is a residual MLP block (Linear-BN-ReLU-Linear plus a linear skip when the widths
differ). Inputs are L2-normalised. The sign is +1 at 0; its backward is the straight-through estimator
(the gradient passes where |input| <= 1).

`forward` gives the planes as +1/-1 floats (training: the codes stay differentiable); `encode` gives what
the index and the search op take: int32 words packed as runtimes/ops/bebr_spec.py lays them out, and the
float32 norms stored beside them, both computed inside the graph when exported."""
from __future__ import annotations

import torch
from torch import nn

from runtimes.ops.bebr_spec import WORD_BITS

from sdk.retrieval.settings import BinarizerConfig


class SignSTE(torch.autograd.Function):
    """sign with sign(0) = +1; backward: the gradient where |input| <= 1, zero elsewhere."""

    @staticmethod
    def forward(ctx, value: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(value)
        return torch.where(value >= 0, 1.0, -1.0).to(value.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (value,) = ctx.saved_tensors
        return grad * (value.abs() <= 1).to(grad.dtype)


def transform(inputs: int, hidden: int, outputs: int, dropout: float) -> nn.Module:
    """A residual MLP block, or one Linear when hidden is 0."""
    return ResidualMLP(inputs, hidden, outputs, dropout) if hidden else nn.Linear(inputs, outputs)


def binary_sign(value: torch.Tensor) -> torch.Tensor:
    """+1 / -1; in an exported graph a comparison (GreaterOrEqual), never ONNX Sign (whose sign(0) is 0)."""
    if torch.compiler.is_exporting():
        return torch.where(value >= 0, 1.0, -1.0)
    return SignSTE.apply(value)


class ResidualMLP(nn.Module):
    """Linear-BN-ReLU-Linear with a skip connection (a bias-free projection when the widths differ)."""

    def __init__(self, inputs: int, hidden: int, outputs: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(inputs, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, outputs))
        self.skip = nn.Identity() if inputs == outputs else nn.Linear(inputs, outputs, bias=False)

    def forward(self, value: torch.Tensor) -> torch.Tensor:
        return self.body(value) + self.skip(value)


def l2_normalise(value: torch.Tensor) -> torch.Tensor:
    return value / value.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class Binarizer(nn.Module):
    def __init__(self, config: BinarizerConfig = BinarizerConfig()) -> None:
        super().__init__()
        self.config = config
        c = config
        self.encoders = nn.ModuleList(transform(c.dim, c.hidden, c.bits, c.dropout) for _ in range(c.planes))
        self.decoders = nn.ModuleList(transform(c.bits, c.hidden, c.dim, c.dropout) for _ in range(c.planes - 1))
        self.sign = binary_sign if c.binary else nn.Identity()
        layout = c.layout
        self.register_buffer("plane_weights", torch.tensor([2.0**-i for i in range(c.planes)]), persistent=False)
        self.register_buffer("level_scale", torch.tensor(float(2**layout.u)), persistent=False)
        powers = [1 << b for b in range(WORD_BITS - 1)] + [-(1 << (WORD_BITS - 1))]  # bit 31 is the int32 sign
        self.register_buffer("bit_values", torch.tensor(powers, dtype=torch.int32), persistent=False)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """[N, dim] -> planes [N, planes, bits] of +1 / -1."""
        x = l2_normalise(embeddings)
        planes = [self.sign(self.encoders[0](x))]
        code = planes[0]
        for i in range(1, self.config.planes):
            reconstruction = l2_normalise(self.decoders[i - 1](code))
            planes.append(self.sign(self.encoders[i](x - reconstruction)))
            code = code + self.plane_weights[i] * planes[i]
        return torch.stack(planes, dim=1)

    def levels(self, planes: torch.Tensor) -> torch.Tensor:
        """[N, planes, bits] -> [N, bits]: sum_i 2^-i b_i, the code as a vector (cosine is scale-free)."""
        return torch.einsum("npm,p->nm", planes, self.plane_weights)

    def encode(self, embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[N, dim] -> codes int32 [N, W] and norms float32 [N] (the norm of sum_i 2^(u-i) b_i)."""
        if not self.config.binary:
            raise ValueError("a float projection has no binary codes")
        planes = self.forward(embeddings)
        bits = (planes > 0).to(torch.int32).reshape(planes.shape[0], -1, WORD_BITS)
        codes = (bits * self.bit_values).sum(dim=-1, dtype=torch.int32)
        levels = self.levels(planes) * self.level_scale  # whole numbers: exact in float32
        return codes, torch.sqrt((levels * levels).sum(dim=-1))


def fold_batch_norm(model: Binarizer) -> Binarizer:
    """A copy whose batch norms are folded into the Linear before them (inference: the same function)."""
    import copy

    folded = copy.deepcopy(model).eval()
    for block in folded.modules():
        if isinstance(block, ResidualMLP):
            linear, norm = block.body[0], block.body[1]
            scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
            with torch.no_grad():
                linear.weight.mul_(scale[:, None])
                linear.bias.copy_((linear.bias - norm.running_mean) * scale + norm.bias)
            block.body[1] = nn.Identity()
    return folded
