"""Parity report of a binary-code encoder (a BEBR binarizer package) against PyTorch on the same
embeddings: the share of equal bits, of identical codes and the largest norm difference. A folded batch
norm moves values by rounding only, so a bit flips only where a value lies within rounding of zero."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from runtimes.ops.bebr_spec import popcount
from runtimes.runner import Runner

from .parity import ParityError


@dataclass(frozen=True)
class CodeParityThresholds:
    bit_agreement: float = 0.9999


def compare_codes(reference: Runner, candidate: Runner, cases: Sequence[tuple[str, Mapping[str, np.ndarray]]],
                  thresholds: CodeParityThresholds = CodeParityThresholds()) -> dict:
    """Run both runners on every (name, feed); the report says whether the candidate passes."""
    frames = []
    with reference, candidate:
        for name, feed in cases:
            expected, actual = reference.infer(feed), candidate.infer(feed)
            frames.append(_case_report(name, expected, actual))
    worst = {"bit_agreement": min(f["bit_agreement"] for f in frames),
             "identical_codes": min(f["identical_codes"] for f in frames),
             "max_norm_diff": max(f["max_norm_diff"] for f in frames)}
    return {"reference": reference.name, "candidate": candidate.name, "thresholds": asdict(thresholds),
            "passed": worst["bit_agreement"] >= thresholds.bit_agreement, "worst": worst, "cases": frames}


def _case_report(name: str, expected: dict, actual: dict) -> dict:
    codes_expected = expected["codes"].astype(np.int32).view(np.uint32)
    codes_actual = actual["codes"].astype(np.int32).view(np.uint32)
    differing = popcount(codes_expected ^ codes_actual)
    return {"name": name, "vectors": int(len(codes_expected)),
            "bit_agreement": float(1 - differing.sum() / (codes_expected.size * 32)),
            "identical_codes": float((differing.sum(axis=1) == 0).mean()),
            "max_norm_diff": float(np.abs(expected["norms"] - actual["norms"]).max())}


def check_codes_parity(report: dict) -> None:
    if not report["passed"]:
        raise ParityError(f"{report['candidate']} differs from {report['reference']}: bit agreement "
                          f"{report['worst']['bit_agreement']:.6f} (needs {report['thresholds']['bit_agreement']})")
