"""The core install on aarch64 (a Jetson's CPU architecture), run under qemu user emulation: a Debian 12
arm64 root made by debootstrap, the SDK installed into a venv there from a wheel of this checkout (the shipped
packages inside) with `[cpu]`, as a vehicle would install it, then the real SemanticKITTI scan labelled and
the labels compared with this machine's x86_64 labels of the same scan. Writes aarch64_core.json beside this
file (committed; tests/deployment/test_aarch64_core.py holds today's x86_64 labels against it).

Takes 15-30 minutes on 2 cores (pip resolving and numba compiling under emulation), so it runs by hand:

    sudo .venv/bin/python tests/deployment/aarch64_core.py [--root /var/tmp/rapid-edge-aarch64]

Needs root, Debian's qemu-user-static and debootstrap (installed when missing), and PyPI and Debian's
mirror. binfmt_misc gets an aarch64 entry for the run, removed after; the root gets /proc and /dev, never
the host's /sys (ONNX Runtime crashes under qemu when it reads the host's CPU topology there)."""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULT = HERE / "aarch64_core.json"
SCAN = "semantickitti/sequences/00/velodyne/000000.bin"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
BINFMT = Path("/proc/sys/fs/binfmt_misc")
ENTRY = "rapid-edge-aarch64"
#: qemu-user-static's aarch64 ELF magic and mask (/usr/share/binfmts/qemu-aarch64); F: the interpreter is
#: opened now, so it runs inside the root without a copy there
REGISTRATION = (f":{ENTRY}:M:0:\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
                "\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff"
                "\\xff\\xfe\\xff\\xff\\xff:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:PF")
APT_PACKAGES = ("qemu-user-static", "debootstrap")
#: what is recorded of the root's install
RECORDED = ("numpy", "onnxruntime", "numba", "llvmlite", "onnx", "opencv-python-headless", "velodyne-decoder")


def run(*command: str, **kwargs) -> subprocess.CompletedProcess:
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, check=True, **kwargs)


def ensure_tools() -> None:
    missing = [p for p in APT_PACKAGES if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if missing:
        run("apt-get", "install", "-y", "-qq", *missing)


@contextlib.contextmanager
def aarch64_binaries() -> Iterator[None]:
    """binfmt_misc runs aarch64 ELF files through qemu for the block; an entry that was there stays."""
    if not (BINFMT / "register").exists():
        run("mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT))
    ours = not (BINFMT / ENTRY).exists()
    if ours:
        (BINFMT / "register").write_text(REGISTRATION)
    try:
        yield
    finally:
        if ours and (BINFMT / ENTRY).exists():
            (BINFMT / ENTRY).write_text("-1")


@contextlib.contextmanager
def mounted(root: Path) -> Iterator[None]:
    (root / "proc").mkdir(exist_ok=True)
    run("mount", "-t", "proc", "proc", str(root / "proc"))
    run("mount", "--bind", "/dev", str(root / "dev"))
    try:
        yield
    finally:
        run("umount", str(root / "dev"))
        run("umount", str(root / "proc"))


#: the root's environment: its own, not this machine's (whose pip settings name paths the root lacks)
ROOT_ENVIRONMENT = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
                    "LANG": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
#: where this machine's certificate bundle goes in the root, when pip here is told of one (a proxy's CA)
ROOT_CA = "/tmp/rapid-edge/host-ca.pem"


def in_root(root: Path, *command: str, capture: bool = False) -> str:
    environment = dict(ROOT_ENVIRONMENT)
    if (root / ROOT_CA.lstrip("/")).exists():
        environment["PIP_CERT"] = ROOT_CA
    done = run("chroot", str(root), "env", "-i", *(f"{k}={v}" for k, v in environment.items()), *command,
               capture_output=capture, text=True)
    return done.stdout if capture else ""


def host_ca_bundle() -> Path | None:
    """The certificate bundle pip uses here, when one is configured (PIP_CERT, else the SSL variables)."""
    for variable in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(variable) and Path(os.environ[variable]).is_file():
            return Path(os.environ[variable])
    return None


def sha256_of(labels: np.ndarray) -> str:
    return hashlib.sha256(labels.astype(np.uint8).tobytes()).hexdigest()


def labels_sha256(path: Path) -> str:
    return sha256_of(np.load(path))


def this_machines_labels(scan: Path) -> np.ndarray:
    """The scan's labels by the shipped package on ONNX Runtime's CPU provider, here."""
    import sensors
    from sdk import Pipeline

    with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        return pipeline(next(iter(sensors.open(scan)))).labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path("/var/tmp/rapid-edge-aarch64"),
                        help="where the arm64 root is made (kept: a rerun reuses it)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    scan = args.data / SCAN
    root = args.root / "root"
    seconds = {}
    ensure_tools()
    with aarch64_binaries():
        reused = (root / "usr" / "bin" / "python3").exists()
        if not reused:
            start = time.perf_counter()
            run("debootstrap", "--arch=arm64", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
                SUITE, str(root), MIRROR)
            seconds["debootstrap"] = round(time.perf_counter() - start, 1)
        with tempfile.TemporaryDirectory() as wheels:
            run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", wheels, str(REPO))
            wheel = next(Path(wheels).glob("rapid_edge_sdk-*.whl"))
            work = root / "tmp" / "rapid-edge"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            shutil.copy(wheel, work / wheel.name)
        shutil.copy(scan, work / "scan.bin")
        shutil.copy(HERE / "runtime_only_labels.py", work / "runtime_only_labels.py")
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
        if host_ca_bundle() is not None:
            shutil.copy(host_ca_bundle(), root / ROOT_CA.lstrip("/"))
        with mounted(root):
            start = time.perf_counter()
            in_root(root, "rm", "-rf", "/opt/rapid-edge")
            in_root(root, "python3", "-m", "venv", "/opt/rapid-edge")
            in_root(root, "/opt/rapid-edge/bin/pip", "install", "-q", f"/tmp/rapid-edge/{wheel.name}[cpu]")
            seconds["install"] = round(time.perf_counter() - start, 1)
            versions = json.loads(in_root(root, "/opt/rapid-edge/bin/python", "-c",
                                          "import json, platform; from importlib.metadata import version; "
                                          f"print(json.dumps({{'machine': platform.machine(), 'python': "
                                          f"platform.python_version(), **{{n: version(n) for n in {RECORDED!r}}}}}))",
                                          capture=True).strip().splitlines()[-1])
            start = time.perf_counter()
            in_root(root, "env", "RAPID_EDGE_CACHE=/tmp/rapid-edge/cache", "/opt/rapid-edge/bin/python",
                    "/tmp/rapid-edge/runtime_only_labels.py", "/tmp/rapid-edge/scan.bin", "/tmp/rapid-edge/labels.npy")
            seconds["label_first_run"] = round(time.perf_counter() - start, 1)
    aarch64, x86_64 = labels_sha256(work / "labels.npy"), sha256_of(this_machines_labels(scan))
    result = {"root": f"Debian 12 ({SUITE}) arm64, debootstrap --variant=minbase" + (" (made by an earlier run)" if reused else ""),
              "emulation": subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True,
                                          text=True).stdout.splitlines()[0],
              "host": platform.machine(), "installed_from": wheel.name + "[cpu]", "aarch64": versions,
              "scan": SCAN, "points": int(np.load(work / "labels.npy").size), "labels_sha256": {"aarch64": aarch64, "x86_64": x86_64},
              "identical": aarch64 == x86_64, "seconds": seconds, "date": time.strftime("%Y-%m-%d")}
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not result["identical"]:
        sys.exit("the aarch64 labels differ from x86_64's")


if __name__ == "__main__":
    main()
