"""The SDK's native ONNX Runtime op library: rapid::RapidFeatures and rapid::BinarySearch as native kernels
(librapid_edge_ort.so, built from export/plugins/ort_ops.cpp and the CUDA kernel files' shared functions).

The library is built for the machine that runs it: on first use (or by install.sh) into the cache, with g++
and the ONNX Runtime C API headers that ship with the SDK; with a CUDA toolkit, a sibling that also registers
the ops for ONNX Runtime's CUDA provider. Each build records its sources' digest and the library's sha256,
and the sha256 is checked again just before ONNX Runtime loads it; $RAPID_EDGE_ORT_LIBRARY names a build of
the user's own instead. Nothing is ever looked up on a search path.

    python -m runtimes.native_ops [--cuda]      # build (once) and print the library's path
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .cache import cache_root
from .errors import SdkError
from .onnxruntime_install import load_onnxruntime
from .package import sha256

log = logging.getLogger("runtimes")

#: the native op sources (owned by export/: one set of kernels for TensorRT, ONNX Runtime and CuPy)
SOURCES = Path(__file__).resolve().parent.parent / "export" / "plugins"
ORT_HEADERS = SOURCES / "third_party" / "onnxruntime" / "include"
ENVIRONMENT = "RAPID_EDGE_ORT_LIBRARY"
#: what the library's compilation reads: the op library, the kernels' shared functions and their parameters
CPU_SOURCES = ("ort_ops.cpp", "rapid_features_kernels.cu", "binary_search_kernels.cu", "rapid_params.h",
               "binary_search_params.h")
#: what the CUDA sibling adds: the launchers the TensorRT plugins call, and their headers
CUDA_SOURCES = ("rapid_features_launch.cu", "binary_search_launch.cu", "rapid_features.h", "binary_search.h",
                "kernel_launch.h")
#: IEEE float in the reference's order (no FMA contraction), as the kernels' exactness needs; sqrt without errno (the
#: same value, one instruction)
CXX_FLAGS = ("-std=c++17", "-O3", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror")
#: the instruction sets every machine of the kind has (x86-64-v2: SSE4.2 and POPCNT; AArch64's base has CNT)
MACHINE_FLAGS = {"x86_64": ("-march=x86-64-v2",), "aarch64": ()}


class NativeOpsError(SdkError):
    """The native op library cannot be found, built or trusted; the message says what to do."""


@dataclass(frozen=True)
class Build:
    """One flavour of the library: CPU kernels only, or CPU and CUDA kernels (for `cuda_arch`, e.g. "90")."""

    cuda: bool = False
    cuda_arch: str = "native"

    @property
    def name(self) -> str:
        return "librapid_edge_ort_cuda.so" if self.cuda else "librapid_edge_ort.so"

    def sources(self) -> tuple[str, ...]:
        return CPU_SOURCES + (CUDA_SOURCES if self.cuda else ())

    def commands(self, out: Path) -> list[list[str]]:
        """The compiler calls that make `out/<name>` (nvcc for the launchers, g++ for the rest)."""
        machine = MACHINE_FLAGS.get(platform.machine(), ())
        includes = [f"-I{SOURCES}", "-isystem", str(ORT_HEADERS)]
        library = str(out / self.name)
        if not self.cuda:
            return [["g++", *CXX_FLAGS, *machine, "-shared", *includes, str(SOURCES / "ort_ops.cpp"), "-o", library,
                     "-lpthread"]]
        commands = [["g++", *CXX_FLAGS, *machine, "-DRAPID_ORT_CUDA", *includes, "-isystem", str(cuda_include()), "-c",
                     str(SOURCES / "ort_ops.cpp"), "-o", str(out / "ort_ops.o")]]
        objects = [str(out / "ort_ops.o")]
        for launcher in ("rapid_features_launch.cu", "binary_search_launch.cu"):
            target = out / f"{Path(launcher).stem}.o"
            commands.append(["nvcc", "-std=c++17", "-O3", "--fmad=false", f"-arch={self._arch()}", "-Xcompiler",
                             "-fPIC,-fvisibility=hidden", f"-I{SOURCES}", "-c", str(SOURCES / launcher), "-o", str(target)])
            objects.append(str(target))
        commands.append(["nvcc", "-shared", f"-arch={self._arch()}", *objects, "-o", library, "-lcudart"])
        return commands

    def _arch(self) -> str:
        return self.cuda_arch if self.cuda_arch == "native" else f"sm_{self.cuda_arch}"


def cuda_include() -> Path:
    """The CUDA toolkit's include folder, beside the nvcc on PATH (or the usual /usr/local/cuda)."""
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise NativeOpsError("nvcc (a CUDA toolkit) is not on PATH")
    for root in (Path(nvcc).resolve().parent.parent, Path("/usr/local/cuda")):
        if (root / "include" / "cuda_runtime_api.h").is_file():
            return root / "include"
    raise NativeOpsError(f"no cuda_runtime_api.h beside {nvcc}")


def _compiler_versions(build: Build) -> list[str]:
    tools = ["g++", "nvcc"] if build.cuda else ["g++"]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        install = "apt install g++" if "g++" in missing else "install a CUDA toolkit"
        raise NativeOpsError(f"ONNX Runtime runs the rapid:: ops through the SDK's native op library, which is built "
                             f"on first use with {' and '.join(missing)} (not found: {install}), or set {ENVIRONMENT} "
                             "to a build of it")
    return [subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip() for tool in tools]


@cache
def build_digest(build: Build) -> str:
    """What decides the library: its sources, the ONNX Runtime headers, the compiler commands and the machine's
    kind (the compilers' versions are recorded beside the build, so a machine whose compiler went away after the
    build still finds it)."""
    digest = hashlib.sha256()
    for name in build.sources():
        digest.update(name.encode() + b"\0" + (SOURCES / name).read_bytes())
    for header in sorted(ORT_HEADERS.glob("*.h")):
        digest.update(header.name.encode() + b"\0" + header.read_bytes())
    digest.update(json.dumps([build.commands(Path("OUT")), platform.machine()]).encode())
    return digest.hexdigest()


def build_folder(build: Build) -> Path:
    return cache_root() / "native-ops" / build_digest(build)[:20]


def _build(build: Build, folder: Path) -> None:
    """Compile into a fresh folder beside `folder`, then rename it into place (a concurrent build loses the race
    harmlessly: both made the same library)."""
    compilers = _compiler_versions(build)
    folder.parent.mkdir(parents=True, exist_ok=True)
    log.warning("building the SDK's native ONNX Runtime op library %s (once per machine and version)", build.name)
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch:
        out = Path(scratch) / "build"
        out.mkdir()
        for command in build.commands(out):
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode:
                raise NativeOpsError(f"building {build.name} failed: {' '.join(command)}\n{result.stderr[-3000:]}")
        record = {"library": build.name, "sha256": sha256(out / build.name), "digest": build_digest(build),
                  "compilers": compilers, "cuda": build.cuda, "cuda_arch": build.cuda_arch if build.cuda else None}
        (out / "build.json").write_text(json.dumps(record, indent=2) + "\n")
        for intermediate in out.glob("*.o"):
            intermediate.unlink()
        try:
            out.rename(folder)
        except OSError:
            if not (folder / "build.json").is_file():
                raise


def verified(library: Path) -> Path:
    """`library` if its sha256 still matches the record written when it was built; checked just before loading."""
    record_path = library.parent / "build.json"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise NativeOpsError(f"{record_path}: no readable build record for {library.name} ({err}); delete "
                             f"{library.parent} to rebuild") from err
    if not library.is_file() or sha256(library) != record.get("sha256"):
        raise NativeOpsError(f"{library}: sha256 does not match its build record (damaged or replaced); not loading "
                             f"it. Delete {library.parent} to rebuild")
    return library


def library(build: Build = Build()) -> Path:
    """The library ONNX Runtime loads for graphs with rapid:: nodes: $RAPID_EDGE_ORT_LIBRARY, else this
    machine's build (made now when missing), its sha256 checked."""
    explicit = os.environ.get(ENVIRONMENT)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise NativeOpsError(f"{ENVIRONMENT}={path}: no such file")
        return path
    folder = build_folder(build)
    if not (folder / "build.json").is_file():
        _build(build, folder)
    return verified(folder / build.name)


def for_providers(providers: list[str]) -> Path:
    """The library for a session's providers: the CUDA flavour where ONNX Runtime's CUDA provider runs the graph
    and a CUDA toolkit can build it, else the CPU one (ONNX Runtime then moves the op's tensors to the host)."""
    if "CUDAExecutionProvider" in providers and not os.environ.get(ENVIRONMENT):
        if shutil.which("nvcc") is not None:
            return library(Build(cuda=True))
        log.warning("ONNX Runtime's CUDA provider runs this graph but nvcc is not installed: the rapid:: ops run "
                    "on the CPU")
    return library()


def session_options(options=None, providers: list[str] | tuple[str, ...] = ("CPUExecutionProvider",)):
    """onnxruntime SessionOptions that run graphs holding rapid:: nodes on `providers`."""
    ort = load_onnxruntime()
    options = options or ort.SessionOptions()
    options.register_custom_ops_library(str(for_providers(list(providers))))
    return options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuda", action="store_true", help="the flavour with CUDA kernels too (needs nvcc)")
    parser.add_argument("--cuda-arch", default="native", help="GPU architecture, e.g. 87 (Orin) or 90 (H100)")
    args = parser.parse_args()
    print(library(Build(args.cuda, args.cuda_arch)))


if __name__ == "__main__":
    main()
