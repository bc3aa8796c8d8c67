"""`rapid-edge doctor`'s facts and the problems it names: a Jetson's L4T, where a torch build came from, two
ONNX Runtime distributions in one module, a Jetson without its GPU provider, numpy 2 beside a numpy-1 ROS 2."""
from __future__ import annotations

import json
import platform

import numpy as np
import pytest

from runtimes.platform_report import jetson, l4t_version, platform_report, problems, torch_build
from sdk.cli.main import main

JETPACK6_RELEASE = "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: Mon May  6 17:34:21 UTC 2024"


def test_a_jetsons_release_file_gives_its_l4t(tmp_path):
    release = tmp_path / "nv_tegra_release"
    release.write_text(JETPACK6_RELEASE + "\nINSTALL_TYPE=\n")
    assert l4t_version(JETPACK6_RELEASE) == "36.3.0" and jetson(release)["l4t"] == "36.3.0"
    assert jetson(tmp_path / "absent") is None and l4t_version("not a release line") is None


@pytest.mark.parametrize("version, cuda, build", [
    ("2.4.0a0+3bcc3cddb5.nv24.07", "12.6", "NVIDIA's Jetson build (CUDA 12.6)"),
    ("2.13.0+cpu", None, "CPU build"),
    ("2.9.1", "13.0", "CUDA 13.0 build"),
    ("2.5.0+nvidiatest", "12.4", "CUDA 12.4 build"),  # only an nvNN label is NVIDIA's Jetson build
])
def test_where_a_torch_build_came_from(version, cuda, build):
    assert torch_build(version, cuda) == build


def clean(report: dict) -> dict:
    return {**report, "jetson": None, "ros_distro": None, "numpy": "1.26.4",
            "onnxruntime": {"distributions": {"onnxruntime-gpu": "1.20.0"},
                            "providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}}


@pytest.mark.parametrize("change, named", [
    ({"onnxruntime": {"distributions": {"onnxruntime": "1.22.0", "onnxruntime-gpu": "1.20.0"},
                      "providers": ["CPUExecutionProvider"]}}, "are both installed and share one module"),
    ({"onnxruntime": {"distributions": {}, "providers": None}}, "no ONNX Runtime: pip install 'rapid-edge-sdk[cpu]'"),
    ({"jetson": {"l4t": "36.3.0"}, "onnxruntime": {"distributions": {"onnxruntime": "1.22.0"},
                                                   "providers": ["CPUExecutionProvider"]}}, "no CUDA provider"),
    ({"numpy": "2.2.6", "ros_distro": "humble"}, "numpy 2.2.6 beside ROS 2 humble"),
])
def test_each_problem_is_named_with_what_to_do(change, named):
    report = clean(platform_report())
    assert problems(report) == []
    found = problems({**report, **change})
    assert len(found) == 1 and named in found[0]


def test_doctor_reports_this_machine(capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["machine"] == platform.machine() and report["numpy"] == np.__version__
    assert "CPUExecutionProvider" in report["onnxruntime"]["providers"] and report["problems"] == []
    assert report["torch"]["build"] == "CPU build"  # the suite's torch is 2.13.0's CPU build
