"""One interface for every backend, in the manner of Polygraphy's runners: a context manager that
allocates on enter and frees on exit (entered once at a time; a runner dropped while still active warns, as it
holds a session, an engine or device memory), descriptions of its inputs and outputs, and infer(feed)."""
from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from .manifest import TensorSpec

DTYPES = {"float32": np.float32, "int64": np.int64, "int32": np.int32}


class InputError(ValueError):
    """A feed does not fit the model: the message names the input, what came and what was expected."""


class Runner(ABC):
    name: str = "runner"
    #: the arithmetic the network runs in (fp32, fp16, int8), for headers and records
    precision: str = "fp32"

    def __init__(self) -> None:
        self.active = False

    @abstractmethod
    def inputs(self) -> list[TensorSpec]: ...

    @abstractmethod
    def outputs(self) -> list[TensorSpec]: ...

    @abstractmethod
    def activate(self) -> None:
        """Allocate: sessions, engines, device buffers."""

    @abstractmethod
    def deactivate(self) -> None: ...

    @abstractmethod
    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...

    def infer(self, feed: Mapping[str, np.ndarray], check_inputs: bool = True) -> dict[str, np.ndarray]:
        """The outputs for `feed`. `check_inputs=False` (as Polygraphy's) skips the names/dtypes/shapes check,
        for a caller whose feeds are made alike each time and of which one has passed it."""
        if not self.active:
            raise RuntimeError(f"{self.name}: use the runner inside `with` (it allocates on enter)")
        if check_inputs:
            check_feed(self.inputs(), feed)
        return self._infer(feed)

    def __enter__(self) -> Runner:
        if self.active:
            raise RuntimeError(f"{self.name}: already active; a runner is entered once, then left, before again")
        self.activate()
        self.active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.active:  # leaving twice (a close after an error, say) releases nothing twice
            return
        self.deactivate()
        self.active = False

    def __del__(self) -> None:
        if getattr(self, "active", False):
            warnings.warn(f"{self.name} was activated but never deactivated: leave it (`with`, or "
                          "Pipeline.close()) to release what it holds", ResourceWarning, stacklevel=2)


def check_feed(specs: list[TensorSpec], feed: Mapping[str, np.ndarray]) -> None:
    """Names, dtypes and static dimensions of a feed against the model's inputs."""
    expected = {spec.name for spec in specs}
    missing, extra = expected - set(feed), set(feed) - expected
    if missing or extra:
        raise InputError(f"inputs: expected {sorted(expected)}, got {sorted(feed)}")
    for spec in specs:
        value = np.asarray(feed[spec.name])
        if value.dtype != np.dtype(DTYPES[spec.dtype]):
            raise InputError(f"input {spec.name!r}: dtype {value.dtype}, expected {spec.dtype}")
        if value.ndim != len(spec.shape) or any(isinstance(d, int) and d != v for d, v in zip(spec.shape, value.shape)):
            raise InputError(f"input {spec.name!r}: shape {list(value.shape)}, expected {spec.shape}")
