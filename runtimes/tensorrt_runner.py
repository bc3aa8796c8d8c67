"""TensorRT backend: a serialized engine plus the plugin libraries it needs; device buffers through
cuda-python (pycuda is not needed). An engine built for another TensorRT, CUDA or GPU (SM) is detected
from the JSON written beside it before anything is deserialised: the runner rebuilds it through the
`rebuild` callable it was given, or refuses with the reason."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .package import TensorSpec
from .runner import Runner


class EngineMismatch(RuntimeError):
    """The engine was built for another TensorRT/CUDA/GPU."""


def current_target() -> dict[str, str]:
    import tensorrt as trt
    from cuda.bindings import runtime as cudart

    _, cuda_version = cudart.cudaRuntimeGetVersion()
    _, device = cudart.cudaGetDevice()
    _, major = cudart.cudaDeviceGetAttribute(cudart.cudaDeviceAttr.cudaDevAttrComputeCapabilityMajor, device)
    _, minor = cudart.cudaDeviceGetAttribute(cudart.cudaDeviceAttr.cudaDevAttrComputeCapabilityMinor, device)
    return {"tensorrt": trt.__version__, "cuda": f"{cuda_version // 1000}.{cuda_version % 1000 // 10}", "sm": f"{major}{minor}"}


def mismatch(engine: Path, target: dict[str, str]) -> str | None:
    """Why this engine cannot run here, or None."""
    meta_path = engine.with_suffix(".json")
    if not meta_path.is_file():
        return f"{meta_path}: no record of what the engine was built for"
    built_for = json.loads(meta_path.read_text())
    different = [f"{k} {built_for.get(k)} (here {v})" for k, v in target.items() if built_for.get(k) != v]
    return f"{engine.name} was built for " + ", ".join(different) if different else None


def _check(result):
    error, *values = result if isinstance(result, tuple) else (result,)
    if int(error) != 0:
        raise RuntimeError(f"CUDA error {error}")
    return values[0] if len(values) == 1 else values


class TensorRTRunner(Runner):
    name = "tensorrt"

    def __init__(self, engine: Path, plugin_libraries: Sequence[Path] = (),
                 rebuild: Callable[[], Path] | None = None) -> None:
        super().__init__()
        self.engine_path, self.plugin_libraries, self.rebuild = Path(engine), list(plugin_libraries), rebuild
        self.engine = self.context = self.stream = None
        self.buffers: dict[str, tuple[int, int]] = {}

    def activate(self) -> None:
        import tensorrt as trt
        from cuda.bindings import runtime as cudart

        for library in self.plugin_libraries:
            trt.get_plugin_registry().load_library(str(library))
        reason = mismatch(self.engine_path, current_target())
        if reason is not None:
            if self.rebuild is None:
                raise EngineMismatch(reason)
            self.engine_path = self.rebuild()
        logger = trt.Logger(trt.Logger.WARNING)
        self.engine = trt.Runtime(logger).deserialize_cuda_engine(self.engine_path.read_bytes())
        if self.engine is None:
            raise EngineMismatch(f"{self.engine_path}: TensorRT could not deserialise it")
        self.context = self.engine.create_execution_context()
        self.stream = _check(cudart.cudaStreamCreate())

    def deactivate(self) -> None:
        from cuda.bindings import runtime as cudart

        for pointer, _ in self.buffers.values():
            cudart.cudaFree(pointer)
        self.buffers.clear()
        if self.stream is not None:
            cudart.cudaStreamDestroy(self.stream)
        self.engine = self.context = self.stream = None

    def _tensors(self, mode) -> list[TensorSpec]:
        import tensorrt as trt

        specs = []
        for i in range(self.engine.num_io_tensors):
            name = self.engine.get_tensor_name(i)
            if self.engine.get_tensor_mode(name) == mode:
                dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name))).name
                specs.append(TensorSpec(name, dtype, [d if d >= 0 else "points" for d in self.engine.get_tensor_shape(name)]))
        return specs

    def inputs(self) -> list[TensorSpec]:
        import tensorrt as trt

        return self._tensors(trt.TensorIOMode.INPUT)

    def outputs(self) -> list[TensorSpec]:
        import tensorrt as trt

        return self._tensors(trt.TensorIOMode.OUTPUT)

    def _buffer(self, name: str, nbytes: int) -> int:
        from cuda.bindings import runtime as cudart

        pointer, size = self.buffers.get(name, (0, 0))
        if size < nbytes:
            if pointer:
                cudart.cudaFree(pointer)
            pointer = _check(cudart.cudaMalloc(nbytes))
            self.buffers[name] = (pointer, nbytes)
        return pointer

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        from cuda.bindings import runtime as cudart

        copy_in, copy_out = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        for spec in self.inputs():
            array = np.ascontiguousarray(feed[spec.name])
            self.context.set_input_shape(spec.name, array.shape)
            pointer = self._buffer(spec.name, array.nbytes)
            _check(cudart.cudaMemcpyAsync(pointer, array.ctypes.data, array.nbytes, copy_in, self.stream))
            self.context.set_tensor_address(spec.name, pointer)
        results = {}
        for spec in self.outputs():
            shape = tuple(self.context.get_tensor_shape(spec.name))
            results[spec.name] = np.empty(shape, dtype=spec.dtype)
            self.context.set_tensor_address(spec.name, self._buffer(spec.name, results[spec.name].nbytes))
        if not self.context.execute_async_v3(self.stream):
            raise RuntimeError(f"{self.engine_path}: execution failed")
        for name, array in results.items():
            _check(cudart.cudaMemcpyAsync(array.ctypes.data, self.buffers[name][0], array.nbytes, copy_out, self.stream))
        _check(cudart.cudaStreamSynchronize(self.stream))
        return results
