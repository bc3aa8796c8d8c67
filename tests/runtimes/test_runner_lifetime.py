"""Runners' lifetime as Polygraphy's: entered once at a time, left once, and a runner dropped while still
holding its session warns instead of leaking it silently."""
from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

from runtimes.manifest import TensorSpec
from runtimes.runner import InputError, Runner


class CountingRunner(Runner):
    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.activations = self.deactivations = 0

    def inputs(self) -> list[TensorSpec]:
        return [TensorSpec("x", "float32", ["points", 4])]

    def outputs(self) -> list[TensorSpec]:
        return [TensorSpec("y", "float32", ["points"])]

    def activate(self) -> None:
        self.activations += 1

    def deactivate(self) -> None:
        self.deactivations += 1

    def _infer(self, feed):
        return {"y": feed["x"].sum(axis=1)}


def test_a_runner_is_entered_once_and_left_once():
    runner = CountingRunner()
    with runner:
        with pytest.raises(RuntimeError, match="counting: already active"):
            runner.__enter__()
        np.testing.assert_array_equal(runner.infer({"x": np.ones((3, 4), np.float32)})["y"], [4, 4, 4])
        with pytest.raises(InputError, match="input 'x': dtype float64"):
            runner.infer({"x": np.ones((3, 4))})
    runner.__exit__(None, None, None)
    assert (runner.activations, runner.deactivations) == (1, 1)
    with pytest.raises(RuntimeError, match="inside `with`"):
        runner.infer({"x": np.ones((3, 4), np.float32)})
    with runner:  # entered again after leaving: allocates again
        pass
    assert (runner.activations, runner.deactivations) == (2, 2)


def test_a_runner_dropped_while_active_warns_and_one_left_does_not():
    runner = CountingRunner().__enter__()
    with pytest.warns(ResourceWarning, match="counting was activated but never deactivated"):
        del runner
        gc.collect()
    left = CountingRunner()
    with left:
        pass
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del left
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
