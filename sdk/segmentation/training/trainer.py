"""The training loop: stage 1 pre-trains the autoencoder on RAPiD features (label-free), stage 2 trains
segmentation with cross-entropy + Lovasz-softmax + the autoencoder's losses (the autoencoder is trained
on, not frozen: the class-aware embedding loss needs its codes to move).

Checkpoints (safetensors + JSON) go to the run folder every `checkpoint_every` steps; `resume=True`
continues from the last one with the same data stream, since every sample is drawn from (seed, step).
With `ema` the run also keeps an exponential moving average of the weights (torch's AveragedModel, buffers
included), and the checkpoint's model is that average (two frames a step make single weights noisy; after
a one-cycle schedule, which anneals the rate to almost nothing, the last weights scored as high or higher)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.models.rapid_seg_config import RapidSegConfig
from sdk.segmentation.training import losses
from sdk.segmentation.training.batches import BatchMaker
from sdk.checkpoint import STATE, load_training_state, save_training_state, save_weights
from sdk.segmentation.training.checkpoint import TRAINING_WEIGHTS, load_model, save_model
from sdk.segmentation.training.config import TrainConfig
from sdk.segmentation.training.data import Batch


def to_torch(batch: Batch, device: torch.device | str = "cpu") -> dict[str, torch.Tensor]:
    return {"image": torch.from_numpy(batch.image).to(device), "rapid": torch.from_numpy(batch.rapid).to(device),
            "pixel": torch.from_numpy(batch.pixel).to(device), "points": torch.from_numpy(batch.points).to(device)}


def step_losses(model: RapidSeg, batch: Batch, config: TrainConfig, rng: np.random.Generator,
                class_weights: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    device = next(model.parameters()).device
    inputs = to_torch(batch, device)
    out = model.run(inputs["image"], inputs["pixel"], inputs["points"], inputs["rapid"],
                    reconstruct=model.autoencoder is not None)
    terms: dict[str, torch.Tensor] = {}
    if out.reconstruction is not None:
        terms["reconstruction"] = config.reconstruction_weight * losses.reconstruction(out.reconstruction, out.rapid, out.valid)
    if config.stage == "segmentation":
        labels = torch.from_numpy(batch.labels.astype(np.int64)).to(device)
        terms["cross_entropy"] = losses.cross_entropy(out.logits, labels, class_weights)
        subset = torch.from_numpy(rng.permutation(len(labels))[: config.lovasz_points]).to(device)
        terms["lovasz"] = losses.lovasz_softmax(out.logits[subset], labels[subset])
        if out.codes is not None:
            terms["embedding"] = config.embedding_weight * class_aware_term(model, out.codes, inputs["pixel"], labels, config, rng)
    return terms


def class_aware_term(model, codes, pixel, labels, config: TrainConfig, rng) -> torch.Tensor:
    """The class-aware loss on the codes of up to `anchors` labelled points' cells."""
    labelled = torch.nonzero(labels != losses.IGNORE).squeeze(1)
    if len(labelled) == 0:
        return codes.sum() * 0.0
    anchors = labelled[torch.from_numpy(rng.permutation(len(labelled))[: config.anchors]).to(labelled.device)]
    flat = codes.permute(0, 2, 3, 1).reshape(-1, codes.shape[1])
    return losses.class_aware_embedding(flat[pixel[anchors] // model.config.cell_width], labels[anchors])


class Trainer:
    """`device` runs the model there (cuda on a GPU machine); `workers` make batches ahead in that many
    processes. Neither changes the data a step sees."""

    def __init__(self, model: RapidSeg, frames, config: TrainConfig, run_dir: Path, device: str = "cpu",
                 workers: int = 0) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (batches made in this process) or more, got {workers}")
        self.model, self.frames, self.config, self.run_dir = model.to(device), frames, config, Path(run_dir)
        self.workers = workers
        self.batches = BatchMaker(frames, config, model.config.height, model.config.width, model.config.rapid)
        torch.manual_seed(config.seed)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
        self.schedule = torch.optim.lr_scheduler.OneCycleLR(self.optimizer, max_lr=config.learning_rate,
                                                            total_steps=config.steps, pct_start=0.05)
        self.average = None
        if config.ema:
            from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

            self.average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema), use_buffers=True)
        self.step = 0
        self.history: list[dict] = []
        self.class_weights = None
        if config.stage == "segmentation" and config.balance_frames:
            self.class_weights = class_weights(frames, model.config.classes, config.balance_frames,
                                               config.seed).to(device)

    @classmethod
    def resume(cls, run_dir: Path, frames, config: TrainConfig, device: str = "cpu", workers: int = 0) -> Trainer:
        # the saved model is the average when there is one: the average restarts from it, training from its own weights
        trainer = cls(load_model(run_dir).train(), frames, config, run_dir, device, workers)
        saved = load_training_state(run_dir, trainer.optimizer)
        if saved["schedule"]["total_steps"] != config.steps:
            raise ValueError(f"{run_dir} was planned for {saved['schedule']['total_steps']} steps; resume with that many")
        if saved.get("ema", 0.0) != config.ema:
            raise ValueError(f"{run_dir} was trained with ema {saved.get('ema', 0.0)}; resume with the same")
        if trainer.average is not None:
            trainer.model.load_state_dict(load_file(str(Path(run_dir) / TRAINING_WEIGHTS), device=str(device)))
            trainer.average.n_averaged.fill_(saved["ema_updates"])
        trainer.schedule.load_state_dict(saved["schedule"])
        trainer.step, trainer.history = saved["step"], saved["history"]
        return trainer

    def train(self, progress: bool = True) -> list[dict]:
        from tqdm import tqdm

        self.model.train()
        bar = tqdm(total=self.config.steps, initial=self.step, disable=not progress, unit="step", dynamic_ncols=True)
        deadline = time.monotonic() + 60 * self.config.max_minutes if self.config.max_minutes else None
        previous = time.monotonic()
        for batch in self.batches.stream(self.step, self.config.steps, self.workers):
            if deadline is not None and time.monotonic() > deadline:
                self.save()
                break
            record = self.advance(batch)
            now = time.monotonic()  # wall time per step, waiting for the batch included
            record["frames_per_s"], previous = self.config.frames_per_step / (now - previous), now
            bar.set_postfix(loss=f"{record['loss']:.3f}", fps=f"{record['frames_per_s']:.2f}")
            bar.update(1)
            if self.step % self.config.checkpoint_every == 0 or self.step == self.config.steps:
                self.save()
        bar.close()
        return self.history

    def advance(self, batch: Batch | None = None) -> dict:
        """One optimiser step (and average update) on this step's batch, made here unless given; returns the
        step's record, also kept in `history`."""
        batch = batch if batch is not None else self.batches.make(self.step)
        terms = step_losses(self.model, batch, self.config, np.random.default_rng([self.config.seed, self.step, 1]),
                            self.class_weights)
        loss = sum(terms.values())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 5.0)
        self.optimizer.step()
        self.schedule.step()
        if self.average is not None:
            self.average.update_parameters(self.model)
        self.step += 1
        record = {"step": self.step, "loss": loss.item(), **{k: v.item() for k, v in terms.items()}}
        self.history.append(record)
        return record

    def save(self) -> None:
        extra = {"train": _jsonable(asdict(self.config)), "step": self.step, "data": self.frames.describe()}
        state = {"step": self.step, "history": self.history, "schedule": self.schedule.state_dict()}
        if self.average is None:
            save_model(self.model, self.run_dir, extra)
        else:
            save_model(self.average.module, self.run_dir, extra)
            save_weights(self.model, self.run_dir / TRAINING_WEIGHTS)
            state |= {"ema": self.config.ema, "ema_updates": int(self.average.n_averaged)}
        save_training_state(self.run_dir, self.optimizer, state)


def class_weights(frames, classes: int, count: int, seed: int) -> torch.Tensor:
    """(frequency / median frequency) ** -0.5 over `count` frames drawn like training's, clipped to
    [0.2, 10]; a class never seen gets the largest weight. Rare classes (cyclists, bicycles) would
    otherwise hardly move the loss."""
    rng = np.random.default_rng([seed, 2**31 - 1])
    counts = np.zeros(classes, dtype=np.float64)
    for _ in range(count):
        labels = frames.frame(rng).labels
        if labels is not None:
            counts += np.bincount(labels, minlength=classes + 1)[1:]
    frequency = counts / max(counts.sum(), 1.0)
    seen = frequency > 0
    weights = np.full(classes, 10.0)
    if seen.any():
        weights[seen] = np.clip((frequency[seen] / np.median(frequency[seen])) ** -0.5, 0.2, 10.0)
    return torch.tensor(weights, dtype=torch.float32)


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))


def new_model(config: RapidSegConfig = RapidSegConfig(), initial: Path | None = None) -> RapidSeg:
    """A fresh model, or one starting from a checkpoint (stage 2 starts from stage 1's weights)."""
    return (load_model(initial) if initial else RapidSeg(config)).train()


def has_checkpoint(run_dir: Path) -> bool:
    return (Path(run_dir) / STATE).is_file()
