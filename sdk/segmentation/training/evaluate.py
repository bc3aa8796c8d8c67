"""Prediction and evaluation of RAPiD-Seg on frames: per-point labels, confusion matrix, IoU."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np
import torch

from sensors import Frame

from sdk.segmentation.models.rapid_seg import RapidSeg
from sdk.segmentation.neighbour_vote import DEFAULT_VOTE, NeighbourVote
from sdk.segmentation.training.data import Sample, SimFrames, make_sample
from runtimes.metrics import ConfusionMatrix
from sdk.segmentation.training.protocol import HELD_OUT_FRAMES, HELD_OUT_SEEDS, require_labels



@torch.no_grad()
def point_logits(model: RapidSeg, sample: Sample) -> torch.Tensor:
    """[sample points, classes]: the model's logits for an unbatched sample."""
    return model(torch.from_numpy(sample.image[None]), torch.from_numpy(sample.pixel),
                 torch.from_numpy(sample.points), torch.from_numpy(sample.rapid[None]))


def predict(model: RapidSeg, frame: Frame, vote: NeighbourVote | None = DEFAULT_VOTE) -> np.ndarray:
    """SemanticKITTI training ids per point (0 for points without a pixel: NaN coordinates): the argmax,
    then the neighbour vote the deployed pipeline applies (None: the network's argmax alone)."""
    sample = make_sample(frame, model.config.rapid)
    predicted = point_logits(model, sample).argmax(dim=1).numpy().astype(np.int32) + 1
    if vote is not None:
        predicted = vote.apply(predicted, sample.pixel, sample.points, *sample.image.shape[1:])
    labels = np.zeros(len(frame), dtype=np.int32)
    labels[np.isfinite(frame.points).all(axis=1)] = predicted
    return labels


def evaluate(model: RapidSeg, frames: Iterable[Frame], vote: NeighbourVote | None = DEFAULT_VOTE) -> ConfusionMatrix:
    model.eval()
    label_set = model.interface.label_set
    confusion = ConfusionMatrix(label_set)
    for frame in frames:
        require_labels(frame, "evaluation", label_set)
        confusion.add(frame.labels, predict(model, frame, vote))
    return confusion


def simulated_scenes(seeds: Iterable[int] = HELD_OUT_SEEDS, indices: Iterable[int] = HELD_OUT_FRAMES,
                     sensor: str = "hdl64e") -> Iterator[Frame]:
    """Frames `indices` of the simulated drives `seeds` (by default the held-out evaluation scenes)."""
    sim = SimFrames(sensor=sensor)
    for seed in seeds:
        for index in indices:
            yield sim.render(seed, index)
