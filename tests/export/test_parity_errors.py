"""The parity report's error statistics come from Polygraphy's comparator: they must be the statistics of
the difference it was given, frame by frame."""
from __future__ import annotations

import numpy as np
import pytest

from export.parity import error_statistics

pytest.importorskip("polygraphy")


def test_statistics_are_those_of_each_frames_difference():
    rng = np.random.default_rng(0)
    expected = [rng.standard_normal((500, 20)).astype(np.float32) for _ in range(3)]
    actual = [expected[0] + np.float32(1e-3), expected[1].copy(), expected[2] * np.float32(1.01)]
    actual[1][7, 3] += 0.5
    errors = error_statistics(expected, actual, "logits")
    assert len(errors) == 3
    for frame, (e, a) in enumerate(zip(expected, actual)):
        difference = np.abs(a.astype(np.float64) - e)
        assert errors[frame]["max_abs_diff"] == pytest.approx(difference.max(), rel=1e-5), frame
        assert errors[frame]["mean_abs_diff"] == pytest.approx(difference.mean(), rel=1e-4), frame
        assert errors[frame]["median_abs_diff"] == pytest.approx(np.median(difference), rel=1e-4, abs=1e-9), frame
    assert errors[1]["median_abs_diff"] == 0.0 and errors[1]["max_abs_diff"] == pytest.approx(0.5)
