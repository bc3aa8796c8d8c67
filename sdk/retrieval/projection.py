"""A binarizer's training-free start: the residual code of a projection fitted on the embeddings alone.

Why: trained from PyTorch's random weights on one domain, the binarizer lost to sign hashing on domains it
never saw. Started instead as a projection's residual code (plane 0 the sign of the projected vector, each
later plane the sign of what the planes so far leave, decoded by the projection's transpose: each
coordinate quantized to 2^planes levels), it begins where a training-free quantizer is, and training can
only refine that. `rotation`: a random orthogonal projection; `pca`: the vectors' leading principal
directions (as many as the code has bits, at most the embedding's width, or fewer: `directions`), then a
random rotation that spreads their variance evenly over the bits, as ITQ's rotation does for signs. Fewer
directions than bits give each kept direction more of the code (several coordinates share its variance): the
code's bytes go to the directions that carry the embedding, not its tail."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sdk.retrieval.binarizer import Binarizer, ResidualMLP
from sdk.retrieval.settings import INITS


def orthogonal(rows: int, columns: int, seed: int) -> np.ndarray:
    """[rows, columns] with orthonormal rows (rows <= columns) or columns: part of a random orthogonal matrix."""
    size = max(rows, columns)
    square, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((size, size)))
    return square[:rows, :columns].astype(np.float32)


def fit_projection(vectors: np.ndarray, bits: int, kind: str, seed: int = 0, directions: int = 0) -> np.ndarray:
    """[dim, bits]: the embedding's coordinates -> the code's, fitted on unit-normalised `vectors` for `pca`,
    which keeps `directions` principal directions (0: as many as fit)."""
    dim = vectors.shape[1]
    if kind == "rotation":
        return orthogonal(dim, bits, seed)
    if kind != "pca":
        raise ValueError(f"unknown projection {kind!r}; choose one of {', '.join(INITS[1:])}")
    kept = directions or min(bits, dim)
    if not 0 < kept <= min(bits, dim):
        raise ValueError(f"a pca start of {bits} bits on {dim}-dimensional embeddings keeps 1 to {min(bits, dim)} "
                         f"principal directions, not {kept}")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)
    _, principal = np.linalg.eigh((unit.T @ unit).astype(np.float64) / len(unit))  # ascending eigenvalues
    leading = principal[:, ::-1][:, :kept].astype(np.float32)
    return leading @ orthogonal(kept, bits, seed)


def initialise(model: Binarizer, projection: np.ndarray) -> Binarizer:
    """Every encoder becomes x @ projection and every decoder codes @ projection.T (an MLP block through its
    skip, its body's output zeroed), so the model computes the projection's residual code."""
    if projection.shape != (model.config.dim, model.config.bits):
        raise ValueError(f"projection {list(projection.shape)} does not map {model.config.dim} -> {model.config.bits}")
    weights = torch.from_numpy(np.ascontiguousarray(projection))
    for encoder in model.encoders:
        _set_linear(encoder, weights.T)
    for decoder in model.decoders:
        _set_linear(decoder, weights)
    return model


def _set_linear(block: nn.Module, weight: torch.Tensor) -> None:
    with torch.no_grad():
        if isinstance(block, ResidualMLP):
            if isinstance(block.skip, nn.Identity):
                raise ValueError("a residual block of equal widths has no skip projection to start from")
            last = block.body[-1]
            last.weight.zero_()
            last.bias.zero_()
            block = block.skip
        block.weight.copy_(weight)
        if block.bias is not None:
            block.bias.zero_()
