"""TensorRT engines from model packages, built through Polygraphy's loaders (TensorRT 10 and 11).

The SDK decides what to build (`engine_recipe`: which ONNX graph, strongly typed or not, the optimisation
profile of the package's dynamic axes, the workspace, whether our plugin library is needed); Polygraphy
builds it (`NetworkFromOnnxPath` -> `CreateConfig` -> `EngineFromNetwork` -> `SaveEngine`). Precision:
fp32 builds the graph as exported, strongly typed. fp16 uses the builder flag where it still exists
(TensorRT 10) and otherwise (TensorRT 11 removed it) converts the ONNX graph to float16 and builds it
strongly typed. int8 needs explicit Q/DQ nodes: the graph is quantized with ONNX Runtime's static QDQ
quantizer on the package's calibration feeds, then built strongly typed (TensorRT 11 has no INT8
calibrator). The engine lands in the package under engines/, keyed by TensorRT version, CUDA version, GPU
SM and precision, with a JSON beside it saying what it was built for."""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from runtimes.errors import SdkError
from runtimes.onnxruntime_install import load_onnxruntime
from runtimes.package import Package, seal

from .plugins import library

log = logging.getLogger("export")
PRECISIONS = ("fp32", "fp16", "int8")
ENGINES = "engines"  # the package's folder of engines, each beside the record of what it was built for
#: where a package that needs the SDK's plugins carries the library its engines were built with
PLUGIN_IN_PACKAGE = f"plugins/{library.LIBRARY_NAME}"
#: ops kept in float32 when a graph is converted to float16 (index outputs, our plugins' float32 contracts)
FLOAT32_OPS = ("TopK", "RapidFeatures", "BinarySearch")


class EngineError(SdkError):
    """No engine can be built here; the message says why (TensorRT missing, parser errors, ...)."""


def tensorrt():
    try:
        import tensorrt as trt
    except ImportError as err:
        raise EngineError("TensorRT is not installed: `rapid-edge build` needs an NVIDIA GPU machine with "
                          "TensorRT 10 or 11 (pip install 'rapid-edge-sdk[gpu]')") from err
    return trt


def engine_key(built_for: dict[str, str], precision: str) -> str:
    return f"trt{built_for['tensorrt']}_cuda{built_for['cuda']}_sm{built_for['sm']}_{precision}"


@dataclass(frozen=True)
class EngineRecipe:
    """Everything an engine build decides before TensorRT is touched."""

    precision: str
    graph: str  # "exported", "fp16" (converted graph) or "int8-qdq" (quantized graph)
    strongly_typed: bool
    fp16_flag: bool  # TensorRT 10's BuilderFlag.FP16 on a weakly typed network
    profile: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]  # input -> (min, opt, max)
    workspace_bytes: int
    needs_plugins: bool


def engine_recipe(package: Package, precision: str, tensorrt_has_fp16_flag: bool, workspace_gib: float = 4.0) -> EngineRecipe:
    """The build for `precision` on a TensorRT with (10) or without (11) the FP16 builder flag."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    profile = {}
    for spec in package.inputs:
        unknown = [d for d in spec.shape if isinstance(d, str) and d not in package.profiles]
        if unknown:
            raise EngineError(f"{package.folder}: input {spec.name!r} has dynamic axes {unknown} without a profile in the manifest")
        profile[spec.name] = tuple(tuple(package.profiles[d][k] if isinstance(d, str) else d for d in spec.shape)
                                   for k in ("min", "opt", "max"))
    weak_fp16 = precision == "fp16" and tensorrt_has_fp16_flag
    graph = {"fp32": "exported", "fp16": "exported" if weak_fp16 else "fp16", "int8": "int8-qdq"}[precision]
    return EngineRecipe(precision, graph, strongly_typed=not weak_fp16, fp16_flag=weak_fp16, profile=profile,
                        workspace_bytes=int(workspace_gib * (1 << 30)), needs_plugins=bool(package.custom_ops))


@dataclass(frozen=True)
class EngineChain:
    """Polygraphy's lazy loaders for one recipe: nothing runs (and TensorRT is not imported) until `engine` is called."""

    network: object  # polygraphy NetworkFromOnnxPath
    config: object  # polygraphy CreateConfig (the workspace limit is applied after it, when the chain runs)
    engine: object  # polygraphy EngineFromNetwork


def engine_chain(recipe: EngineRecipe, onnx_path: Path) -> EngineChain:
    from polygraphy.backend.trt import CreateConfig, EngineFromNetwork, NetworkFromOnnxPath, PostprocessConfig, Profile

    profile = Profile()
    for name, (low, opt, high) in recipe.profile.items():
        profile.add(name, min=low, opt=opt, max=high)
    network = NetworkFromOnnxPath(str(onnx_path), strongly_typed=recipe.strongly_typed)
    config = CreateConfig(fp16=recipe.fp16_flag, profiles=[profile])

    def limit_workspace(builder, network, config) -> None:
        import tensorrt as trt

        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, recipe.workspace_bytes)

    return EngineChain(network, config, EngineFromNetwork(network, config=PostprocessConfig(config, limit_workspace)))


def build_engine(package: Package, precision: str = "fp16", workspace_gib: float = 4.0) -> Path:
    trt = tensorrt()
    from polygraphy.backend.trt import SaveEngine

    from runtimes.tensorrt_runner import current_target

    recipe = engine_recipe(package, precision, hasattr(trt.BuilderFlag, "FP16"), workspace_gib)
    plugin = library.library_path() if recipe.needs_plugins else None
    if recipe.needs_plugins:
        library.load(plugin)
    built_for = current_target()
    onnx_path = _graph(package, recipe.graph)
    folder = package.folder / ENGINES
    folder.mkdir(exist_ok=True)
    key = engine_key(built_for, precision)
    path = folder / f"{key}.engine"
    log.info("building a %s engine for %s", precision, built_for)
    try:
        SaveEngine(engine_chain(recipe, onnx_path).engine, str(path))()
    except Exception as err:  # Polygraphy reports parser and builder failures as its own exceptions
        raise EngineError(f"{onnx_path}: TensorRT could not build the engine: {err}") from err
    (folder / f"{key}.json").write_text(json.dumps({**built_for, "precision": precision, "onnx": onnx_path.name,
                                                    "recipe": asdict(recipe)}, indent=2))
    if plugin is not None:  # the engine needs these plugins: they travel with it, checked like every package file
        (package.folder / PLUGIN_IN_PACKAGE).parent.mkdir(exist_ok=True)
        shutil.copy2(plugin, package.folder / PLUGIN_IN_PACKAGE)
    seal(package)
    return path


def engine_in_package(package: Package, target: dict[str, str], precision: str) -> Path | None:
    """The package's engine for `target` and `precision` if its manifest lists it (checked now), else None:
    an engine file that was dropped into the folder without `rapid-edge build` is never deserialised."""
    key = engine_key(target, precision)
    record = package.listed_file(f"{ENGINES}/{key}.json")
    return package.listed_file(f"{ENGINES}/{key}.engine") if record is not None else None


def _graph(package: Package, graph: str) -> Path:
    """The ONNX file the recipe names, written beside the package's model when it is derived from it."""
    if graph == "exported":
        return package.model_path
    if graph == "fp16":
        import onnx
        from onnxconverter_common import float16

        path = package.folder / "model.fp16.onnx"
        onnx.save(float16.convert_float_to_float16(onnx.load(str(package.model_path)), keep_io_types=True,
                                                   op_block_list=list(FLOAT32_OPS)), str(path))
        return path
    return _quantized(package)


def _quantized(package: Package) -> Path:
    """Explicit Q/DQ int8 graph, calibrated on held-out simulated frames' feeds saved by the export."""
    import numpy as np

    load_onnxruntime()  # what to install, when it is not
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    calibration = sorted((package.folder / "calibration").glob("*.npz"))
    if not calibration:
        raise EngineError(f"{package.folder}/calibration: no calibration feeds (*.npz) for int8")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.files = iter(calibration)

        def get_next(self):
            path = next(self.files, None)
            return None if path is None else dict(np.load(path))

    path = package.folder / "model.int8.qdq.onnx"
    quantize_static(str(package.model_path), str(path), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv", "Gemm", "MatMul"])
    return path
