"""Train the example network on the SDK's data, then export it like rapid_seg: the samples are the ones
the package is fed at deployment (`ModelContract.make_sample`, bit for bit), the network is trained in
the package's own interface (`sdk.segmentation.user_model.wrap`: per-point logits), so what is trained is what runs.

    python examples/own_model/train_squeezeseg.py --source "sim://hdl64e?seed=0&frames=400" --out runs/squeezeseg
    rapid-edge export --model examples/own_model/squeezeseg.py:build --checkpoint runs/squeezeseg/model.safetensors \\
        --config examples/own_model/squeezeseg.json --out squeezeseg_pkg/

A sketch of a training loop, not the SDK's trainer (that one trains rapid_seg): augmentation, one frame a
step, class-balanced cross-entropy; any labelled source works (`sim://`, a SemanticKITTI sequence)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

import sensors
from sdk.segmentation.training.data import Augmentation
from sdk.segmentation.user_model import ModelConfig, load_factory, wrap

HERE = Path(__file__).resolve().parent
FACTORY = f"{HERE / 'squeezeseg.py'}:build"
CONFIG = HERE / "squeezeseg.json"


def train(source: str, out: Path, steps: int, learning_rate: float = 2e-3, seed: int = 0) -> list[float]:
    """Trains for `steps` labelled frames of `source`; writes model.safetensors and a record; returns the losses."""
    settings = ModelConfig.read(CONFIG)
    network = load_factory(FACTORY)(**settings.arguments)
    model = wrap(network, settings.contract).train()  # the package interface: (image, pixel, rapid) -> point logits
    classes = model.interface.classes
    optimiser = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    rng, losses = np.random.default_rng(seed), []
    torch.manual_seed(seed)
    for frame in sensors.open(source):
        if len(losses) == steps:
            break
        if frame.labels is None:
            raise ValueError(f"{source}: frame {frame.index} has no labels to train on")
        sample = settings.contract.make_sample(frame, rng, Augmentation())
        labelled = torch.from_numpy(sample.labels > 0)
        target = torch.from_numpy(sample.labels.astype(np.int64))[labelled] - 1
        logits = model(torch.from_numpy(sample.image[None]), torch.from_numpy(sample.pixel),
                       torch.from_numpy(sample.rapid[None]))[labelled]
        counts = torch.bincount(target, minlength=classes).float()
        weights = torch.where(counts > 0, counts.sum() / (classes * counts.clamp(min=1)), 0.0).sqrt()
        loss = torch.nn.functional.cross_entropy(logits, target, weight=weights)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in network.state_dict().items()}, str(out / "model.safetensors"))
    (out / "training.json").write_text(json.dumps({"source": source, "steps": len(losses), "learning_rate": learning_rate,
                                                   "seed": seed, "losses": losses}, indent=2) + "\n")
    return losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="sim://hdl64e?seed=0&frames=400", help="labelled frames")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    args = parser.parse_args()
    losses = train(args.source, args.out, args.steps, args.learning_rate)
    print(f"wrote {args.out / 'model.safetensors'}: {len(losses)} steps, loss {losses[0]:.3f} -> {np.mean(losses[-10:]):.3f}")


if __name__ == "__main__":
    main()
