"""The paper's ablation on held-out simulated scenes: without RAPiD, with RAPiD (raw vectors), + the
autoencoder embedding, + FuAtten. Every variant trains with the same seed, data and step budget through
the SDK's own trainer, then is evaluated on the held-out seeds. Writes
benchmarks/results/rapid_seg_ablation.json (per-class IoU and mIoU per variant).

    python benchmarks/rapid_seg_ablation.py --steps 800 [--runs runs/ablation]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.models.rapid_seg_config import RapidSegConfig
from sdk.segmentation.training.config import TrainConfig
from sdk.segmentation.training.data import SimFrames
from sdk.segmentation.training.evaluate import evaluate, simulated_scenes
from sdk.segmentation.training.trainer import Trainer
from sdk.segmentation.training.trainer import has_checkpoint

REPO = Path(__file__).resolve().parent.parent
VARIANTS = {
    "without RAPiD": dict(use_rapid=False, use_autoencoder=False, use_fuatten=False),
    "with RAPiD": dict(use_rapid=True, use_autoencoder=False, use_fuatten=False),
    "+ AE embedding": dict(use_rapid=True, use_autoencoder=True, use_fuatten=False),
    "+ FuAtten": dict(use_rapid=True, use_autoencoder=True, use_fuatten=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=Path, default=REPO / "runs" / "ablation")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "rapid_seg_ablation.json")
    args = parser.parse_args()
    torch.set_num_threads(2)
    results = {}
    for name, switches in VARIANTS.items():
        run_dir = args.runs / name.replace(" ", "_").replace("+", "plus")
        config = TrainConfig(steps=args.steps, seed=args.seed, checkpoint_every=200)
        frames = SimFrames(0, 5000)
        if has_checkpoint(run_dir):
            trainer = Trainer.resume(run_dir, frames, config)
        else:
            torch.manual_seed(args.seed)
            trainer = Trainer(RapidSeg(RapidSegConfig(**switches)), frames, config, run_dir)
        started = time.perf_counter()
        trainer.train()
        confusion = evaluate(trainer.model, simulated_scenes(), vote=None)  # the network alone, as the paper scores it
        results[name] = {"switches": switches, "steps": args.steps, "train_seconds": round(time.perf_counter() - started),
                         "parameters": sum(p.numel() for p in trainer.model.parameters()),
                         "miou": confusion.miou(), "iou": confusion.iou()}
        print(f"{name:>16}: mIoU {100 * confusion.miou():.1f}")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"data": "held-out simulated seeds 5000..5009, frames 0/60/120",
                                        "training": f"{args.steps} steps, seed {args.seed}, sim seeds 0..4999",
                                        "variants": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
