"""Small networks of a user's own, as the source files `rapid-edge export --model FILE.py:build` reads, and
their export with seeded random weights."""
from __future__ import annotations

import json
from pathlib import Path

POINT_NETWORK = '''
import torch
from torch import nn


class PerPoint(nn.Module):
    """Each point's own x, y, z, intensity beside its pixel's: a per-point head without RAPiD."""

    def __init__(self, classes: int = 19, hidden: int = 16) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(8, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, image, pixel, points):
        at_pixel = image.flatten(2)[0].index_select(1, pixel).transpose(0, 1)
        return self.mlp(torch.cat([points, at_pixel], dim=1))


def build(hidden: int = 16, classes: int = 19):
    return PerPoint(classes, hidden)
'''


def save_random_weights(module, path: Path) -> Path:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


def export_point_network(folder: Path, arguments: dict, contract: dict, seed: int = 11, **options):
    """POINT_NETWORK built with `arguments`, seeded random weights, exported in the split form to folder/package."""
    import torch

    from sdk.segmentation.user_model import export_user_model, load_factory

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "net.py").write_text(POINT_NETWORK)
    (folder / "net.json").write_text(json.dumps({"arguments": arguments, "contract": contract}))
    torch.manual_seed(seed)
    weights = save_random_weights(load_factory(f"{folder / 'net.py'}:build")(**arguments), folder / "net.safetensors")
    return export_user_model(f"{folder / 'net.py'}:build", weights, folder / "net.json", "split", folder / "package",
                             **options)
