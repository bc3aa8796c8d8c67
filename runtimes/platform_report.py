"""What this machine and install are: the facts that decide which runtime runs and how fast (CPU and its SIMD
extensions, a Jetson's L4T and JetPack, CUDA, TensorRT, ONNX Runtime and its providers, numpy, PyTorch and
where that build came from), for `rapid-edge doctor` and every benchmark's record; and what in them is a
problem (an install that shadowed the platform's GPU build, numpy 2 beside a ROS 2 built for numpy 1)."""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .errors import RuntimeUnavailable
from .onnxruntime_install import installed_distributions, load_onnxruntime

#: SIMD extensions that decide CPU inference speed (ONNX Runtime's and PyTorch's kernels pick by them)
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "asimd", "sve")
JETSON_RELEASE = Path("/etc/nv_tegra_release")
CUDA_VERSION_FILE = Path("/usr/local/cuda/version.json")
#: ROS 2 distributions whose apt Python modules are built against numpy 1 (Ubuntu 22.04's and 24.04's numpy)
NUMPY1_ROS = ("humble", "jazzy")


def command(*args: str) -> str | None:
    """A command's stripped output, None where it is absent or fails."""
    if shutil.which(args[0]) is None:
        return None
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    path = Path("/proc/cpuinfo")
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def cpu_model() -> str:
    info = _cpuinfo()
    return info.get("model name") or info.get("Model") or platform.processor() or platform.machine()


def cpu_topology() -> dict:
    """Hardware threads per core and the SIMD extensions present: two threads of one core, or two cores
    with AVX2 against AVX-512/AMX, move the same model's latency by tens of percent."""
    info = _cpuinfo()
    siblings, cores = info.get("siblings"), info.get("cpu cores")
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return {"threads_per_core": int(siblings) // int(cores) if siblings and cores and int(cores) else None,
            "simd": [flag for flag in SIMD_FLAGS if flag in flags]}


def l4t_version(release_line: str) -> str | None:
    """'# R36 (release), REVISION: 3.0, ...' (the first line of /etc/nv_tegra_release) -> '36.3.0'."""
    match = re.search(r"R(\d+) \(release\), REVISION: ([\d.]+)", release_line)
    return f"{match[1]}.{match[2]}" if match else None


def jetson(release: Path = JETSON_RELEASE) -> dict | None:
    """L4T from the release file, JetPack from its apt meta-package, the power mode; None off a Jetson."""
    if not release.exists():
        return None
    first = release.read_text().splitlines()[0]
    return {"l4t": l4t_version(first), "jetpack": command("dpkg-query", "-W", "-f", "${Version}", "nvidia-jetpack"),
            "release": first, "power_mode": command("nvpmodel", "-q")}


def cuda_version() -> str | None:
    """The CUDA toolkit's version (version.json of /usr/local/cuda, else nvcc's)."""
    if CUDA_VERSION_FILE.is_file():
        return json.loads(CUDA_VERSION_FILE.read_text()).get("cuda", {}).get("version")
    match = re.search(r"release ([\d.]+)", command("nvcc", "--version") or "")
    return match[1] if match else None


def torch_build(torch_version: str, torch_cuda: str | None) -> str:
    """Where a torch came from, by its version: NVIDIA's Jetson builds carry `nv` in the local label
    (2.4.0a0+3bcc3cddb5.nv24.07); PyPI's say +cpu or carry a CUDA version."""
    local = torch_version.partition("+")[2]
    if any(re.fullmatch(r"nv\d+", part) for part in local.split(".")):
        return f"NVIDIA's Jetson build (CUDA {torch_cuda})"
    return "CPU build" if torch_cuda is None else f"CUDA {torch_cuda} build"


def _torch() -> dict | None:
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return {"version": torch.__version__, "build": torch_build(torch.__version__, torch.version.cuda)}


def _onnxruntime() -> dict:
    report = {"distributions": installed_distributions(), "providers": None}
    try:
        report["providers"] = load_onnxruntime().get_available_providers()
    except RuntimeUnavailable:
        pass
    return report


def distribution_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _tensorrt() -> str | None:
    """TensorRT's Python module: PyPI's wheel, or JetPack's apt python3-libnvinfer (no pip metadata)."""
    if importlib.util.find_spec("tensorrt") is None:
        return None
    import tensorrt

    return getattr(tensorrt, "__version__", "present")


def platform_report(environment: dict[str, str] | None = None) -> dict:
    environment = dict(os.environ) if environment is None else environment
    return {
        "machine": platform.machine(), "os": platform.platform(), "python": platform.python_version(),
        "cpu": cpu_model(), "threads_available": len(os.sched_getaffinity(0)), **cpu_topology(),
        "jetson": jetson(), "gpu": command("nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"),
        "cuda": cuda_version(), "tensorrt": _tensorrt(), "onnxruntime": _onnxruntime(),
        "numpy": distribution_version("numpy"), "numba": distribution_version("numba"), "torch": _torch(),
        "ros_distro": environment.get("ROS_DISTRO"),
    }


def problems(report: dict) -> list[str]:
    """What in the report will stop the SDK or silently slow it, each with what to do."""
    found = []
    onnxruntime = report["onnxruntime"]
    if onnxruntime["providers"] is None:
        found.append("no ONNX Runtime: pip install 'rapid-edge-sdk[cpu]', or NVIDIA's onnxruntime-gpu on a GPU")
    elif len(onnxruntime["distributions"]) > 1:
        found.append(f"{' and '.join(onnxruntime['distributions'])} are both installed and share one module "
                     f"(providers now: {', '.join(onnxruntime['providers'])}): pip uninstall -y onnxruntime "
                     "onnxruntime-gpu, then install the one you want")
    if report["jetson"] and onnxruntime["providers"] and "CUDAExecutionProvider" not in onnxruntime["providers"]:
        found.append("a Jetson whose ONNX Runtime has no CUDA provider: install NVIDIA's onnxruntime-gpu wheel for "
                     "this JetPack (docs/jetson.md)")
    numpy, distro = report["numpy"], report["ros_distro"]
    if numpy and int(numpy.split(".")[0]) >= 2 and distro in NUMPY1_ROS:
        found.append(f"numpy {numpy} beside ROS 2 {distro}, whose apt Python modules (cv_bridge, ...) are built for "
                     "numpy 1: pip install -c examples/jetson/constraints-jetpack6.txt (numpy<2)")
    return found
