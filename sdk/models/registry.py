"""Named models the SDK ships, and where their default weights live inside the package."""
from __future__ import annotations

from pathlib import Path

WEIGHTS_ROOT = Path(__file__).resolve().parent.parent / "weights"
DEFAULT_CHECKPOINTS = {"rapid_seg": WEIGHTS_ROOT / "rapid_seg"}


def default_checkpoint(name: str) -> Path:
    if name not in DEFAULT_CHECKPOINTS:
        raise ValueError(f"no model named {name!r}; the SDK ships {', '.join(DEFAULT_CHECKPOINTS)}")
    folder = DEFAULT_CHECKPOINTS[name]
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{folder}: the default {name} weights are missing from this installation")
    return folder
