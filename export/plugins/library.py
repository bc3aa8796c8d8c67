"""Build and load the TensorRT plugin library (librapid_edge_plugins.so) that holds the SDK's plugins."""
from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from runtimes.cache import cache_root

SOURCES = Path(__file__).resolve().parent
LIBRARY_NAME = "librapid_edge_plugins.so"
#: the library's sources (CMakeLists.txt lists the same; a test holds them equal): CUDA launchers with their
#: kernels, then the C++ plugins and the getCreators() entry point
KERNEL_SOURCES = ("rapid_features_launch.cu", "binary_search_launch.cu")
PLUGIN_SOURCES = ("rapid_features_plugin.cpp", "binary_search_plugin.cpp", "plugin_library.cpp")
ENVIRONMENT = "RAPID_EDGE_PLUGIN_LIBRARY"


class PluginLibraryError(RuntimeError):
    """The plugin library cannot be found, built or loaded; the message says what to do."""


def default_build_dir() -> Path:
    return cache_root() / "plugins"


def user_library() -> Path | None:
    """The library the user names in $RAPID_EDGE_PLUGIN_LIBRARY (None when unset); a wrong path fails at once."""
    explicit = os.environ.get(ENVIRONMENT)
    if not explicit:
        return None
    path = Path(explicit)
    if not path.is_file():
        raise PluginLibraryError(f"{ENVIRONMENT}={path}: no such file")
    return path


def library_path() -> Path | None:
    """The library to build engines with: $RAPID_EDGE_PLUGIN_LIBRARY, else this machine's own build in the
    cache (`python -m export.plugins.build`); None when neither exists."""
    built = default_build_dir() / LIBRARY_NAME
    return user_library() or (built if built.is_file() else None)


def build(tensorrt_root: str | Path | None = None, build_dir: Path | None = None,
          cuda_architectures: str | None = None) -> Path:
    """Configure and build the library with CMake (needs nvcc and a TensorRT install)."""
    if shutil.which("cmake") is None or shutil.which("nvcc") is None:
        raise PluginLibraryError("building the plugin library needs cmake and nvcc on PATH")
    build_dir = Path(build_dir or default_build_dir())
    configure = ["cmake", "-S", str(SOURCES), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release"]
    root = tensorrt_root or os.environ.get("TENSORRT_ROOT")
    if root:
        configure.append(f"-DTENSORRT_ROOT={root}")
    if cuda_architectures:
        configure.append(f"-DCMAKE_CUDA_ARCHITECTURES={cuda_architectures}")
    for command in (configure, ["cmake", "--build", str(build_dir), "-j"]):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            raise PluginLibraryError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return build_dir / LIBRARY_NAME


@cache
def load(path: Path | None = None):
    """Load the library so that its creators register with TensorRT's plugin registry (once per process)."""
    try:
        import tensorrt  # noqa: F401
    except ImportError as err:
        raise PluginLibraryError("TensorRT's Python package is not installed (pip install 'rapid-edge-sdk[gpu]')") from err
    from runtimes.tensorrt_runner import load_plugin_library

    path = path or library_path()
    if path is None:
        raise PluginLibraryError(f"no plugin library: build it (python -m export.plugins.build) or set {ENVIRONMENT}")
    try:
        return load_plugin_library(path)
    except (OSError, RuntimeError) as err:
        raise PluginLibraryError(str(err)) from err
