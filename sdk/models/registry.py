"""Named models the SDK ships, and where their default weights (and ready-made packages) live inside it."""
from __future__ import annotations

from pathlib import Path

WEIGHTS_ROOT = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_CHECKPOINTS = {"rapid_seg": WEIGHTS_ROOT / "rapid_seg", "bebr": WEIGHTS_ROOT / "bebr" / "package" / "checkpoint"}
#: models whose package ships ready to run (ONNX + manifest + parity report): no export on first use
SHIPPED_PACKAGES = {"bebr": WEIGHTS_ROOT / "bebr" / "package"}


def default_checkpoint(name: str) -> Path:
    if name not in DEFAULT_CHECKPOINTS:
        raise ValueError(f"no model named {name!r}; the SDK ships {', '.join(DEFAULT_CHECKPOINTS)}")
    folder = DEFAULT_CHECKPOINTS[name]
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{folder}: the default {name} weights are missing from this installation")
    return folder


def shipped_package(name: str) -> Path:
    if name not in SHIPPED_PACKAGES:
        raise ValueError(f"no ready-made package of {name!r}; the SDK ships {', '.join(SHIPPED_PACKAGES)}")
    folder = SHIPPED_PACKAGES[name]
    if not (folder / "manifest.json").is_file():
        raise FileNotFoundError(f"{folder}: the default {name} package is missing from this installation")
    return folder
