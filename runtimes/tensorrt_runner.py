"""TensorRT backend: a serialized engine plus the plugin libraries it needs, run by Polygraphy's TrtRunner
(device buffers, streams and output allocation are Polygraphy's). An engine built for another TensorRT,
CUDA or GPU (SM) is detected from the JSON written beside it before anything is deserialised: the runner
rebuilds it through the `rebuild` callable it was given, or refuses with the reason."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .errors import SdkError
from .ops.nodes import BINARY_SEARCH, POINTS, RAPID_FEATURES, VERSION
from .manifest import TensorSpec
from .runner import Runner

#: the name Polygraphy's metadata gives no dynamic axis: a segmentation package's
DYNAMIC_AXIS = POINTS


class EngineMismatch(SdkError):
    """The engine was built for another TensorRT/CUDA/GPU."""


def load_plugin_library(path: Path):
    """Load a plugin library into this process: the SDK's registers its creators when loaded (as Polygraphy and
    trtexec --staticPlugins load libraries), then both ops' creators must be in TensorRT's registry."""
    import ctypes

    import tensorrt as trt

    handle = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    registered = {(creator.name, creator.plugin_version) for creator in trt.get_plugin_registry().all_creators}
    missing = [op for op in (RAPID_FEATURES, BINARY_SEARCH) if (op, str(VERSION)) not in registered]
    if missing:
        raise RuntimeError(f"{path}: loading it registered no TensorRT plugin creator for {', '.join(missing)}")
    return handle


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


class TensorRTRunner(Runner):
    name = "tensorrt"

    def __init__(self, engine: Path, plugin_libraries: Sequence[Path] = (),
                 rebuild: Callable[[], Path] | None = None, precision: str = Runner.precision) -> None:
        super().__init__()
        self.engine_path, self.plugin_libraries, self.rebuild = Path(engine), list(plugin_libraries), rebuild
        self.precision = precision  # the engine's, as it was built
        self.runner = None
        self.input_names: list[str] = []

    def activate(self) -> None:
        from polygraphy.backend.trt import EngineFromPath, TrtRunner

        for library in self.plugin_libraries:
            load_plugin_library(library)
        reason = mismatch(self.engine_path, current_target())
        if reason is not None:
            if self.rebuild is None:
                raise EngineMismatch(reason)
            self.engine_path = self.rebuild()
        self.runner = TrtRunner(EngineFromPath(str(self.engine_path)), name=self.engine_path.stem)
        try:
            self.runner.activate()
        except Exception as err:  # Polygraphy reports a failed deserialisation as its own exception
            self.runner = None
            raise EngineMismatch(f"{self.engine_path}: TensorRT could not deserialise it: {err}") from err
        self.input_names = [spec.name for spec in self.inputs()]  # once: the feed is picked by them every frame

    def deactivate(self) -> None:
        if self.runner is not None:
            self.runner.deactivate()
        self.runner = None

    def _tensors(self, output: bool) -> list[TensorSpec]:
        import tensorrt as trt

        engine, mode = self.runner.engine, trt.TensorIOMode.OUTPUT if output else trt.TensorIOMode.INPUT
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        return [TensorSpec(name, np.dtype(trt.nptype(engine.get_tensor_dtype(name))).name,
                           [d if d >= 0 else DYNAMIC_AXIS for d in engine.get_tensor_shape(name)])
                for name in names if engine.get_tensor_mode(name) == mode]

    def inputs(self) -> list[TensorSpec]:
        return self._tensors(output=False)

    def outputs(self) -> list[TensorSpec]:
        return self._tensors(output=True)

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        arrays = {name: np.ascontiguousarray(feed[name]) for name in self.input_names}
        # Polygraphy reuses its host output buffers on the next call: the caller gets arrays of its own
        return {name: np.array(value) for name, value in self.runner.infer(arrays, copy_outputs_to_host=True).items()}
