"""The core install (what a vehicle carries: no PyTorch, no exporter, no simulator) labels the real scan
like the full install. The environment is the install script's .venv-runtime (or $RAPID_EDGE_RUNTIME_PYTHON)."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import sensors
from conftest import OLDEST_ONNXRUNTIME, REPO
from sdk import Pipeline

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"
RUNTIME_PYTHON = Path(os.environ.get("RAPID_EDGE_RUNTIME_PYTHON", REPO / ".venv-runtime" / "bin" / "python"))


def runtime_python() -> Path:
    if not RUNTIME_PYTHON.is_file():
        pytest.skip(f"no core-only environment at {RUNTIME_PYTHON} (install.sh makes .venv-runtime)")
    return RUNTIME_PYTHON


@pytest.mark.slow
@pytest.mark.parametrize("oldest", [False, True], ids=["as-installed", "onnxruntime-1.18"])
def test_the_core_install_labels_the_real_scan_as_the_full_install(tmp_path, data, oldest):
    """The core environment runs numpy 1.26 (JetPack 6's constraints) against the full install's numpy 2;
    then again with the oldest ONNX Runtime the metadata allows (1.18) in front."""
    if oldest and not OLDEST_ONNXRUNTIME.is_dir():
        pytest.skip(f"install.sh puts ONNX Runtime 1.18 in {OLDEST_ONNXRUNTIME}")
    scan = data(SCAN)
    out = tmp_path / "labels.npy"
    env = {**os.environ, "RAPID_EDGE_CACHE": str(tmp_path / "cache"),
           **({"PYTHONPATH": str(OLDEST_ONNXRUNTIME)} if oldest else {})}
    run = subprocess.run([str(runtime_python()), str(Path(__file__).with_name("runtime_only_labels.py")), str(scan), str(out)],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not (tmp_path / "cache").exists(), "the core install exported instead of using the shipped package"
    versions = json.loads(run.stdout.strip().splitlines()[-1])
    assert versions["numpy"].startswith("1.26.") and versions["onnxruntime"].startswith("1.18." if oldest else "1.")
    with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        expected = pipeline(next(iter(sensors.open(scan)))).labels
    np.testing.assert_array_equal(np.load(out), expected)


def test_the_cli_runs_on_the_core_install_and_names_what_it_lacks(tmp_path, data):
    cli = runtime_python().parent / "rapid-edge"
    help_text = subprocess.run([str(cli), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert help_text.returncode == 0, help_text.stderr[-2000:]
    assert "ros2" in help_text.stdout and "run" in help_text.stdout
    assert "bebr" in help_text.stdout and "export" in help_text.stdout  # neither needs PyTorch to be listed
    assert "train, evaluate, average, calibrate (need torch)" in " ".join(help_text.stdout.split())
    for command in ("train", "evaluate"):  # listed as absent, and one line when run
        lacking = subprocess.run([str(cli), command], capture_output=True, text=True, cwd=tmp_path)
        assert lacking.returncode == 2 and lacking.stderr.strip().splitlines() == [
            f"rapid-edge: error: rapid-edge {command} needs torch, which this install lacks: pip install 'rapid-edge-sdk[train]'"]
    for runtime, module, extra in (("pytorch", "torch", "export"), ("triton", "tritonclient", "triton")):
        lacking = subprocess.run([str(cli), "run", "--source", str(data(SCAN)), "--runtime", runtime, "--url",
                                  "127.0.0.1:9"], capture_output=True, text=True, cwd=tmp_path)
        assert lacking.returncode == 2 and lacking.stderr.strip().splitlines() == [
            f"rapid-edge: error: runtime {runtime!r} needs {module}, which this install lacks: "
            f"pip install 'rapid-edge-sdk[{extra}]'"]
    exported = subprocess.run([str(cli), "export", "rapid_seg", "--out", str(tmp_path / "pkg")], capture_output=True,
                              text=True, cwd=tmp_path)
    assert exported.returncode == 2 and "rapid-edge export needs torch, which this install lacks" in exported.stderr
    assert "Not in this install" in " ".join(help_text.stdout.split()) and "rapid-edge-sdk[train]" in help_text.stdout
    labelled = subprocess.run([str(cli), "run", "--source", str(data(SCAN)), "--save", str(tmp_path / "labels")],
                              capture_output=True, text=True, cwd=tmp_path)
    assert labelled.returncode == 0, labelled.stderr[-2000:]
    assert len(list((tmp_path / "labels").rglob("*.label"))) == 1
    simulated = subprocess.run([str(cli), "run", "--frames", "1"], capture_output=True, text=True, cwd=tmp_path)
    assert simulated.returncode == 2 and "needs open3d" in simulated.stderr and "rapid-edge-sdk[train]" in simulated.stderr
    env = {**os.environ, "FASTDDS_DEFAULT_PROFILES_FILE": str(REPO / "examples/ros2_node/config/fastdds_large_clouds.xml")}
    params = tmp_path / "params.yaml"  # the example's parameters with a budget no machine misses (exit 1 if missed)
    params.write_text((REPO / "examples/ros2_node/config/rapid_seg.param.yaml").read_text().replace(
        "processing_time_budget_ms: 100.0", "processing_time_budget_ms: 1000000.0"))
    assert "1000000.0" in params.read_text()
    check = subprocess.run([str(cli), "ros2", "check", "--params-file", str(params), "--json"],
                           capture_output=True, text=True, cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stderr[-2000:]
    report = json.loads(check.stdout)
    assert report["rclpy"] and report["package_form"] == "split"
    assert report["rmw"] == "rmw_fastrtps_cpp" and report["dds_config"]["FASTDDS_DEFAULT_PROFILES_FILE"]
