"""`rapid-edge train`, `evaluate`, `average` and `calibrate`: flags mirror TrainConfig and RapidSegConfig."""
from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

import sensors
from sensors.labels import SEMANTIC_KITTI

from sdk.segmentation.models.rapid_seg_config import RapidSegConfig
from sdk.segmentation.neighbour_vote import DEFAULT_VOTE
from sdk.cli.sensors import add_source_options, progress, source_options
from sdk.segmentation.training.data import RANDOM_REMISSION, Augmentation, KittiFrames, MixedFrames, SimFrames
from sdk.options import PostprocessOptions
from sdk.pipeline import Pipeline
from sdk.segmentation.training.config import STAGES, TrainConfig
from sdk.tasks import DEFAULT_RUNTIME, DEFAULT_TASK, RUNTIMES
from sdk.segmentation.training.protocol import EVALUATION_SEEDS, HELD_OUT_FRAMES, HELD_OUT_SEEDS

#: every command here trains or runs the PyTorch model; a core install lists them as absent
REQUIRES = ("torch",)


#: the simulated scenes `rapid-edge calibrate` fits on by default: 80 drives never trained on nor evaluated,
#: like the scenes the weights will meet (TRAINING.md: calibrating on these rather than on training-range
#: drives gained 0.9 held out with the neighbour vote)
CALIBRATION_SEEDS = "5100:5180"


def add_parser(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train RAPiD-Seg (stage 1: autoencoder, stage 2: segmentation)")
    train.add_argument("--out", type=Path, required=True, help="run folder: checkpoints, config, history")
    train.add_argument("--stage", choices=STAGES, default=TrainConfig.stage,
                       help="autoencoder: label-free pre-training on RAPiD features; segmentation: the whole model")
    train.add_argument("--steps", type=int, default=TrainConfig.steps, help="planned steps of the whole schedule")
    train.add_argument("--max-minutes", type=float, default=None, help="stop with a checkpoint after this long")
    train.add_argument("--resume", action="store_true", help="continue the run in --out")
    train.add_argument("--init", type=Path, default=None, help="start from this checkpoint (e.g. stage 1's run)")
    train.add_argument("--seed", type=int, default=TrainConfig.seed, help="data and weights are drawn from it (and the step)")
    train.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate, help="peak of the one-cycle schedule")
    train.add_argument("--frames-per-step", type=int, default=TrainConfig.frames_per_step, help="sweeps drawn per step")
    train.add_argument("--crop-width", type=int, default=TrainConfig.crop_width, help="0 trains on full sweeps")
    train.add_argument("--crops-per-frame", type=int, default=TrainConfig.crops_per_frame,
                       help="crops cut from each frame's projection and RAPiD features (they are computed once)")
    train.add_argument("--sim-seeds", default="0:5000", help="FIRST:END seeds of the simulated drives")
    train.add_argument("--sim-weight", type=float, default=1.0, help="0 leaves the simulator out")
    train.add_argument("--kitti", action="append", default=[], metavar="FOLDER[:WEIGHT]",
                       help="a SemanticKITTI-format sequence folder to mix in (repeatable)")
    train.add_argument("--randomise-remission", action="store_true",
                       help="augment remission: a per-frame gain of 0.5-1.6, 30 %% per-point noise, up to 15 %% zero "
                            "readings (to lean on shape more than on the simulator's materials)")
    train.add_argument("--class-crops", type=float, default=TrainConfig.class_crops, metavar="SHARE",
                       help="share of crops centred on a class drawn uniformly among those in the sweep, so rare "
                            "classes are seen as often as common ones (0-1; default 0: random crops)")
    train.add_argument("--ema", type=float, default=TrainConfig.ema, metavar="DECAY",
                       help="keep an exponential moving average of the weights with this decay per step (e.g. "
                            "0.999) and save it as the model (default 0: the last weights)")
    train.add_argument("--device", default="cpu", help="where the model trains: cpu, cuda, cuda:1 ...")
    train.add_argument("--data-workers", type=int, default=0, metavar="N",
                       help="make batches ahead in N processes (for a GPU fed by many cores; the batches, and so "
                            "the run, are the same for any N)")
    for switch in ("rapid", "autoencoder", "fuatten"):
        train.add_argument(f"--no-{switch}", action="store_true", help=f"ablation: leave out {switch}")
    train.set_defaults(run=run_train)

    check = commands.add_parser("evaluate", help="confusion matrix, per-class IoU and mIoU")
    model = check.add_mutually_exclusive_group(required=True)
    model.add_argument("--checkpoint", type=Path, help="a checkpoint folder (model.safetensors, config.json), in PyTorch")
    model.add_argument("--package", type=Path, help="a package (rapid_seg's or your own network's) as deployed, on "
                                                    "--runtime")
    check.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME, help="--package: what runs it")
    add_source_options(check)
    frames = check.add_mutually_exclusive_group()  # seeds of simulated scenes mean nothing beside a --source
    frames.add_argument("--source", action="append", default=[], help="labelled frames (default: held-out simulation)")
    frames.add_argument("--sim-seeds", default=f"{HELD_OUT_SEEDS.start}:{HELD_OUT_SEEDS.stop}",
                        help="FIRST:END seeds of the simulated scenes evaluated without --source (training uses "
                             f"seeds below {HELD_OUT_SEEDS.start})")
    check.add_argument("--out", type=Path, default=None, help="write the report as JSON")
    check.add_argument("--no-vote", action="store_true",
                       help="score the network's argmax alone, without the neighbour vote the pipeline applies")
    check.set_defaults(run=run_evaluate)

    average = commands.add_parser("average", help="average the weights of checkpoints of one model (e.g. the "
                                                  "stages of one training trajectory)")
    average.add_argument("--checkpoint", type=Path, action="append", required=True,
                         help="a checkpoint folder (at least two; repeat the flag)")
    average.add_argument("--out", type=Path, required=True, help="folder for the averaged checkpoint")
    average.set_defaults(run=run_average)

    calibrate = commands.add_parser("calibrate", help="fit a logit offset per class for mIoU on labelled frames "
                                                      "and fold them into a copy of the weights")
    calibrate.add_argument("--checkpoint", type=Path, required=True, help="the checkpoint folder to calibrate")
    calibrate.add_argument("--out", type=Path, required=True, help="folder for the calibrated checkpoint")
    frames = calibrate.add_mutually_exclusive_group()
    frames.add_argument("--source", action="append", default=[],
                        help="labelled frames to fit on, e.g. a validation sequence (default: simulated scenes)")
    frames.add_argument("--sim-seeds", default=CALIBRATION_SEEDS,
                        help=f"FIRST:END seeds of the simulated scenes fitted on (never the evaluation seeds "
                             f"{EVALUATION_SEEDS.start}..{EVALUATION_SEEDS.stop - 1})")
    calibrate.add_argument("--frames", default="20,100,170", help="frame indices of each simulated scene")
    calibrate.set_defaults(run=run_calibrate)


def seed_range(text: str) -> range:
    """--sim-seeds FIRST:END -> range(FIRST, END); a malformed or empty range fails naming the text."""
    first, colon, end = text.partition(":")
    try:
        seeds = range(int(first), int(end))
    except ValueError:
        seeds = range(0)
    if not colon or not seeds:
        raise ValueError(f"--sim-seeds {text!r}: expected FIRST:END with FIRST < END, e.g. 5000:5010")
    return seeds


def fitting_seeds(text: str) -> range:
    """Seeds that training or calibration may fit on: never those of the held-out scenes or the wider check."""
    seeds = seed_range(text)
    if seeds.stop > EVALUATION_SEEDS.start and seeds.start < EVALUATION_SEEDS.stop:
        raise ValueError(f"--sim-seeds {text} overlaps the evaluation seeds {EVALUATION_SEEDS.start}.."
                         f"{EVALUATION_SEEDS.stop - 1} (held-out scenes and the wider check)")
    return seeds


def frames_from_args(args: argparse.Namespace):
    sources = []
    if args.sim_weight > 0:
        seeds = fitting_seeds(args.sim_seeds)
        sources.append((SimFrames(seeds.start, len(seeds)), args.sim_weight))
    for item in args.kitti:
        folder, _, weight = item.partition(":")
        sources.append((KittiFrames([Path(folder)]), float(weight or 1.0)))
    return MixedFrames(sources)


def train_config(args: argparse.Namespace) -> TrainConfig:
    """The flags as a TrainConfig, which checks them before any data is opened."""
    return TrainConfig(stage=args.stage, steps=args.steps, seed=args.seed, learning_rate=args.learning_rate,
                       frames_per_step=args.frames_per_step, crops_per_frame=args.crops_per_frame,
                       crop_width=args.crop_width or None, max_minutes=args.max_minutes,
                       class_crops=args.class_crops, ema=args.ema,
                       augmentation=Augmentation(**(RANDOM_REMISSION if args.randomise_remission else {})))


def run_train(args: argparse.Namespace) -> dict:
    from sdk.segmentation.training.trainer import Trainer, has_checkpoint, new_model

    config = train_config(args)
    frames = frames_from_args(args)
    if args.resume:
        if not has_checkpoint(args.out):
            raise ValueError(f"{args.out}: nothing to resume")
        trainer = Trainer.resume(args.out, frames, config, args.device, args.data_workers)
    else:
        if has_checkpoint(args.out):
            raise ValueError(f"{args.out} already holds a run: --resume it or choose another --out")
        model_config = RapidSegConfig(use_rapid=not args.no_rapid, use_autoencoder=not (args.no_autoencoder or args.no_rapid),
                                      use_fuatten=not args.no_fuatten)
        trainer = Trainer(new_model(model_config, args.init), frames, config, args.out, args.device, args.data_workers)
    print(f"training {config.stage} on {frames.describe()}: steps {trainer.step}..{config.steps}")
    history = trainer.train()
    last = history[-1] if history else {}
    print(f"stopped at step {trainer.step}: " + ", ".join(f"{k}={v:.4f}" for k, v in last.items() if k != "step"))
    return last


def frame_indices(text: str) -> tuple[int, ...]:
    try:
        indices = tuple(int(index) for index in text.split(","))
    except ValueError:
        indices = ()
    if not indices or min(indices) < 0:
        raise ValueError(f"--frames {text!r}: expected comma-separated frame indices >= 0, e.g. 20,100,170")
    return indices


def labelled_frames(sources: list[str], seeds: Callable[[], range], indices: tuple[int, ...],
                    options: dict | None = None) -> tuple[Iterator, str]:
    """The --source files (opened with the -o options), or else simulated scenes (seeds checked only then: they
    mean nothing beside a source)."""
    from sdk.segmentation.training.evaluate import simulated_scenes

    if sources:
        frames = (frame for source in sources for frame in sensors.open(source, **(options or {})))
        return progress(frames, None, "labelled frames"), ", ".join(sources)
    scenes = seeds()
    return (progress(simulated_scenes(scenes, indices), len(scenes) * len(indices), "simulated frames"),
            f"simulated seeds {scenes.start}..{scenes.stop - 1}, frames {indices}")


def run_evaluate(args: argparse.Namespace) -> dict:
    frames, what = labelled_frames(args.source, lambda: seed_range(args.sim_seeds), HELD_OUT_FRAMES,
                                   source_options(args))
    if args.package:
        from sdk.apps.scoring import score

        postprocess = PostprocessOptions(neighbour_vote=not args.no_vote)
        with Pipeline(DEFAULT_TASK, args.runtime, args.package, postprocess=postprocess) as pipeline:
            confusion, vote = score(pipeline, frames), pipeline.steps.vote
            scored = {"package": str(args.package), "runtime": pipeline.runner.name}
    else:
        from sdk.segmentation.training.checkpoint import load_model
        from sdk.segmentation.training.evaluate import evaluate

        vote = None if args.no_vote else DEFAULT_VOTE
        confusion, scored = evaluate(load_model(args.checkpoint), frames, vote), {"checkpoint": str(args.checkpoint)}
    print(f"{next(iter(scored.values()))} on {what}\n{confusion.table()}")
    report = {**scored, "data": what, "neighbour_vote": vote.to_dict() if vote else None, **confusion.report()}
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return report


def refuse_existing_checkpoint(out: Path, inputs: list[Path]) -> None:
    from sdk.checkpoint import WEIGHTS

    if (out / WEIGHTS).exists() or any(out.resolve() == folder.resolve() for folder in inputs):
        raise ValueError(f"{out} already holds a checkpoint: choose another --out")


def run_average(args: argparse.Namespace) -> None:
    from sdk.segmentation.training.checkpoint import average_checkpoints

    refuse_existing_checkpoint(args.out, args.checkpoint)
    average_checkpoints(args.checkpoint, args.out)
    print(f"averaged {len(args.checkpoint)} checkpoints into {args.out}")


def run_calibrate(args: argparse.Namespace) -> dict:
    from sdk.segmentation.training.calibration import add_logit_offsets, collect_logits, fit_class_offsets
    from sdk.segmentation.training.checkpoint import load_model, read_extras, save_model

    refuse_existing_checkpoint(args.out, [args.checkpoint])
    model = load_model(args.checkpoint)
    frames, what = labelled_frames(args.source, lambda: fitting_seeds(args.sim_seeds), frame_indices(args.frames))
    fit = fit_class_offsets(collect_logits(model, frames))
    add_logit_offsets(model, fit.offsets)
    extras = read_extras(args.checkpoint)
    earlier = np.array(list(extras.get("calibration", {}).get("offsets", {}).values()) or 0.0)
    names = SEMANTIC_KITTI.class_names[1:]
    record = {"data": what, "miou_before": fit.miou_before, "miou_after": fit.miou_after, "rounds": fit.rounds,
              "offsets": {name: round(float(value), 4) for name, value in zip(names, earlier + fit.offsets)}}
    save_model(model, args.out, {**extras, "calibration": record})
    print(f"calibrated on {what}: mIoU {100 * fit.miou_before:.2f} -> {100 * fit.miou_after:.2f} "
          f"({fit.rounds} rounds); offsets " + ", ".join(f"{n} {v:+.2f}" for n, v in zip(names, fit.offsets) if v))
    return record
