"""Checkpoints as safetensors plus JSON, for every model the SDK trains: weights and optimizer state load
without unpickling anything, so a checkpoint from anywhere is safe to open. The file names import without
PyTorch (a core install reads them); the functions need it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

WEIGHTS = "model.safetensors"
CONFIG = "config.json"
OPTIMIZER = "optimizer.safetensors"
STATE = "trainer.json"


def save_weights(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path))


def save_training_state(folder: Path, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Optimizer tensors as safetensors, everything else (step, scalars, schedule) as JSON."""
    import torch
    from safetensors.torch import save_file

    tensors, scalars = {}, {}
    for index, values in optimizer.state_dict()["state"].items():
        for key, value in values.items():
            if torch.is_tensor(value):
                tensors[f"{index}.{key}"] = value.contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    save_file(tensors, str(folder / OPTIMIZER))
    groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.state_dict()["param_groups"]]
    (folder / STATE).write_text(json.dumps({**state, "optimizer_scalars": scalars, "param_groups": groups}, indent=2) + "\n")


def load_training_state(folder: Path, optimizer: torch.optim.Optimizer) -> dict:
    from safetensors.torch import load_file

    saved = json.loads((folder / STATE).read_text())
    tensors = load_file(str(folder / OPTIMIZER))
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    for name, value in saved.pop("optimizer_scalars").items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    current = optimizer.state_dict()
    groups = [{**g, "params": c["params"]} for g, c in zip(saved.pop("param_groups"), current["param_groups"])]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return saved
