"""Confusion matrix, per-class IoU and mIoU as SemanticKITTI's reference evaluator (semantic-kitti-api)
computes them: points labelled ignore are left out, a point predicted ignore is a miss of its class, and
the mean runs over every class, a class absent from both truth and prediction counting 0. The mean over
present classes only is reported beside it, always under its own name (docs/model_card.md's protocol)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensors.labels import LabelSet


def iou_from_counts(true_positive: np.ndarray, union: np.ndarray) -> np.ndarray:
    """IoU per class (last axis), NaN where the class appears in neither truth nor prediction."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, true_positive / np.where(union > 0, union, 1), np.nan)


def evaluator_miou(iou: np.ndarray) -> np.ndarray:
    """The reference evaluator's mean: every class counts, an absent one as 0."""
    return np.where(np.isnan(iou), 0.0, iou).mean(axis=-1)


def present_miou(iou: np.ndarray) -> np.ndarray:
    """The mean over classes present in truth or prediction (reported as `miou_present`, never as mIoU)."""
    present = ~np.isnan(iou)
    return np.where(present, iou, 0.0).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


@dataclass
class ConfusionMatrix:
    label_set: LabelSet  # whose training ids the truth and predictions are
    matrix: np.ndarray = field(default=None)  # [truth, prediction] over training ids, row/col 0 = ignore

    def __post_init__(self) -> None:
        if self.matrix is None:
            size = len(self.label_set.class_names)
            self.matrix = np.zeros((size, size), dtype=np.int64)

    def add(self, truth: np.ndarray, prediction: np.ndarray) -> None:
        size = len(self.matrix)
        truth, prediction = np.asarray(truth, dtype=np.int64), np.asarray(prediction, dtype=np.int64)
        if truth.shape != prediction.shape:
            raise ValueError(f"{truth.shape} labels against {prediction.shape} predictions")
        self.matrix += np.bincount(truth * size + prediction, minlength=size * size).reshape(size, size)

    def class_iou(self) -> np.ndarray:
        """Per class (ignore excluded): TP / (TP + FP + FN), NaN where the class appears nowhere."""
        scored = self.matrix[1:, 1:]  # points labelled ignore do not count; predicted ignore is a miss
        true_positive = np.diag(scored).astype(np.float64)
        false_positive = scored.sum(axis=0) - true_positive
        false_negative = self.matrix[1:, :].sum(axis=1) - true_positive
        return iou_from_counts(true_positive, true_positive + false_positive + false_negative)

    def iou(self) -> dict[str, float | None]:
        """Per class by name, None where the class appears nowhere (JSON has no NaN)."""
        return {name: (None if np.isnan(value) else float(value))
                for name, value in zip(self.label_set.class_names[1:], self.class_iou())}

    def miou(self) -> float:
        return float(evaluator_miou(self.class_iou()))

    def miou_present(self) -> float:
        return float(present_miou(self.class_iou()))

    def accuracy(self) -> float:
        scored = self.matrix[1:, :]
        return float(np.trace(self.matrix[1:, 1:]) / max(scored.sum(), 1))

    def report(self) -> dict:
        return {"miou": self.miou(), "miou_present": self.miou_present(), "accuracy": self.accuracy(),
                "iou": self.iou(),
                "points": int(self.matrix[1:].sum()), "confusion": self.matrix.tolist(),
                "classes": list(self.label_set.class_names)}

    def table(self) -> str:
        lines = [f"{'class':<16}{'IoU':>8}"]
        for name, value in self.iou().items():
            lines.append(f"{name:<16}{'-' if value is None else f'{100 * value:.1f}':>8}")
        lines.append(f"{'mIoU':<16}{100 * self.miou():>8.1f}")
        lines.append(f"{'mIoU (present)':<16}{100 * self.miou_present():>8.1f}")
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.report(), indent=2) + "\n")
