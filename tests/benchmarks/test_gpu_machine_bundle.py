"""benchmarks/gpu_machine/env.sh, the part of the GPU bundle that cannot wait for a GPU machine to be
checked: it must put on the library path exactly the libraries the image lacks (and those they need in
turn), taken from the bundle's Debian packages, and fail naming a library that neither has. `ldd` is
replaced by a stand-in that reports a fixed dependency chain, so the test runs on any Linux machine."""
from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV_SH = REPO / "benchmarks" / "gpu_machine" / "env.sh"

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None or shutil.which("dpkg") is None,
                                reason="needs dpkg-deb and dpkg (Debian/Ubuntu)")

# open3d needs libfoo, and libfoo needs libbar: a library found only after the first round is copied
FAKE_LDD = """#!/usr/bin/env bash
have() { for dir in ${LD_LIBRARY_PATH//:/ }; do [ -e "$dir/$1" ] && return 0; done; return 1; }
for lib in $NEEDED; do
  case "$lib" in libbar.so.2) have libfoo.so.1 || continue ;; esac
  have "$lib" && echo "	$lib => found" || echo "	$lib => not found"
done
"""


def make_bundle(root: Path, libraries: list[str]) -> Path:
    bundle = root / "bundle"
    (bundle / "debs").mkdir(parents=True)
    site = root / "site-src"
    (site / "open3d").mkdir(parents=True)
    (site / "open3d" / "libOpen3D.so.0.20").write_bytes(b"")
    with tarfile.open(bundle / "site.tar.xz", "w:xz") as tar:
        tar.add(site, arcname=".")
    package = root / "libs-deb"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: libfake\nVersion: 1.0\nArchitecture: all\nMaintainer: test <t@example.com>\nDescription: fake\n")
    lib_dir = package / "usr" / "lib" / "x86_64-linux-gnu"
    lib_dir.mkdir(parents=True)
    for name in libraries:
        (lib_dir / name).write_text(name)
    subprocess.run(["dpkg-deb", "--build", str(package), str(bundle / "debs" / "libfake.deb")],
                   check=True, capture_output=True)
    return bundle


def source_env(tmp_path: Path, bundle: Path, needed: str) -> subprocess.CompletedProcess:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    (fake_bin / "ldd").write_text(FAKE_LDD)
    (fake_bin / "ldd").chmod(0o755)
    env = {"PATH": f"{fake_bin}:{os.environ['PATH']}", "BUNDLE": str(bundle),
           "BUNDLE_PREFIX": str(tmp_path / "prefix"), "NEEDED": needed}
    script = f'source "{ENV_SH}" || exit 1; echo "PYTHONPATH=$PYTHONPATH"; echo "LD=$LD_LIBRARY_PATH"'
    return subprocess.run(["bash", "-c", script], env=env, cwd=REPO, capture_output=True, text=True)


def test_only_the_missing_libraries_and_their_needs_are_put_on_the_library_path(tmp_path):
    bundle = make_bundle(tmp_path, ["libfoo.so.1", "libbar.so.2", "libunused.so.3"])
    done = source_env(tmp_path, bundle, needed="libfoo.so.1 libbar.so.2")
    assert done.returncode == 0, done.stderr
    prefix = tmp_path / "prefix"
    assert sorted(p.name for p in (prefix / "lib").iterdir()) == ["libbar.so.2", "libfoo.so.1"]
    assert f"PYTHONPATH={prefix / 'site'}:{REPO}" in done.stdout
    assert f"LD={prefix / 'lib'}" in done.stdout
    assert (prefix / "site" / "open3d" / "libOpen3D.so.0.20").exists()


def test_a_library_neither_the_image_nor_the_bundle_has_is_named(tmp_path):
    bundle = make_bundle(tmp_path, ["libfoo.so.1"])
    done = source_env(tmp_path, bundle, needed="libfoo.so.1 libmissing.so.7")
    assert done.returncode == 1
    assert "libmissing.so.7" in done.stderr


def test_a_missing_bundle_is_named(tmp_path):
    done = source_env(tmp_path, tmp_path / "nowhere", needed="")
    assert done.returncode == 1
    assert "nowhere/site.tar.xz" in done.stderr
