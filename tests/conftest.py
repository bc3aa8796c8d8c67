"""Shared fixtures: the real sample data in ../shared/data (read-only, never shipped) and packet helpers."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("RAPID_EDGE_DATA", REPO.parent / "shared" / "data"))
#: the oldest ONNX Runtime the SDK supports (1.18) with numpy 1.26, which install.sh puts here for PYTHONPATH
OLDEST_ONNXRUNTIME = REPO / ".venv" / "onnxruntime-1.18"
# network rule: any DDS participant a test (or a process it starts) creates discovers on loopback only
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"


def data_file(relative: str) -> Path:
    """A file of the shared sample data; the test is skipped with the reason when the data is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"sample data {path} is not present (set RAPID_EDGE_DATA)")
    return path


@pytest.fixture
def data():
    return data_file


@pytest.fixture
def one_thread():
    """Parallel reductions sum in an order that follows thread timing, and Adam turns a last-bit difference
    in a near-zero gradient into a full step: training runs are compared on one thread."""
    import numba
    import torch

    threads = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(1), numba.set_num_threads(1)
    yield
    torch.set_num_threads(threads[0]), numba.set_num_threads(threads[1])
