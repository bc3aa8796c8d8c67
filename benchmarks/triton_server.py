"""Serve a model repository with the Triton server that PyTriton's wheel carries (Python backend only), on
loopback, from an environment that has `nvidia-pytriton` and the SDK (install.sh makes .venv-triton):

    python benchmarks/triton_server.py REPO [--env .venv-triton] [--http-port 8000]

The wheel's server is copied to a work folder with the Python backend stub of the environment's Python, as
PyTriton itself prepares it, and started with HTTP and gRPC bound to 127.0.0.1 and metrics off."""
from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENV = REPO_ROOT / ".venv-triton"
LOOPBACK = "127.0.0.1"
SHM_BYTES = 64 << 20


def site_packages(env: Path) -> Path:
    found = sorted(env.glob("lib/python3.*/site-packages"))
    if not found or not (found[0] / "pytriton" / "tritonserver" / "bin" / "tritonserver").is_file():
        raise FileNotFoundError(f"{env}: no PyTriton server (pip install nvidia-pytriton into it)")
    return found[0]


def prepare(env: Path, work: Path) -> Path:
    """A runnable copy of the wheel's server with the stub for the environment's Python version."""
    packages = site_packages(env)
    version = packages.parent.name.removeprefix("python")
    server = work / "tritonserver"
    shutil.copytree(packages / "pytriton" / "tritonserver", server, ignore=shutil.ignore_patterns("python_backend_stubs"))
    shutil.copy2(packages / "pytriton" / "tritonserver" / "python_backend_stubs" / version / "triton_python_backend_stub",
                 server / "backends" / "python" / "triton_python_backend_stub")
    return server


def ready(http_port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{http_port}/v2/health/ready", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve(repository: Path, env: Path = DEFAULT_ENV, http_port: int = 8000, grpc_port: int = 8001,
          timeout_s: float = 180.0, log: Path | None = None) -> Iterator[str]:
    """A running server over `repository`; yields its HTTP address. Fails naming the log when it cannot start."""
    with tempfile.TemporaryDirectory(prefix="triton-") as work:
        server = prepare(Path(env), Path(work))
        log = log or Path(work) / "server.log"
        command = [str(server / "bin" / "tritonserver"), "--model-repository", str(repository),
                   "--backend-directory", str(server / "backends"), "--http-address", LOOPBACK,
                   "--http-port", str(http_port), "--grpc-address", LOOPBACK, "--grpc-port", str(grpc_port),
                   "--allow-metrics", "false", "--log-verbose", "0",
                   # a sweep's tensors (about 10 MB) cross between server and Python models through shared memory
                   f"--backend-config=python,shm-default-byte-size={SHM_BYTES}",
                   f"--backend-config=python,shm-growth-byte-size={SHM_BYTES // 4}"]
        libraries = site_packages(Path(env)) / "nvidia_pytriton.libs"
        with log.open("w") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                       env={"LD_LIBRARY_PATH": str(libraries), "PATH": "/usr/bin:/bin"})
        try:
            deadline = time.monotonic() + timeout_s
            while not ready(http_port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Triton server did not become ready; its log: {log}\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield f"{LOOPBACK}:{http_port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repository", type=Path)
    parser.add_argument("--env", type=Path, default=DEFAULT_ENV)
    parser.add_argument("--http-port", type=int, default=8000)
    args = parser.parse_args()
    with serve(args.repository, args.env, args.http_port) as url:
        print(f"serving {args.repository} at http://{url} (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(1)


if __name__ == "__main__":
    main()
