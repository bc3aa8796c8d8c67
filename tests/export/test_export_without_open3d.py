"""The [export] extra exports without open3d (which only [train] installs): the frames to trace with and
check parity on come from the real scan or frames the user gives, simulated ones only where open3d is."""
from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("torch")

from conftest import data_file  # noqa: E402
from user_networks import export_point_network  # noqa: E402

SCAN = "semantickitti/sequences/00"
CONTRACT = {"output": "point_logits"}


@pytest.fixture
def without_open3d(monkeypatch):
    """This process as an [export] install sees it: open3d cannot be found or imported."""
    monkeypatch.setitem(sys.modules, "open3d", None)


def test_parity_runs_on_the_given_frames_without_open3d(without_open3d, tmp_path):
    package = export_point_network(tmp_path, {"hidden": 8}, CONTRACT, real_scan=data_file(SCAN), sim_frames=2)
    report = json.loads((package.folder / "parity.json").read_text())
    assert [frame["name"] for frame in report["frames"]] == ["00:0"] and report["passed"]


def test_without_open3d_or_frames_the_export_says_what_to_give(without_open3d, tmp_path):
    with pytest.raises(ValueError, match="give --real-scan PATH .* pip install 'rapid-edge-sdk\\[train\\]'"):
        export_point_network(tmp_path, {"hidden": 8}, CONTRACT, sim_frames=2)
    assert not (tmp_path / "package" / "manifest.json").exists()


def test_a_missing_frames_path_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere: no such file or folder"):
        export_point_network(tmp_path, {"hidden": 8}, CONTRACT, real_scan=tmp_path / "nowhere", sim_frames=0)
