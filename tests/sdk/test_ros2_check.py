"""`rapid-edge ros2 check`: what the node will open, opened before the vehicle drives; a bad set-up fails naming it."""
from __future__ import annotations

import json
import math

from sdk.cli.main import main
from sdk.shipped import shipped_package


def write_params(folder, body: str):
    path = folder / "params.yaml"
    path.write_text("/**:\n  ros__parameters:\n" + "".join(f"    {line}\n" for line in body.splitlines()))
    return path


def test_a_good_setup_reports_runtime_package_and_a_timed_sweep(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE", raising=False)
    monkeypatch.delenv("RMW_IMPLEMENTATION", raising=False)
    params = write_params(tmp_path, "runtime: onnxruntime-cpu\nprocessing_time_budget_ms: 1000000")
    assert main(["ros2", "check", "--params-file", str(params), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runtime"] == "onnxruntime[CPUExecutionProvider]"
    assert report["package"] == str(shipped_package("rapid_seg")) and report["package_form"] == "split"
    # the sweep was timed stage by stage (how long it took is the benchmarks' business, not a test's)
    assert set(report["sweep_ms"]) == {"preprocess", "infer", "postprocess"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in report["sweep_ms"].values())
    assert report["parameters"]["processing_time_budget_ms"] == 1e6 and report["within_budget"]
    assert any("FASTDDS_DEFAULT_PROFILES_FILE is unset" in note for note in report["notes"])
    assert report["rmw"] == "rmw_fastrtps_cpp"  # ROS 2's default when RMW_IMPLEMENTATION is unset


def test_a_sweep_over_the_budget_exits_non_zero(tmp_path, capsys):
    """No machine segments a sweep in a microsecond: the check reports it and exits 1 for scripts to see."""
    params = write_params(tmp_path, "runtime: onnxruntime-cpu\nprocessing_time_budget_ms: 0.001")
    assert main(["ros2", "check", "--params-file", str(params), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert not report["within_budget"] and any("over the 0.001 ms budget" in note for note in report["notes"])


def test_a_misspelled_key_fails_naming_it(tmp_path, capsys):
    assert main(["ros2", "check", "--params-file", str(write_params(tmp_path, "runtme: auto"))]) == 2
    assert "'runtme' was unexpected" in capsys.readouterr().err


def test_a_missing_package_fails_naming_the_folder(tmp_path, capsys):
    params = write_params(tmp_path, f"package: {tmp_path / 'nowhere'}")
    assert main(["ros2", "check", "--params-file", str(params)]) == 2
    assert f"{tmp_path / 'nowhere'}" in capsys.readouterr().err


def test_a_missing_fastdds_profile_fails(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RMW_IMPLEMENTATION", raising=False)
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", str(tmp_path / "profile.xml"))
    params = write_params(tmp_path, "runtime: onnxruntime-cpu")
    assert main(["ros2", "check", "--params-file", str(params)]) == 2
    assert "profile.xml: no such file" in capsys.readouterr().err
