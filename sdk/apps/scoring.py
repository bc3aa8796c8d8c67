"""Scoring the deployed model: what a pipeline (any package, any runtime) labels against frames' ground truth,
by the same metric and protocol as `rapid-edge evaluate` scores a checkpoint in PyTorch, as mmdeploy's test
tool scores the model it deployed."""
from __future__ import annotations

from collections.abc import Iterable

from runtimes.metrics import ConfusionMatrix
from sensors import Frame

from sdk.pipeline import Pipeline
from sdk.segmentation.training.protocol import require_labels


def score(pipeline: Pipeline, frames: Iterable[Frame]) -> ConfusionMatrix:
    """The confusion matrix of the pipeline's labels (its neighbour vote as configured) over `frames`, which
    must carry labels of the package's label set."""
    label_set = pipeline.steps.label_set
    confusion = ConfusionMatrix(label_set)
    for frame in frames:
        require_labels(frame, "scoring", label_set)
        confusion.add(frame.labels, pipeline(frame).labels)
    return confusion
