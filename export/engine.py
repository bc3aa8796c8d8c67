"""TensorRT engines from model packages (TensorRT 10 and 11 Python APIs).

Precision: fp32 builds the graph as exported. fp16 uses the builder flag where it still exists
(TensorRT 10) and otherwise (TensorRT 11 removed it) converts the ONNX graph to float16 and builds a
strongly typed network. int8 needs explicit Q/DQ nodes: the graph is quantized with ONNX Runtime's
static QDQ quantizer on simulated frames, then built strongly typed (TensorRT 11 has no INT8 calibrator).
The engine lands in the package under engines/, keyed by TensorRT version, CUDA version, GPU SM and
precision, with a JSON beside it saying what it was built for."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from runtimes.package import Package

from .plugins import library

log = logging.getLogger("export")
PRECISIONS = ("fp32", "fp16", "int8")


class EngineError(RuntimeError):
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


def build_engine(package: Package, precision: str = "fp16", workspace_gib: float = 4.0) -> Path:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}")
    trt = tensorrt()
    if package.custom_ops:
        library.load()
    from runtimes.tensorrt_runner import current_target

    built_for = current_target()
    onnx_path, strongly_typed = _graph_for(package, precision, trt)
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(Path(onnx_path).read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise EngineError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if precision == "fp16" and not strongly_typed:
        config.set_flag(trt.BuilderFlag.FP16)
    profile = builder.create_optimization_profile()
    for spec in package.inputs:
        shapes = [[package.profiles[d][k] if isinstance(d, str) else d for d in spec.shape] for k in ("min", "opt", "max")]
        profile.set_shape(spec.name, *shapes)
    config.add_optimization_profile(profile)
    log.info("building a %s engine for %s", precision, built_for)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise EngineError(f"{package.folder}: TensorRT could not build the engine (see its log above)")
    folder = package.folder / "engines"
    folder.mkdir(exist_ok=True)
    key = engine_key(built_for, precision)
    path = folder / f"{key}.engine"
    path.write_bytes(bytes(serialized))
    (folder / f"{key}.json").write_text(json.dumps({**built_for, "precision": precision,
                                                    "onnx": Path(onnx_path).name, "workspace_gib": workspace_gib}, indent=2))
    return path


def _graph_for(package: Package, precision: str, trt) -> tuple[Path, bool]:
    """The ONNX file to parse and whether to build it strongly typed."""
    if precision == "fp32":
        return package.model_path, True
    if precision == "fp16":
        if hasattr(trt.BuilderFlag, "FP16"):  # TensorRT 10
            return package.model_path, False
        from onnxconverter_common import float16
        import onnx

        path = package.folder / "model.fp16.onnx"
        onnx.save(float16.convert_float_to_float16(onnx.load(str(package.model_path)), keep_io_types=True,
                                                   op_block_list=["TopK", "RapidFeatures"]), str(path))
        return path, True
    return _quantized(package), True


def _quantized(package: Package) -> Path:
    """Explicit Q/DQ int8 graph, calibrated on held-out simulated frames' feeds saved by the export."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    calibration = sorted((package.folder / "calibration").glob("*.npz"))
    if not calibration:
        raise EngineError(f"{package.folder}/calibration: no calibration feeds (*.npz) for int8")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.files = iter(calibration)

        def get_next(self):
            path = next(self.files, None)
            return None if path is None else dict(__import__("numpy").load(path))

    path = package.folder / "model.int8.qdq.onnx"
    quantize_static(str(package.model_path), str(path), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv", "Gemm", "MatMul"])
    return path
