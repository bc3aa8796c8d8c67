"""Parity report: the package against PyTorch on the same frames. The per-frame error statistics of the
logits come from Polygraphy's comparator (NVIDIA's tool for comparing runners over the same feeds); label
agreement, cosine similarity and the mIoU change are the SDK's additions. The export fails below
thresholds."""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from runtimes.errors import SdkError
from runtimes.metrics import ConfusionMatrix
from runtimes.runner import Runner
from sensors.labels import LabelSet


@dataclass(frozen=True)
class ParityThresholds:
    label_agreement: float = 0.999
    cosine: float = 0.9999
    #: the most mIoU (a fraction) a labelled frame may lose against PyTorch; None: not a gate (fp32 forms)
    miou_drop: float | None = None


#: a reduced-precision package's gate: it may move labels a little, never the score
REDUCED_PRECISION = ParityThresholds(label_agreement=0.99, cosine=0.99, miou_drop=0.005)


@dataclass
class ParityCase:
    """One frame's feed, with its ground truth where it has one."""

    name: str
    feed: dict[str, np.ndarray]
    labels: np.ndarray | None  # training ids of the points, 0 = ignore
    label_set: LabelSet | None = None  # whose ids `labels` are (with them)


class ParityError(SdkError):
    """The package's outputs differ from PyTorch's beyond the thresholds."""


def compare(reference: Runner, candidate: Runner, cases: Sequence[ParityCase], output: str = "logits",
            thresholds: ParityThresholds = ParityThresholds()) -> dict:
    """Run both runners on every case; returns the report (raises nothing: see `check`)."""
    expected, actual = [], []
    with reference, candidate:
        for case in cases:
            expected.append(reference.infer(case.feed)[output])
            actual.append(candidate.infer(case.feed)[output])
    errors = error_statistics(expected, actual, output)
    frames = [{**_frame_report(case, e, a), **error} for case, e, a, error in zip(cases, expected, actual, errors)]
    worst = {"label_agreement": min(f["label_agreement"] for f in frames),
             "cosine": min(f["cosine"] for f in frames),
             "max_abs_diff": max(f["max_abs_diff"] for f in frames),
             "mean_abs_diff": float(np.mean([f["mean_abs_diff"] for f in frames]))}
    changes = [f["miou_change"] for f in frames if "miou_change" in f]
    if changes:
        worst["miou_change"] = min(changes)
    passed = worst["label_agreement"] >= thresholds.label_agreement and worst["cosine"] >= thresholds.cosine
    if thresholds.miou_drop is not None and changes:
        passed = passed and worst["miou_change"] >= -thresholds.miou_drop
    return {"reference": reference.name, "candidate": candidate.name, "thresholds": asdict(thresholds),
            "passed": passed, "worst": worst, "frames": frames}


def error_statistics(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray], output: str) -> list[dict]:
    """Per frame, Polygraphy's absolute and relative error statistics of `actual` against `expected`."""
    from polygraphy.comparator import Comparator, RunResults, SimpleCompareFunc
    from polygraphy.comparator.struct import IterationResult
    from polygraphy.logger import G_LOGGER

    G_LOGGER.module_severity = G_LOGGER.ERROR  # the comparator logs every output it compares
    results = RunResults()
    for name, arrays in (("reference", expected), ("candidate", actual)):
        results.append((name, [IterationResult({output: array}, runner_name=name) for array in arrays]))
    # tolerances are the SDK's (label agreement, cosine): Polygraphy's own verdict is not used
    (accuracy,) = Comparator.compare_accuracy(results, compare_func=SimpleCompareFunc(atol=np.inf, rtol=np.inf))
    return [{"max_abs_diff": float(result[output].max_absdiff), "mean_abs_diff": float(result[output].mean_absdiff),
             "median_abs_diff": float(result[output].median_absdiff), "max_rel_diff": float(result[output].max_reldiff)}
            for result in accuracy[("reference", "candidate")]]


def _frame_report(case: ParityCase, expected: np.ndarray, actual: np.ndarray) -> dict:
    a, b = expected.reshape(-1).astype(np.float64), actual.reshape(-1).astype(np.float64)
    cosine = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-30))
    labels_expected, labels_actual = expected.argmax(axis=1) + 1, actual.argmax(axis=1) + 1
    report = {"name": case.name, "points": int(len(expected)),
              "label_agreement": float((labels_expected == labels_actual).mean()), "cosine": cosine}
    if case.labels is not None:
        miou = []
        for predicted in (labels_expected, labels_actual):
            confusion = ConfusionMatrix(case.label_set)
            confusion.add(case.labels, predicted)
            miou.append(confusion.miou())
        report.update(miou_reference=miou[0], miou_candidate=miou[1], miou_change=miou[1] - miou[0])
    return report


def check(report: dict) -> None:
    if not report["passed"]:
        worst, limits = report["worst"], report["thresholds"]
        miou = (f", mIoU change {100 * worst['miou_change']:+.2f} points (may lose {100 * limits['miou_drop']:.1f})"
                if limits.get("miou_drop") is not None and "miou_change" in worst else "")
        raise ParityError(f"{report['candidate']} differs from {report['reference']}: label agreement "
                          f"{worst['label_agreement']:.5f} (needs {limits['label_agreement']}), cosine "
                          f"{worst['cosine']:.6f} (needs {limits['cosine']}){miou}")


def write(report: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
