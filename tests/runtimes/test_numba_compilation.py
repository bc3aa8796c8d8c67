"""A pipeline's first use with a cold numba cache says that it compiles (about 20 s on 2 cores) instead of
sitting silent; a kernel loaded from the cache, or already compiled, says nothing."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit

from runtimes.numba_compilation import announce_compilation

COMPILING = "first use: compiling the CPU kernels"


def test_a_compilation_is_announced_once_and_a_compiled_kernel_is_not(caplog):
    @njit
    def doubled(values):
        return values * 2

    log = logging.getLogger("test.compilation")
    with caplog.at_level(logging.WARNING, "test.compilation"), announce_compilation(log):
        doubled(np.arange(3))
        doubled(np.arange(3.0))  # a second signature: compiled, not announced again
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and messages[0].startswith(COMPILING) and messages[1].startswith("compiled the CPU kernels in")
    caplog.clear()
    with caplog.at_level(logging.WARNING, "test.compilation"), announce_compilation(log):
        doubled(np.arange(4))
    assert not caplog.records


@pytest.mark.slow
def test_the_cli_announces_a_cold_cache_and_not_a_warm_one(tmp_path):
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}

    def first_lines():
        done = subprocess.run([sys.executable, "-m", "sdk.cli.main", "run", "--frames", "1", "--runtime",
                               "onnxruntime-cpu"], capture_output=True, text=True, env=environment, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stderr

    cold = first_lines()
    assert COMPILING in cold and cold.index(COMPILING) < cold.index("compiled the CPU kernels in")
    assert any((tmp_path / "numba").rglob("*.nbi"))
    assert COMPILING not in first_lines()
