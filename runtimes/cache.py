"""Where the SDK keeps what it makes on a machine (exported packages, the plugin library build, corpora):
$RAPID_EDGE_CACHE, default ~/.cache/rapid-edge."""
from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("RAPID_EDGE_CACHE", Path.home() / ".cache" / "rapid-edge"))
