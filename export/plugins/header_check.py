"""Compile and link librapid_edge_plugins.so against a folder of TensorRT headers, without libnvinfer:
the check that the plugin sources fit a TensorRT API on a machine that has nvcc but no TensorRT.

    python -m export.plugins.header_check ../shared/tensorrt/10.3.0/include [--out DIR]

Warnings in the SDK's own sources are errors; TensorRT's and CUDA's headers are system headers (their
deprecation warnings are theirs). The kernels (.cu) do not include TensorRT and are compiled once per
build folder; the C++ plugin sources are compiled against the given headers."""
from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from runtimes.native_ops import cuda_include

from .library import KERNEL_SOURCES, LIBRARY_NAME, PLUGIN_SOURCES, SOURCES, PluginLibraryError

WARNINGS = ("-Wall", "-Wextra", "-Werror")


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise PluginLibraryError(f"{' '.join(command)} failed:\n{result.stderr[-4000:]}")


def compile_kernels(out: Path) -> list[Path]:
    """The CUDA sources (launchers and kernels) as position-independent objects."""
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in KERNEL_SOURCES:
        target = out / f"{Path(source).stem}.o"
        if not target.is_file():
            _run(["nvcc", "-std=c++17", "-O2", "--fmad=false", "-Xcompiler", ",".join(("-fPIC", *WARNINGS)), "-c",
                  str(SOURCES / source), f"-I{SOURCES}", "-o", str(target)])
        objects.append(target)
    return objects


def build_against_headers(tensorrt_include: Path, out: Path, kernel_objects: list[Path]) -> Path:
    """Compile the plugin sources against `tensorrt_include` and link the library; returns its path."""
    tensorrt_include = Path(tensorrt_include)
    if not (tensorrt_include / "NvInferRuntime.h").is_file():
        raise PluginLibraryError(f"{tensorrt_include}: no NvInferRuntime.h (not a TensorRT include folder)")
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for source in PLUGIN_SOURCES:
        target = out / f"{Path(source).stem}.o"
        _run(["g++", "-std=c++17", "-O2", "-fPIC", *WARNINGS, "-c", str(SOURCES / source), f"-I{SOURCES}",
              "-isystem", str(tensorrt_include), "-isystem", str(cuda_include()), "-o", str(target)])
        objects.append(target)
    library = out / LIBRARY_NAME
    _run(["nvcc", "-shared", *map(str, kernel_objects + objects), "-o", str(library)])
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("include", type=Path, help="a TensorRT include folder (holds NvInferRuntime.h)")
    parser.add_argument("--out", type=Path, default=Path("build/plugins-header-check"))
    args = parser.parse_args()
    print(build_against_headers(args.include, args.out, compile_kernels(args.out / "kernels")))


if __name__ == "__main__":
    main()
