"""`auto`: the fastest backend this machine has for a package, and a sentence saying why.

Order: a TensorRT engine built for this GPU (or buildable: TensorRT present); ONNX Runtime with the
TensorRT or CUDA execution provider; ONNX Runtime on the CPU."""
from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from .errors import RuntimeUnavailable
from .onnxruntime_runner import OnnxRuntimeRunner, available_providers
from .package import Package
from .runner import Runner

BACKENDS = ("auto", "tensorrt", "onnxruntime", "onnxruntime-cpu")


def tensorrt_usable() -> bool:
    if importlib.util.find_spec("tensorrt") is None or importlib.util.find_spec("cuda") is None:
        return False
    try:
        from cuda.bindings import runtime as cudart

        error, count = cudart.cudaGetDeviceCount()
        return int(error) == 0 and count > 0
    except Exception:  # a driver-less machine raises from inside cuda-python
        return False


def choose(package: Package) -> tuple[str, str]:
    if tensorrt_usable():
        return "tensorrt", "TensorRT and a CUDA GPU are present"
    providers = available_providers()
    if providers[0] != "CPUExecutionProvider":
        return "onnxruntime", f"ONNX Runtime with {providers[0]} (no TensorRT Python package)"
    return "onnxruntime-cpu", "no GPU backend installed: ONNX Runtime on the CPU"


def open_runner(package: Package, backend: str = "auto", engine: Callable[[str], Path] | None = None,
                plugin_libraries: tuple[Path, ...] = (), threads: int | None = None,
                engine_precision: str | None = None) -> tuple[Runner, str]:
    """A runner for the package and why it was chosen. `engine(precision)` returns (building if needed) the
    path of a TensorRT engine of that precision for this machine; it is called only when TensorRT is chosen."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown runtime {backend!r}; choose one of {', '.join(BACKENDS)}")
    reason = f"{backend} requested"
    if backend == "auto":
        backend, reason = choose(package)
    if backend == "tensorrt":
        if importlib.util.find_spec("tensorrt") is None:
            raise RuntimeUnavailable("runtime 'tensorrt' needs TensorRT, which this install lacks: pip install "
                                     "'rapid-edge-sdk[gpu]' on an NVIDIA GPU machine, or choose runtime auto")
        if engine is None or engine_precision is None:
            raise ValueError("the TensorRT backend needs an engine (rapid-edge build) and its precision")
        from .tensorrt_runner import TensorRTRunner

        return (TensorRTRunner(engine(engine_precision), plugin_libraries, rebuild=lambda: engine(engine_precision),
                               precision=engine_precision), reason)
    providers = ["CPUExecutionProvider"] if backend == "onnxruntime-cpu" else None
    return OnnxRuntimeRunner(package, providers=providers, threads=threads, plugin_libraries=plugin_libraries), reason
