"""ONNX Runtime backend: providers in order TensorRT EP, CUDA EP, CPU, taking what is installed; the SDK's
native op library (runtimes.native_ops) is registered when the graph holds rapid:: nodes, and a graph whose
custom nodes are TensorRT plugins (domain trt.plugins) goes to the TensorRT provider with the plugin library."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import native_ops
from .onnxruntime_install import load_onnxruntime
from .ops.nodes import DOMAIN, TENSORRT_EP_DOMAIN
from .manifest import TensorSpec
from .package import Package
from .runner import Runner

PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
ORT_TYPES = {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(int32)": "int32"}


def available_providers(preferred: Sequence[str] = PREFERRED_PROVIDERS) -> list[str]:
    installed = set(load_onnxruntime().get_available_providers())
    return [p for p in preferred if p in installed]


def custom_domains(model: Package | Path) -> set[str]:
    """The graph's non-standard opset domains: a package's manifest names them, a bare file is read (onnx)."""
    if isinstance(model, Package):
        return {op.split("::")[0] for op in model.custom_ops}
    import onnx

    graph = onnx.load(str(model), load_external_data=False)
    return {o.domain for o in graph.opset_import if o.domain not in ("", "ai.onnx", "ai.onnx.ml")}


def session_options(threads: int | None = None):
    """The SDK's SessionOptions: idle intra-op threads sleep instead of spinning (in a pipeline the RAPiD and
    decode stages need the same cores between inferences; spinning cost those stages 20-40 % on 2 cores)."""
    options = load_onnxruntime().SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
    return options


class OnnxRuntimeRunner(Runner):
    def __init__(self, model: Package | str | Path, providers: Sequence[str] | None = None, threads: int | None = None,
                 plugin_libraries: Sequence[Path] = ()) -> None:
        super().__init__()
        self.plugin_libraries = list(plugin_libraries)
        self.path = model.model_path if isinstance(model, Package) else Path(model)
        self.domains = custom_domains(model if isinstance(model, Package) else self.path)
        self.providers = list(providers) if providers else available_providers()
        self.threads = threads
        self.precision = model.manifest.precision if isinstance(model, Package) else Runner.precision
        self.session = None
        self.name = f"onnxruntime[{self.providers[0]}]"

    def activate(self) -> None:
        ort = load_onnxruntime()
        options = session_options(self.threads)
        if DOMAIN in self.domains:
            options = native_ops.session_options(options, self.providers)
        self.session = ort.InferenceSession(str(self.path), options, providers=self.session_providers())
        self.name = f"onnxruntime[{self.session.get_providers()[0]}]"

    def session_providers(self) -> list:
        """The providers as ONNX Runtime takes them. TensorRT plugin nodes (domain trt.plugins) run only in the
        TensorRT provider, which loads the plugin library named in its options."""
        if TENSORRT_EP_DOMAIN not in self.domains:
            return self.providers
        if "TensorrtExecutionProvider" not in self.providers:
            raise RuntimeError(f"{self.path}: its custom nodes are in domain {TENSORRT_EP_DOMAIN}, which only ONNX Runtime's "
                               f"TensorRT provider runs (here: {', '.join(self.providers)}); export the plugin form with "
                               f"domain {DOMAIN} for the SDK's native op library")
        if not self.plugin_libraries:
            raise RuntimeError(f"{self.path}: its TensorRT plugin nodes need the SDK's plugin library (rapid-edge build "
                               "puts it into the package, or set RAPID_EDGE_PLUGIN_LIBRARY)")
        options = {"trt_extra_plugin_lib_paths": ";".join(str(path) for path in self.plugin_libraries)}
        return [(name, options) if name == "TensorrtExecutionProvider" else name for name in self.providers]

    def deactivate(self) -> None:
        self.session = None

    def _describe(self, values) -> list[TensorSpec]:
        return [TensorSpec(v.name, ORT_TYPES.get(v.type, v.type), [d if isinstance(d, int) else str(d) for d in v.shape])
                for v in values]

    def inputs(self) -> list[TensorSpec]:
        return self._describe(self._session().get_inputs())

    def outputs(self) -> list[TensorSpec]:
        return self._describe(self._session().get_outputs())

    def _session(self):
        if self.session is None:
            raise RuntimeError(f"{self.name}: use the runner inside `with`")
        return self.session

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, dict(feed))))
