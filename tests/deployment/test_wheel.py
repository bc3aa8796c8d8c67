"""The wheel a vehicle installs (`pip wheel .`, then `pip install rapid_edge_sdk-*.whl[cpu]`, as docs/jetson.md
says and tests/deployment/aarch64_core.py does on aarch64): it carries every file of the shipped packages,
byte for byte as their manifests record them, and none of the non-commercial sample data."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sdk.shipped import SHIPPED_PACKAGES, WEIGHTS_ROOT

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_wheel_carries_the_shipped_packages_and_no_sample_data(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                           "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = zipfile.ZipFile(next(tmp_path.glob("rapid_edge_sdk-*-py3-none-any.whl")))
    names = set(wheel.namelist())
    for folder in SHIPPED_PACKAGES.values():
        inside = folder.relative_to(REPO).as_posix()
        manifest = json.loads(wheel.read(f"{inside}/manifest.json"))
        for name, digest in manifest["files"].items():
            assert hashlib.sha256(wheel.read(f"{inside}/{name}")).hexdigest() == digest, f"{inside}/{name}"
    assert f"{WEIGHTS_ROOT.relative_to(REPO).as_posix()}/rapid_seg/model.safetensors" in names  # the PyTorch runtime's
    sample_data = [n for n in names if n.endswith((".bin", ".pcap", ".label", ".db3", ".mcap", ".pcd"))]
    assert sample_data == [] and not any(n.startswith(("tests/", "benchmarks/", "docs/")) for n in names)
