"""A Triton Inference Server model repository from a model package (`rapid-edge export rapid_seg --triton REPO`):

    REPO/rapid_seg_network/   the network: model.onnx for the `onnxruntime` backend (or, with
                              network_backend="python", the package run by ONNX Runtime in a Python model);
                              for a plugin-form package, the SDK's native op library beside it, named in
                              the config's model_operations.op_library_filename
    REPO/rapid_seg_network_tensorrt/   model.plan and the plugin library, when the package holds an engine
    REPO/rapid_seg/           Python backend: POINTS [N, 4] (+ optional RING [N]) in, LABELS uint8 and
                              SCORES [N] out; range image, RAPiD and labels around a call to the network

Every config.pbtxt is text in Triton's ModelConfig format (model_config.proto); the suite parses each one
against that schema. Any form of a package whose custom nodes (if any) are in domain `rapid`: the pipeline
model feeds the network what the manifest says, RAPiD included for the split form."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from runtimes import native_ops
from runtimes.ops.nodes import DOMAIN
from runtimes.package import MANIFEST, MODEL, Package

NETWORK = "rapid_seg_network"
NETWORK_TENSORRT = "rapid_seg_network_tensorrt"
PIPELINE = "rapid_seg"
TEMPLATES = Path(__file__).resolve().parent / "triton_models"
NETWORK_BACKENDS = ("onnxruntime", "python")
TRITON_TYPES = {"float32": "TYPE_FP32", "int64": "TYPE_INT64", "int32": "TYPE_INT32", "uint8": "TYPE_UINT8",
                "int16": "TYPE_INT16"}


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str
    dims: tuple[int, ...]
    optional: bool = False

    def pbtxt(self) -> str:
        optional = "\n    optional: true" if self.optional else ""
        return (f'  {{\n    name: "{self.name}"\n    data_type: {TRITON_TYPES[self.dtype]}\n'
                f"    dims: [ {', '.join(map(str, self.dims))} ]{optional}\n  }}")


def tensors(specs) -> list[Tensor]:
    """A package's TensorSpecs as Triton tensors: a named dynamic axis becomes -1."""
    return [Tensor(s.name, s.dtype, tuple(d if isinstance(d, int) else -1 for d in s.shape)) for s in specs]


def config_text(name: str, backend: str, inputs: list[Tensor], outputs: list[Tensor], kind: str, count: int,
                parameters: dict[str, str] | None = None, filename: str | None = None,
                op_library: Path | None = None) -> str:
    lines = [f'name: "{name}"', f'backend: "{backend}"', "max_batch_size: 0"]
    if op_library:
        lines.append(f'model_operations {{\n  op_library_filename: "{op_library}"\n}}')
    if filename:
        lines.append(f'default_model_filename: "{filename}"')
    lines.append("input [\n" + ",\n".join(t.pbtxt() for t in inputs) + "\n]")
    lines.append("output [\n" + ",\n".join(t.pbtxt() for t in outputs) + "\n]")
    lines.append(f"instance_group [\n  {{\n    kind: {kind}\n    count: {count}\n  }}\n]")
    for key, value in (parameters or {}).items():
        lines.append(f'parameters {{\n  key: "{key}"\n  value: {{ string_value: "{value}" }}\n}}')
    return "\n".join(lines) + "\n"


def write_repository(package: Package, repo: str | Path, network_backend: str = "onnxruntime", gpu: bool = False,
                     instances: int = 1, sensor: str = "HDL-64E", python_env: str | None = None) -> list[Path]:
    """The repository's models; returns their config files. An existing model folder is replaced.
    `python_env`: the environment (a venv or unpacked conda-pack folder holding the SDK) that Triton's Python
    backend runs the Python models in (its EXECUTION_ENV_PATH); default: the server's own Python."""
    foreign = [op for op in package.custom_ops if not op.startswith(f"{DOMAIN}::")]
    if foreign:
        raise ValueError(f"{package.folder}: custom nodes {', '.join(foreign)} are for ONNX Runtime's TensorRT provider; "
                         f"the Triton repository serves packages whose custom nodes are in domain {DOMAIN}")
    if network_backend not in NETWORK_BACKENDS:
        raise ValueError(f"unknown network backend {network_backend!r}; choose {', '.join(NETWORK_BACKENDS)}")
    if instances < 1:
        raise ValueError(f"instances must be >= 1, got {instances}")
    repo = Path(repo)
    kind = "KIND_GPU" if gpu else "KIND_CPU"
    environment = {"EXECUTION_ENV_PATH": str(python_env)} if python_env else {}
    inputs, outputs = tensors(package.inputs), tensors(package.outputs)
    configs = []

    version = _model_folder(repo, NETWORK)
    if network_backend == "python":  # the version folder is the package, run by network_model.py
        for name in (*package.manifest.files, MANIFEST):
            (version / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(package.folder / name, version / name)
        shutil.copy2(TEMPLATES / "network_model.py", version / "model.py")
        op_library = None  # the Python model's runner registers the native op library itself
    else:
        shutil.copy2(package.model_path, version / MODEL)
        op_library = _native_op_library(repo) if package.custom_ops else None
    configs.append(_write_config(repo, NETWORK, config_text(NETWORK, network_backend, inputs, outputs, kind, instances,
                                                            environment if network_backend == "python" else None,
                                                            op_library=op_library)))

    engines = sorted(name for name in package.manifest.files if name.startswith("engines/") and name.endswith(".engine"))
    if engines:
        version = _model_folder(repo, NETWORK_TENSORRT)
        shutil.copy2(package.folder / engines[0], version / "model.plan")
        configs.append(_write_config(repo, NETWORK_TENSORRT, config_text(
            NETWORK_TENSORRT, "tensorrt", inputs, outputs, "KIND_GPU", instances)))

    version = _model_folder(repo, PIPELINE)
    shutil.copy2(TEMPLATES / "pipeline_model.py", version / "model.py")
    shutil.copy2(package.folder / MANIFEST, version / MANIFEST)
    pipeline_inputs = [Tensor("POINTS", "float32", (-1, 4)), Tensor("RING", "int16", (-1,), optional=True)]
    pipeline_outputs = [Tensor("LABELS", "uint8", (-1,)), Tensor("SCORES", "float32", (-1,))]
    configs.append(_write_config(repo, PIPELINE, config_text(PIPELINE, "python", pipeline_inputs, pipeline_outputs, "KIND_CPU",
                                                             instances, {"network": NETWORK, "sensor": sensor, **environment})))
    return configs


def _native_op_library(repo: Path) -> Path:
    """The SDK's native op library (built for this machine, checked against its build record) copied into the
    network's model folder; Triton's onnxruntime backend loads it by this absolute path, so a repository served
    elsewhere needs the library at the same path (or the config's path changed)."""
    library = native_ops.library()
    target = (repo / NETWORK / library.name).resolve()
    shutil.copy2(library, target)
    return target


def _model_folder(repo: Path, name: str) -> Path:
    shutil.rmtree(repo / name, ignore_errors=True)
    version = repo / name / "1"
    version.mkdir(parents=True)
    return version


def _write_config(repo: Path, name: str, text: str) -> Path:
    path = repo / name / "config.pbtxt"
    path.write_text(text)
    return path
