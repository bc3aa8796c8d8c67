"""A short run of the fuzz campaign (benchmarks/fuzz_sources.py, 100,000 cases in its committed run): mutated
real captures and files through sensors.open never crash (anything but SourceError) or hang."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, data_file


@pytest.mark.slow
def test_mutated_captures_are_read_or_refused_never_crash_or_hang(tmp_path):
    data_file("velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap")  # skips without the shared data
    out = tmp_path / "fuzz.json"
    run = subprocess.run([sys.executable, "fuzz_sources.py", "--cases", "3000", "--seed", "7", "--out", str(out)],
                         cwd=REPO / "benchmarks", capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["outcomes"]["crash"] == 0, report["distinct_crashes"]
    assert report["outcomes"]["hang"] == 0
    assert report["outcomes"]["read"] > 0 and report["outcomes"]["refused"] > 0  # mutants reach both ends
