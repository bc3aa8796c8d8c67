"""What a benchmark ran on, recorded with every result: published edge latencies are often not reproducible
for want of exactly this (CPU model and threads, GPU, Jetson power mode and clocks, library versions)."""
from __future__ import annotations

import os
import platform
from pathlib import Path

from runtimes.platform_report import command, cpu_model, cpu_topology, distribution_version, jetson

LIBRARIES = ("numpy", "numba", "onnxruntime", "onnxruntime-gpu", "torch", "tensorrt", "cupy-cuda12x", "cupy-cuda13x")


def describe_machine() -> dict:
    libraries = {name: found for name in LIBRARIES if (found := distribution_version(name)) is not None}
    board = jetson()
    return {
        "cpu": cpu_model(), "threads_available": len(os.sched_getaffinity(0)), **cpu_topology(),
        "python": platform.python_version(), "os": platform.platform(),
        "gpu": command("nvidia-smi", "--query-gpu=name,driver_version,clocks.sm", "--format=csv,noheader"),
        "jetson": {**board, "clocks": command("jetson_clocks", "--show")} if board else None,
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
