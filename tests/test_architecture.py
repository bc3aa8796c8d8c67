"""The design card's layers and the absence of import circles, checked on the real imports of every module
(import-linter's contracts in pyproject.toml): a new import that points up a layer, from one task folder into
the other, or that closes a circle fails here, naming the import."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_the_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "3 kept, 0 broken" in done.stdout
