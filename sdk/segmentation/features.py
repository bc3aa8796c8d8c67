"""`sdk.rapid_features(frame)`: R-RAPiD features per point, by any implementation of the op."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtimes.ops.rapid_spec import KITTI, NUSCENES, RapidConfig
from sensors import Frame

from sdk.segmentation.range_image import RangeImage, project

Implementation = Callable[[np.ndarray, RapidConfig], np.ndarray]


def _reference(image, config):
    from runtimes.ops.rapid_reference import rapid_features_reference

    return rapid_features_reference(image, config)


def _numba(image, config):
    from runtimes.ops.rapid_numba import rapid_features_numba

    return rapid_features_numba(image, config)


def _torch(image, config):
    import torch

    from export.rapid_op.torch_impl import rapid_features_torch

    with torch.no_grad():
        return rapid_features_torch(torch.from_numpy(image), config).numpy()


def _cuda(image, config):
    from export.plugins.cupy_rapid import rapid_features_cuda

    return rapid_features_cuda(image, config).get()


def _exact_ring(image, config):
    from runtimes.ops.rapid_exact_ring import rapid_features_exact_ring

    return rapid_features_exact_ring(image, config)


#: the op's implementations on a range image, fastest first; "exact-ring" is the authors' method (not the op)
METHODS: dict[str, Implementation] = {
    "cuda": _cuda, "numba": _numba, "torch": _torch, "reference": _reference, "exact-ring": _exact_ring,
}


def available_methods() -> list[str]:
    from export.plugins.cupy_rapid import cuda_available

    return [name for name in METHODS if name != "cuda" or cuda_available()]


def default_config(frame: Frame) -> RapidConfig:
    """Sweeps their source declares nuScenes' (`frame.meta["dataset"]`) use the nuScenes k values (8/6/3); every
    other frame, an HDL-32E of one's own included, KITTI's (10/7/5)."""
    return NUSCENES if frame.meta.get("dataset") == "nuscenes" else KITTI


def rapid_features(frame: Frame, method: str = "auto", config: RapidConfig | None = None,
                   range_image: RangeImage | None = None) -> np.ndarray:
    """float32 [N, k_max] per point. `method`: auto (the fastest available), cuda, numba, torch,
    reference, or exact-ring. Points sharing a pixel share its features; points with NaN coordinates
    (no pixel) read 1.0, the op's "nothing near"."""
    if method == "auto":
        method = available_methods()[0]
    if method not in METHODS:
        raise ValueError(f"unknown RAPiD method {method!r}; choose auto or one of {', '.join(METHODS)}")
    config = config or default_config(frame)
    range_image = range_image or project(frame)
    per_pixel = METHODS[method](range_image.image[None], config)[0]
    return range_image.gather(per_pixel)
