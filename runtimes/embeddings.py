"""Float embeddings as users store them: `.npy` files of float16 or float32 [N, d]. One check for every
entry point (training, indexing, search, the streaming pipeline), so bad rows fail the same way everywhere."""
from __future__ import annotations

from pathlib import Path

import numpy as np


class EmbeddingError(ValueError):
    """Embeddings that cannot be binarized; the message names the file or array and the first bad row."""


def check_embeddings(values: np.ndarray, what: str, dim: int | None = None) -> np.ndarray:
    """float [N, d] with no NaN, inf or zero rows, as float32."""
    values = np.asarray(values)
    if values.dtype.kind != "f" or values.ndim != 2 or values.shape[1] == 0:
        raise EmbeddingError(f"{what}: expected float embeddings [N, d], got {values.dtype} {list(values.shape)}")
    if dim is not None and values.shape[1] != dim:
        raise EmbeddingError(f"{what}: dimension {values.shape[1]}, expected {dim}")
    values = values.astype(np.float32, copy=False)
    finite = np.isfinite(values).all(axis=1)
    if not finite.all():
        raise EmbeddingError(f"{what}: row {int(np.flatnonzero(~finite)[0])} holds NaN or inf "
                             f"({int((~finite).sum())} such rows)")
    zero = ~(values != 0).any(axis=1)
    if zero.any():
        raise EmbeddingError(f"{what}: row {int(np.flatnonzero(zero)[0])} is a zero vector, which has no direction "
                             f"to binarize ({int(zero.sum())} such rows)")
    return values


def load_embeddings(path: str | Path, dim: int | None = None) -> np.ndarray:
    """A `.npy` of float16/float32 [N, d] (never a pickle), checked."""
    path = Path(path)
    if not path.is_file():
        raise EmbeddingError(f"{path}: no such file")
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise EmbeddingError(f"{path}: not a NumPy .npy array ({err})") from err
    if not isinstance(values, np.ndarray) or values.dtype not in (np.float16, np.float32):
        raise EmbeddingError(f"{path}: expected float16 or float32 embeddings, got {getattr(values, 'dtype', type(values))}")
    return check_embeddings(values, str(path), dim)
