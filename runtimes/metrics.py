"""Confusion matrix, per-class IoU and mIoU (SemanticKITTI's protocol: ignore excluded; classes absent
from both ground truth and prediction do not count towards the mean)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sensors.labels import SEMANTIC_KITTI, LabelSet


@dataclass
class ConfusionMatrix:
    label_set: LabelSet = SEMANTIC_KITTI
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

    def iou(self) -> dict[str, float | None]:
        """Per class (ignore excluded): TP / (TP + FP + FN), None where the class appears nowhere."""
        scored = self.matrix[1:, 1:]  # points labelled ignore, or predicted ignore, do not count
        true_positive = np.diag(scored).astype(np.float64)
        false_positive = scored.sum(axis=0) - true_positive
        false_negative = self.matrix[1:, :].sum(axis=1) - true_positive
        union = true_positive + false_positive + false_negative
        return {name: (float(tp / u) if u else None)
                for name, tp, u in zip(self.label_set.class_names[1:], true_positive, union)}

    def miou(self) -> float:
        values = [v for v in self.iou().values() if v is not None]
        return float(np.mean(values)) if values else float("nan")

    def accuracy(self) -> float:
        scored = self.matrix[1:, :]
        return float(np.trace(self.matrix[1:, 1:]) / max(scored.sum(), 1))

    def report(self) -> dict:
        return {"miou": self.miou(), "accuracy": self.accuracy(), "iou": self.iou(),
                "points": int(self.matrix[1:].sum()), "confusion": self.matrix.tolist(),
                "classes": list(self.label_set.class_names)}

    def table(self) -> str:
        lines = [f"{'class':<16}{'IoU':>8}"]
        for name, value in self.iou().items():
            lines.append(f"{name:<16}{'-' if value is None else f'{100 * value:.1f}':>8}")
        lines.append(f"{'mIoU':<16}{100 * self.miou():>8.1f}")
        return "\n".join(lines)

    def write(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.report(), indent=2) + "\n")
