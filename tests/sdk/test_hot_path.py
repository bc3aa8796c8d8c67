"""What a rapid_seg frame does not redo once a pipeline is warm: fault in fresh pages for its arrays, and check
its feed against the network's inputs."""
from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

import sdk
from conftest import data_file
from runtimes import runner as runner_module
from sdk.segmentation.steps import warmup_sweep

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"
#: page faults a warm frame may take (4 KiB each: 1 MiB); the real scan's took ~4,300 when its
#: arrays were faulted in afresh
FAULTS_PER_WARM_FRAME = 256

FAULTS_SCRIPT = """
import json, resource, sys
import sdk, sensors
scan = next(iter(sensors.open(sys.argv[1])))
with sdk.Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
    for _ in range(3):
        result = pipeline(scan)  # held while the next frame runs, as a loop over results holds it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        result = pipeline(scan)
    print(json.dumps({"faults_per_frame": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10}))
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="freed memory is kept for reuse on glibc only")
def test_a_warm_frame_reuses_the_pages_of_the_last_one():
    done = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT, str(data_file(SCAN))], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    faults = json.loads(done.stdout.strip().splitlines()[-1])["faults_per_frame"]
    assert faults < FAULTS_PER_WARM_FRAME, faults


@pytest.mark.parametrize("warmup", [True, False])
def test_feeds_are_checked_until_the_warm_up_feed_passed(monkeypatch, warmup):
    checked = []
    check = runner_module.check_feed
    monkeypatch.setattr(runner_module, "check_feed", lambda specs, feed: (checked.append(len(feed)), check(specs, feed)))
    sweep = warmup_sweep(64, 2048)
    with sdk.Pipeline("rapid_seg", "onnxruntime-cpu", model=sdk.ModelOptions(warmup=warmup)) as pipeline:
        pipeline(sweep)
        pipeline(sweep)
    assert len(checked) == (1 if warmup else 2)
