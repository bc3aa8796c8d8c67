"""benchmarks/gpu_machine/gpu_checks_json.py: the JSON a GPU machine's run comes back with says which
checks passed and refuses a summary it cannot read."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_machine"))

import gpu_checks_json as summary  # noqa: E402


def test_each_check_with_its_status_and_time(tmp_path):
    lines = tmp_path / "summary.txt"
    lines.write_text("environment rc=0 3s\ngpu_tests rc=1 212s\n\ngpu_latency rc=124 300s\n")
    summary.main(lines, tmp_path / "gpu_checks.json")
    result = json.loads((tmp_path / "gpu_checks.json").read_text())
    assert [(c["check"], c["rc"], c["passed"], c["seconds"]) for c in result["checks"]] == [
        ("environment", 0, True, 3), ("gpu_tests", 1, False, 212), ("gpu_latency", 124, False, 300)]
    assert result["all_passed"] is False
    assert "cpu" in result["machine"] and "gpu_latency" not in result


def test_the_latency_measurements_travel_in_the_same_json(tmp_path):
    (tmp_path / "summary.txt").write_text("gpu_latency rc=0 120s\n")
    (tmp_path / "gpu_latency.json").write_text(json.dumps({"tensorrt": {"plugin fp16": {"ms": 4.2}}}))
    summary.main(tmp_path / "summary.txt", tmp_path / "gpu_checks.json", tmp_path / "gpu_latency.json")
    result = json.loads((tmp_path / "gpu_checks.json").read_text())
    assert result["all_passed"] and result["gpu_latency"]["tensorrt"]["plugin fp16"]["ms"] == 4.2


def test_all_passed_only_when_every_check_did():
    assert all(c["passed"] for c in summary.parse_summary("a rc=0 1s\nb rc=0 2s"))


def test_a_malformed_summary_is_refused_naming_the_line():
    with pytest.raises(ValueError, match="summary line 2: 'gpu_tests failed'"):
        summary.parse_summary("environment rc=0 3s\ngpu_tests failed\n")
