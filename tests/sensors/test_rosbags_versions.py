"""ouster-sdk pins rosbags 0.9.23; users without it get 0.11.x. The bag tests run under both lines:
install.sh puts rosbags 0.11 beside the environment in .venv/rosbags-0.11, and this test reruns
test_rosbag.py with it first on the path."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DATA, REPO

OTHER_LINE = REPO / ".venv" / "rosbags-0.11"


@pytest.mark.slow
def test_bag_suite_passes_under_rosbags_011():
    if not (OTHER_LINE / "rosbags").is_dir():
        pytest.skip(f"{OTHER_LINE} is absent (install.sh creates it)")
    if not DATA.is_dir():
        pytest.skip(f"sample data {DATA} is not present (set RAPID_EDGE_DATA): the bag tests would only skip")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(OTHER_LINE), os.environ.get("PYTHONPATH", "")])}
    version = subprocess.run([sys.executable, "-c", "import importlib.metadata as m; print(m.version('rosbags'))"],
                             env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("0.11"), version
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             str(Path(__file__).with_name("test_rosbag.py"))],
                            env=env, capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout  # MCAP writing works on 0.11
