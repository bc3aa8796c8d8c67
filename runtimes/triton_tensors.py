"""Tensors across Triton's Python backend (used by the models `rapid-edge export --triton` writes, inside the
server): the backend's own NumPy conversion (`as_numpy`, `Tensor(name, array)`) is compiled for NumPy 1 and
under NumPy 2 loses data (measured: empty and garbage tensors), while its DLPack path fails under NumPy 1
(`PyCapsule_GetPointer called with incorrect name`). Each NumPy takes the path that works with it."""
from __future__ import annotations

import numpy as np

DLPACK = int(np.__version__.split(".")[0]) >= 2


def to_numpy(tensor) -> np.ndarray:
    return np.from_dlpack(tensor) if DLPACK else tensor.as_numpy()


def to_tensor(pb_utils, name: str, array: np.ndarray):
    array = np.require(array, requirements=("C", "W"))  # DLPack cannot export a read-only array
    return pb_utils.Tensor.from_dlpack(name, array) if DLPACK else pb_utils.Tensor(name, array)
