"""Packages of the shipped models, exported once per machine on first use (as Ultralytics exports on
demand) and kept under $RAPID_EDGE_CACHE (default ~/.cache/rapid-edge), keyed by the weights' sha256 and
the source of the code that builds the graph: an SDK update that changes the graph (same weights)
exports afresh instead of serving the old one."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

from runtimes.package import Package, PackageError, load_package, sha256

from .models.registry import default_checkpoint

log = logging.getLogger("sdk")
ROOT = Path(__file__).resolve().parent.parent
#: the modules whose code decides what an exported graph contains
GRAPH_SOURCES = ("sdk/models", "sdk/exporting.py", "export/onnx_graph.py", "export/rapid_op")


def cache_root() -> Path:
    return Path(os.environ.get("RAPID_EDGE_CACHE", Path.home() / ".cache" / "rapid-edge"))


def default_package(name: str, form: str = "split", checkpoint: Path | None = None) -> Package:
    """The package of `checkpoint` (default: the shipped weights of `name`) in `form`, exported if absent."""
    from .exporting import export_rapid_seg

    checkpoint = Path(checkpoint) if checkpoint else default_checkpoint(name)
    key = f"{sha256(checkpoint / 'model.safetensors')[:16]}-{graph_source_digest()[:8]}"
    folder = cache_root() / "packages" / f"{name}-{form}-{key}"
    try:
        return load_package(folder)
    except PackageError:
        pass
    log.warning("exporting %s (%s form) to %s: once per machine", checkpoint, form, folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:  # exported beside the cache entry, then moved in whole: a concurrent or killed export leaves no half package
        export_rapid_seg(checkpoint, form, staging, sim_frames=1)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return load_package(folder)


def graph_source_digest() -> str:
    """sha256 over the source files of GRAPH_SOURCES, in a fixed order."""
    digest = hashlib.sha256()
    for entry in GRAPH_SOURCES:
        path = ROOT / entry
        for source in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(source.relative_to(ROOT)).encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()
