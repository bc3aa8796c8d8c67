"""What a benchmark ran on, recorded with every result: published edge latencies are often not reproducible
for want of exactly this (CPU model and threads, GPU, Jetson power mode and clocks, library versions)."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: SIMD extensions that decide CPU inference speed (ONNX Runtime's and PyTorch's kernels pick by them)
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "asimd", "sve")
LIBRARIES = ("numpy", "numba", "onnxruntime", "torch", "tensorrt", "cupy-cuda12x", "cupy-cuda13x")


def _command(*args: str) -> str | None:
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


def describe_machine() -> dict:
    libraries = {}
    for name in LIBRARIES:
        try:
            libraries[name] = version(name)
        except PackageNotFoundError:
            pass
    jetson = Path("/etc/nv_tegra_release")
    return {
        "cpu": cpu_model(), "threads_available": len(os.sched_getaffinity(0)), **cpu_topology(),
        "python": platform.python_version(), "os": platform.platform(),
        "gpu": _command("nvidia-smi", "--query-gpu=name,driver_version,clocks.sm", "--format=csv,noheader"),
        "jetson": {"release": jetson.read_text().splitlines()[0], "power_mode": _command("nvpmodel", "-q"),
                   "clocks": _command("jetson_clocks", "--show")} if jetson.exists() else None,
        "libraries": libraries,
    }


def cpu_jiffies() -> tuple[int, int]:
    """(steal, total) CPU time since boot from /proc/stat; (0, 0) where there is none."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0, 0
    values = [int(v) for v in stat.read_text().splitlines()[0].split()[1:]]
    return (values[7] if len(values) > 7 else 0), sum(values[:8])


def steal_share(start: tuple[int, int]) -> float | None:
    """Share of CPU time the hypervisor took from this virtual machine since `start`: on a shared cloud VM
    it moves latencies by tens of percent, so a result that omits it cannot be compared."""
    steal, total = cpu_jiffies()
    elapsed = total - start[1]
    return round((steal - start[0]) / elapsed, 3) if elapsed > 0 else None
