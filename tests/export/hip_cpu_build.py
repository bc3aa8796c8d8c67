"""The SDK's CUDA kernels built for the CPU under HIP-CPU (../shared/hip-cpu): grids, blocks, __shared__ memory,
barriers and atomics run as fibers on the host. A check program (rapid_launch_check.cu, bebr_launch_check.cu) is
linked with the SDK's own launcher, the launch macro (export/plugins/kernel_launch.h) expands to HIP's launch,
and hip_cpu/cuda_runtime_api.h maps the CUDA runtime names. __CUDACC__ and __CUDA_ARCH__ are defined, so the
kernel files compile their kernels and their device branches (the intrinsics and atomics), as nvcc's device pass
does. What this cannot check: nvcc's code generation, races inside a phase (a block's threads take turns in one
fixed order), GPU limits and memory."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO

HIP_CPU = Path(os.environ.get("RAPID_EDGE_HIP_CPU", REPO.parent / "shared" / "hip-cpu"))
HERE = Path(__file__).parent
PLUGINS = REPO / "export" / "plugins"
#: the device-side macros of nvcc's device pass (sm_90: the kernels have no arch-specific branch)
DEVICE_PASS = ("-D__CUDACC__", "-D__CUDA_ARCH__=900")


def hip_cpu_missing() -> str | None:
    """Why the kernels cannot be built for the CPU here, or None."""
    if not (HIP_CPU / "include" / "hip" / "hip_runtime.h").is_file():
        return f"HIP-CPU is not at {HIP_CPU} (set RAPID_EDGE_HIP_CPU)"
    if shutil.which("g++") is None:
        return "g++ is not installed"
    if not any(Path(d).glob("libtbb.so*") for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib")):
        return "TBB is not installed (apt install libtbb-dev)"
    return None


needs_hip_cpu = pytest.mark.skipif(hip_cpu_missing() is not None, reason=hip_cpu_missing() or "")


def build_on_cpu(check_program: str, launcher: str, out: Path) -> Path:
    """A check program of tests/export linked with a launcher of export/plugins, both compiled for HIP-CPU
    (our warnings as errors; HIP-CPU's headers are system headers)."""
    program = out / f"{Path(check_program).stem}_hip_cpu"
    command = ["g++", "-std=c++17", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", *DEVICE_PASS, "-x", "c++",
               f"-I{HERE / 'hip_cpu'}", f"-I{PLUGINS}", f"-I{HERE}", "-isystem", str(HIP_CPU / "include"),
               str(HERE / check_program), str(PLUGINS / launcher), "-o", str(program), "-ltbb", "-lpthread"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    return program
