"""Named models the SDK ships, and where their default weights (and ready-made packages) live inside it."""
from __future__ import annotations

from pathlib import Path

from runtimes.package import MANIFEST

from sdk.checkpoint import WEIGHTS

WEIGHTS_ROOT = Path(__file__).resolve().parent / "weights"
DEFAULT_CHECKPOINTS = {"rapid_seg": WEIGHTS_ROOT / "rapid_seg", "bebr": WEIGHTS_ROOT / "bebr" / "package" / "checkpoint"}
#: models whose package ships ready to run (ONNX + manifest + parity report): no export on first use
SHIPPED_PACKAGES = {"bebr": WEIGHTS_ROOT / "bebr" / "package", "rapid_seg": WEIGHTS_ROOT / "rapid_seg" / "package"}


def default_checkpoint(name: str) -> Path:
    return _installed(DEFAULT_CHECKPOINTS, name, WEIGHTS, "weights")


def shipped_package(name: str) -> Path:
    return _installed(SHIPPED_PACKAGES, name, MANIFEST, "package")


def _installed(table: dict[str, Path], name: str, marker: str, what: str) -> Path:
    """The folder `table` names for `name`, which must hold `marker`."""
    if name not in table:
        raise ValueError(f"no default {what} of {name!r}; the SDK ships them for {', '.join(table)}")
    folder = table[name]
    if not (folder / marker).is_file():
        raise FileNotFoundError(f"{folder / marker}: missing; the default {name} {what} did not install with the SDK")
    return folder
