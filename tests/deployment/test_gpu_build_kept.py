"""Installing the SDK's wheel into an environment that already has NVIDIA's onnxruntime-gpu keeps it: pip,
offline, in a throwaway venv whose other dependencies are the core environment's, leaves the GPU build's
module in place (its CUDA provider still listed); adding PyPI's CPU build on top (what `[cpu]` would do, and
what the core install did before) overwrites that module, and the SDK says so. The two ONNX Runtime
distributions are small stand-ins built here (same names and module as the real ones, whose wheels are
hundreds of MB and would need the network); pip's handling of them is the real thing under test."""
from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO

RUNTIME_PYTHON = REPO / ".venv-runtime" / "bin" / "python"
PROVIDERS = {"onnxruntime-gpu": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
             "onnxruntime": ["CPUExecutionProvider"]}


def stand_in_wheel(folder: Path, distribution: str, version: str) -> Path:
    """A wheel of `distribution` holding an `onnxruntime` module that lists its build's providers."""
    files = {"onnxruntime/__init__.py": f"__version__ = {version!r}\n"
                                        f"def get_available_providers():\n    return {PROVIDERS[distribution]!r}\n",
             f"{distribution.replace('-', '_')}-{version}.dist-info/METADATA":
                 f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n",
             f"{distribution.replace('-', '_')}-{version}.dist-info/WHEEL":
                 "Wheel-Version: 1.0\nGenerator: rapid-edge-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = f"{distribution.replace('-', '_')}-{version}.dist-info/RECORD"
    lines = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()},"
             f"{len(text.encode())}" for name, text in files.items()]
    path = folder / f"{distribution.replace('-', '_')}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        wheel.writestr(record, "\n".join([*lines, f"{record},,"]) + "\n")
    return path


def site_packages(python: Path) -> Path:
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())


@pytest.mark.slow
def test_the_sdk_wheel_keeps_an_installed_gpu_build_and_names_a_shadowing_cpu_build(tmp_path):
    if not RUNTIME_PYTHON.is_file():
        pytest.skip(f"no core environment at {RUNTIME_PYTHON} (install.sh makes .venv-runtime)")
    # the core environment's dependencies, without its own ONNX Runtime and SDK, seen through a .pth
    view = tmp_path / "dependencies"
    view.mkdir()
    for entry in site_packages(RUNTIME_PYTHON).iterdir():
        lowered = entry.name.lower()
        if not lowered.startswith(("onnxruntime", "rapid_edge_sdk", "__editable__", "_rapid_edge")):
            (view / entry.name).symlink_to(entry)
    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True)
    python = tmp_path / "venv" / "bin" / "python"
    (site_packages(python) / "core-dependencies.pth").write_text(f"{view}\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(wheels), str(REPO)], check=True, capture_output=True)
    sdk_wheel = next(wheels.glob("rapid_edge_sdk-*.whl"))

    def pip(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels),
                               *arguments], capture_output=True, text=True, cwd=tmp_path)

    def providers() -> str:
        return subprocess.run([str(python), "-c", "import onnxruntime; print(onnxruntime.get_available_providers())"],
                              capture_output=True, text=True, check=True, cwd=tmp_path).stdout

    assert pip(str(stand_in_wheel(wheels, "onnxruntime-gpu", "1.20.0"))).returncode == 0
    installed = pip(str(sdk_wheel))  # offline: it resolves against what is installed, or fails
    assert installed.returncode == 0, installed.stderr[-2000:]
    assert "CUDAExecutionProvider" in providers()
    assert pip(str(stand_in_wheel(wheels, "onnxruntime", "1.22.0"))).returncode == 0  # what a plain requirement did
    assert "CUDAExecutionProvider" not in providers()
    said = subprocess.run([str(python), "-c", "from runtimes.onnxruntime_install import load_onnxruntime; "
                                              "load_onnxruntime()"], capture_output=True, text=True, cwd=tmp_path)
    assert said.returncode == 0, said.stderr[-2000:]
    assert "onnxruntime 1.22.0 and onnxruntime-gpu 1.20.0 are both installed" in said.stderr
    assert "providers now: CPUExecutionProvider" in said.stderr
