"""What pip resolves on each platform, read from pyproject.toml as pip reads it (markers evaluated for x86_64
and a Jetson's aarch64, Python 3.10 and 3.12): no requirement that could overwrite NVIDIA's GPU builds of
ONNX Runtime or PyTorch, and what the SDK says when ONNX Runtime is missing or installed twice."""
from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from export.onnx_graph import MIN_TORCH, ExportError, check_torch
from runtimes import onnxruntime_install
from runtimes.errors import RuntimeUnavailable

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
PLATFORMS = [{"platform_machine": machine, "python_version": python, "sys_platform": "linux",
              "platform_system": "Linux", "python_full_version": f"{python}.0"}
             for machine in ("x86_64", "aarch64") for python in ("3.10", "3.12")]


def requirements(extra: str | None, platform: dict) -> dict[str, Requirement]:
    """name -> requirement of the core (extra None) or of one extra, as pip sees it on `platform`."""
    listed = PYPROJECT["dependencies"] if extra is None else PYPROJECT["optional-dependencies"][extra]
    chosen = {}
    for line in listed:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({**platform, "extra": extra or ""}):
            chosen[requirement.name] = requirement
    return chosen


@pytest.mark.parametrize("platform", PLATFORMS, ids=lambda p: f"{p['platform_machine']}-py{p['python_version']}")
def test_only_the_cpu_extra_brings_pypi_onnxruntime_and_no_extra_replaces_a_jetson_torch(platform):
    extras = [None, *PYPROJECT["optional-dependencies"]]
    with_cpu_onnxruntime = [extra for extra in extras if "onnxruntime" in requirements(extra, platform)]
    assert with_cpu_onnxruntime == ["cpu"]
    with_torch = sorted(extra or "core" for extra in extras if "torch" in requirements(extra, platform))
    if platform["platform_machine"] == "aarch64":  # NVIDIA's Jetson torch is never replaced from PyPI
        assert with_torch == []
        assert {"tensorrt", "onnxruntime-gpu"}.isdisjoint(requirements("gpu", platform))  # JetPack's own
    else:
        assert with_torch == ["export"]
        assert {"tensorrt", "onnxruntime-gpu", "cuda-python"} <= set(requirements("gpu", platform))


def test_the_exporters_torch_floor_is_pyprojects():
    floor = requirements("export", PLATFORMS[0])["torch"].specifier
    assert {str(s) for s in floor} == {">=" + ".".join(map(str, MIN_TORCH))}


@pytest.mark.parametrize("version, accepted", [
    ("2.4.0a0+3bcc3cddb5.nv24.07", True),  # JetPack 6.0's NVIDIA build: a pre-release of the floor
    ("2.13.0+cpu", True),
    ("2.1.0a0+41361538.nv23.06", False),   # JetPack 5's
    ("2.3.1", False),
])
def test_the_exporter_takes_nvidias_jetson_torch_and_names_an_old_one(version, accepted):
    if accepted:
        check_torch(version)
    else:
        with pytest.raises(ExportError, match=f"needs PyTorch >= 2.4 .*this is {version.replace('+', '[+]')}"):
            check_torch(version)


def test_no_onnxruntime_fails_in_one_line_naming_both_ways_to_install_it(monkeypatch):
    monkeypatch.setattr(onnxruntime_install.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeUnavailable, match=r"pip install 'rapid-edge-sdk\[cpu\]'.*onnxruntime-gpu"):
        onnxruntime_install.load_onnxruntime()


def test_both_distributions_installed_is_warned_of_with_the_providers_left(monkeypatch, caplog):
    """pip installs PyPI's onnxruntime beside NVIDIA's onnxruntime-gpu without complaint, the last one's files
    winning: the SDK names both and the providers that survived."""
    monkeypatch.setattr(onnxruntime_install, "installed_distributions",
                        lambda: {"onnxruntime": "1.22.0", "onnxruntime-gpu": "1.20.0"})
    onnxruntime_install._warn_both.cache_clear()
    with caplog.at_level(logging.WARNING, "runtimes"):
        module = onnxruntime_install.load_onnxruntime()
        onnxruntime_install.load_onnxruntime()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1  # once, not per session
    assert "onnxruntime 1.22.0 and onnxruntime-gpu 1.20.0 are both installed" in warnings[0]
    assert ", ".join(module.get_available_providers()) in warnings[0]
    onnxruntime_install._warn_both.cache_clear()
