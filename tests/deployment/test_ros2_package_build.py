"""The node's ROS 2 package built the way a vehicle's workspace builds it (`colcon build`): the executable
lands where `ros2 run` and `ros2 launch` look (lib/<package>), with its launch file, parameters and profile."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

PACKAGE = "rapid_edge_ros2"
COLCON = Path(sys.executable).with_name("colcon")


@pytest.mark.slow
@pytest.mark.skipif(not COLCON.is_file(), reason="colcon is not installed (the dev extra brings it)")
def test_colcon_installs_the_executable_where_ros2_run_looks(tmp_path):
    shutil.copytree(REPO / "examples" / "ros2_node", tmp_path / "src" / PACKAGE)
    build = subprocess.run([str(COLCON), "build", "--packages-select", PACKAGE], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    prefix = tmp_path / "install" / PACKAGE
    executable = prefix / "lib" / PACKAGE / "rapid_seg_node"
    assert executable.is_file() and "rapid_seg_node" in executable.read_text()
    entry_points = next(prefix.rglob("entry_points.txt")).read_text()
    assert "rapid_seg_node = rapid_edge_ros2.segmentation_node:main" in entry_points
    share = prefix / "share" / PACKAGE
    assert {p.name for p in (share / "config").iterdir()} == {"rapid_seg.param.yaml", "fastdds_large_clouds.xml", "cyclonedds_large_clouds.xml"}
    assert (share / "launch" / "rapid_seg.launch.xml").is_file() and (share / "package.xml").is_file()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE).is_file()
