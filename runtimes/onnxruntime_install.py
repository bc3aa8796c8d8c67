"""Which ONNX Runtime this environment has. PyPI's `onnxruntime` (CPU) and `onnxruntime-gpu` (NVIDIA's GPU
build, and the wheel NVIDIA ships for Jetson) install one and the same `onnxruntime` module: with both, the
one installed last has overwritten the other's files and `pip check` sees nothing wrong. The SDK requires
neither (its `[cpu]` and `[gpu]` extras choose), imports ONNX Runtime only through `load_onnxruntime`, and
says so when both are there."""
from __future__ import annotations

import functools
import importlib.util
import logging
from importlib.metadata import PackageNotFoundError, version
from types import ModuleType

from .errors import RuntimeUnavailable

log = logging.getLogger("runtimes")

#: the distributions that install the `onnxruntime` module: PyPI's CPU build and NVIDIA's GPU build
DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu")
NOT_INSTALLED = ("ONNX Runtime is not installed: pip install 'rapid-edge-sdk[cpu]' (the CPU build), or on an "
                 "NVIDIA GPU 'rapid-edge-sdk[gpu]' (x86_64) or NVIDIA's onnxruntime-gpu wheel for your JetPack")


def installed_distributions() -> dict[str, str]:
    """distribution -> version, for each of DISTRIBUTIONS installed here."""
    found = {}
    for name in DISTRIBUTIONS:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


def load_onnxruntime() -> ModuleType:
    """The onnxruntime module; fails in one line naming what to install when there is none, and warns (once)
    when both distributions are installed, naming the providers that survived."""
    if importlib.util.find_spec("onnxruntime") is None:
        raise RuntimeUnavailable(NOT_INSTALLED)
    import onnxruntime

    installed = installed_distributions()
    if len(installed) > 1:
        _warn_both(tuple(sorted(installed.items())), tuple(onnxruntime.get_available_providers()))
    return onnxruntime


@functools.cache
def _warn_both(installed: tuple[tuple[str, str], ...], providers: tuple[str, ...]) -> None:
    log.warning("%s are both installed and share one module: the last installed won (providers now: %s). To keep "
                "the GPU build: pip uninstall -y onnxruntime onnxruntime-gpu, then install onnxruntime-gpu alone "
                "(on a Jetson, NVIDIA's wheel)", " and ".join(f"{name} {v}" for name, v in installed),
                ", ".join(providers))
