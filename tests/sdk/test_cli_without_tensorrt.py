"""Without TensorRT, the commands that need it say so in one line and exit 2, as the other commands do for
what they cannot do; no traceback."""
from __future__ import annotations

import importlib.util
import shutil

import pytest

from conftest import data_file
from sdk.cli.main import main
from sdk.shipped import shipped_package

pytestmark = pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err.strip()
    assert "Traceback" not in error and len(error.splitlines()) == 1, error
    return error


def test_build_says_tensorrt_is_missing(tmp_path, capsys):
    package = shutil.copytree(shipped_package("rapid_seg"), tmp_path / "package")
    assert main(["build", str(package)]) == 2
    assert "TensorRT is not installed" in one_line_error(capsys)
    assert not list(package.glob("engines/*"))


def test_run_on_tensorrt_says_what_to_install(capsys):
    assert main(["run", "--runtime", "tensorrt", "--source", str(data_file("semantickitti/sequences/00")),
                 "--frames", "1"]) == 2
    assert "runtime 'tensorrt' needs TensorRT, which this install lacks: pip install 'rapid-edge-sdk[gpu]'" in one_line_error(capsys)
