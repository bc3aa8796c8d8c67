"""Per-class logit offsets fitted for mIoU on labelled frames, then folded into the head's last bias.

Why: training (class-balanced cross-entropy + Lovasz) leaves each class's decision threshold where the
losses put it, not where the mIoU of the deployed argmax is highest; between look-alike classes
(motorcyclist / bicyclist, other-vehicle / truck, parking / road) the threshold decides which one wins.
An offset per class is the one post-hoc change that leaves the exported graph as it is (it is the last
Linear layer's bias), so every export form and runtime gets it without a change of its own.

The fit is coordinate ascent over a grid of offsets. For one class, every point is either that class or
the best of the others, and it switches at one offset: one histogram of (switching offset, truth, other)
gives the confusion matrix, and so the mIoU, for every grid value at once.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from sensors import Frame
from runtimes.metrics import evaluator_miou, iou_from_counts

from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.training.data import make_sample
from sdk.segmentation.training.evaluate import point_logits
from sdk.segmentation.training.protocol import require_labels

#: offsets tried for each class: -4 .. 4 in steps of 0.05 (0 exactly on the grid, so "no change" is a choice)
OFFSET_GRID = np.arange(-80, 81) * 0.05


@dataclass
class LabelledLogits:
    """The network's logits for labelled points (ignore-labelled points left out)."""
    logits: np.ndarray  # [N, classes] float32
    classes: np.ndarray  # [N] int64, class index 0..classes-1 (SemanticKITTI training id - 1)


@dataclass
class OffsetFit:
    offsets: np.ndarray  # [classes] float32, added to the logits
    miou_before: float
    miou_after: float
    rounds: int


def collect_logits(model: RapidSeg, frames: Iterable[Frame]) -> LabelledLogits:
    model.eval()
    logits, classes = [], []
    for frame in frames:
        require_labels(frame, "calibration", model.interface.label_set)
        sample = make_sample(frame, model.config.rapid)
        labelled = sample.labels > 0
        logits.append(point_logits(model, sample).numpy()[labelled])
        classes.append(sample.labels[labelled].astype(np.int64) - 1)
    if not logits:
        raise ValueError("calibration needs at least one labelled frame")
    return LabelledLogits(np.concatenate(logits).astype(np.float32), np.concatenate(classes))


def miou_of(confusion: np.ndarray) -> np.ndarray:
    """The evaluator's mIoU of confusion matrices [..., truth, prediction] over the scored classes."""
    true_positive = np.diagonal(confusion, axis1=-2, axis2=-1).astype(np.float64)
    union = confusion.sum(axis=-1) + confusion.sum(axis=-2) - true_positive
    return evaluator_miou(iou_from_counts(true_positive, union))


#: points handled at once: the sweep's temporaries stay ~100 MB whatever the size of the calibration set
CHUNK = 1 << 20


def chunks(data: LabelledLogits) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    for start in range(0, len(data.classes), CHUNK):
        yield data.logits[start:start + CHUNK], data.classes[start:start + CHUNK]


def confusion_of(data: LabelledLogits, offsets: np.ndarray) -> np.ndarray:
    count = data.logits.shape[1]
    confusion = np.zeros(count * count, np.int64)
    for logits, classes in chunks(data):
        confusion += np.bincount(classes * count + (logits + offsets).argmax(axis=1), minlength=count * count)
    return confusion.reshape(count, count)


def best_offset(data: LabelledLogits, offsets: np.ndarray, target: int, grid: np.ndarray) -> tuple[float, float]:
    """(offset of class `target` on the grid, mIoU with it), the other classes' offsets held."""
    count = data.logits.shape[1]
    confusion = np.zeros(count * count, np.int64)  # every point predicted as its best other class
    moved = np.zeros((len(grid) + 1) * count * count, np.int64)  # [first grid offset that makes it `target`, truth, from]
    for logits, classes in chunks(data):
        shifted = logits + offsets
        shifted[:, target] = -np.inf
        other = shifted.argmax(axis=1)
        margin = logits[:, target] - shifted[np.arange(len(other)), other]
        # a point becomes `target` at the first grid offset above -margin (len(grid): never)
        switch = np.searchsorted(grid, -margin, side="right")
        confusion += np.bincount(classes * count + other, minlength=count * count)
        moved += np.bincount((switch * count + classes) * count + other, minlength=len(moved))
    moved = moved.reshape(len(grid) + 1, count, count)[:-1].cumsum(axis=0)  # predicted `target` at each offset
    confusions = confusion.reshape(count, count)[None] - moved
    confusions[:, :, target] += moved.sum(axis=2)
    scores = miou_of(confusions)
    best = int(np.argmax(scores))
    return float(grid[best]), float(scores[best])


def fit_class_offsets(data: LabelledLogits, grid: np.ndarray = OFFSET_GRID, max_rounds: int = 5,
                      tolerance: float = 1e-5) -> OffsetFit:
    """Coordinate ascent: each class in turn takes its best grid offset; stops when a round gains < tolerance."""
    offsets = np.zeros(data.logits.shape[1], dtype=np.float32)
    before = current = float(miou_of(confusion_of(data, offsets)))
    rounds = 0
    while rounds < max_rounds:
        rounds += 1
        start = current
        for target in range(len(offsets)):
            offset, score = best_offset(data, offsets, target, grid)
            if score > current + tolerance:
                offsets[target], current = offset, score
        if current - start < tolerance:
            break
    return OffsetFit(offsets, before, current, rounds)


@torch.no_grad()
def add_logit_offsets(model: RapidSeg, offsets: np.ndarray) -> None:
    """Fold the offsets into the head's last bias: the model (and any export of it) then predicts with them."""
    bias = model.head.mlp[-1].bias
    bias += torch.as_tensor(offsets, dtype=bias.dtype)
