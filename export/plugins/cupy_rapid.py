"""rapid::RapidFeatures on an NVIDIA GPU through CuPy, from the very kernel source the TensorRT plugin
compiles (rapid_features_kernels.cu): the GPU check of the kernels without TensorRT."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from runtimes.ops.rapid_spec import RapidConfig, check_image

KERNELS = Path(__file__).with_name("rapid_features_kernels.cu")
THREADS = 256
STATS = 5


def cuda_available() -> bool:
    """A usable CUDA device with CuPy installed."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # ImportError, or CuPy present without a driver
        return False


@cache
def _kernels():
    import cupy

    module = cupy.RawModule(code=KERNELS.read_text(), options=("--std=c++17",))
    return {name: module.get_function(name) for name in ("rapid_init_stats", "rapid_select", "rapid_distance4", "rapid_normalise")}


def rapid_features_cuda(image, config: RapidConfig):
    """[B, 4, H, W] (NumPy or CuPy) -> CuPy [B, k_max, H, W]; call .get() for NumPy."""
    import cupy

    check_image(image)
    image = cupy.ascontiguousarray(cupy.asarray(image, dtype=cupy.float32))
    batch, _, height, width = image.shape
    k_max = config.k_max
    pixels = batch * height * width
    d3 = cupy.empty(pixels * k_max, dtype=cupy.float32)
    reflectivity = cupy.empty(pixels * k_max, dtype=cupy.float32)
    count = cupy.empty(pixels, dtype=cupy.int32)
    stats = cupy.empty(batch * STATS, dtype=cupy.uint32)
    out = cupy.empty((batch, k_max, height, width), dtype=cupy.float32)
    frozen = config.frozen
    constants = [np.float32(v) for v in ((frozen.r_min, frozen.r_max, frozen.d_min, frozen.d_max) if frozen else (0, 0, 0, 0))]
    scale = np.float32(frozen.scale if frozen else 0.0)
    i32 = np.int32
    k_near, k_mid, k_far = config.k_values
    near, far = config.range_thresholds
    blocks = ((pixels + THREADS - 1) // THREADS,)
    kernels = _kernels()
    kernels["rapid_init_stats"](((batch + THREADS - 1) // THREADS,), (THREADS,), (stats, i32(batch)))
    kernels["rapid_select"](blocks, (THREADS,), (image, i32(batch), i32(height), i32(width), i32(config.window),
                            i32(k_near), i32(k_mid), i32(k_far), np.float32(near), np.float32(far), i32(k_max),
                            d3, reflectivity, count, stats))
    kernels["rapid_distance4"](blocks, (THREADS,), (image, i32(batch), i32(height), i32(width), i32(k_max),
                               i32(frozen is not None), *constants, d3, reflectivity, count, stats))
    kernels["rapid_normalise"](blocks, (THREADS,), (i32(batch), i32(height), i32(width), i32(k_max),
                               i32(frozen is not None), scale, np.float32(config.delta), d3, count, stats, out))
    return out
