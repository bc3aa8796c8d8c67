"""Packages of the shipped weights in the forms the SDK does not ship (and of other checkpoints), exported
once per machine on first use (as Ultralytics exports on demand) and kept under $RAPID_EDGE_CACHE (default
~/.cache/rapid-edge), keyed by the package's build record: an SDK update that changes the graph (same
weights) exports afresh instead of serving the old one. Exporting needs the `[export]` extra."""
from __future__ import annotations

import importlib.util
import logging
import shutil
import tempfile
from pathlib import Path

from runtimes.cache import cache_root
from runtimes.package import Package, PackageError, load_package

from sdk.shipped import default_checkpoint
from sdk.segmentation.build_record import BuildRecord

log = logging.getLogger("sdk")


def default_package(name: str, form: str, checkpoint: Path | None = None) -> Package:
    """The package of `checkpoint` (default: the shipped weights of `name`) in `form`, exported if absent."""
    checkpoint = Path(checkpoint) if checkpoint else default_checkpoint(name)
    folder = cache_root() / "packages" / f"{name}-{form}-{BuildRecord.of(checkpoint).key()}"
    try:
        return load_package(folder)
    except PackageError:
        pass
    if importlib.util.find_spec("torch") is None:
        raise PackageError(f"{name} in the {form} form is not shipped and exporting it needs PyTorch: install "
                           f"rapid-edge-sdk[export], or pass package= a folder made by `rapid-edge export`")
    from sdk.segmentation.exporting import export_rapid_seg

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
