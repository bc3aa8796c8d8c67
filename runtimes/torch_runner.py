"""PyTorch eager backend: the reference every other backend is compared with. It takes a ready module
(the SDK builds it from a checkpoint), since runtimes/ knows no model definitions."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .package import TensorSpec
from .runner import Runner


class TorchRunner(Runner):
    name = "pytorch"

    def __init__(self, module, inputs: list[TensorSpec], outputs: list[TensorSpec], threads: int | None = None) -> None:
        super().__init__()
        self.module, self._inputs, self._outputs, self.threads = module, inputs, outputs, threads

    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def activate(self) -> None:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        self.module.eval()

    def deactivate(self) -> None:
        pass

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        with torch.no_grad():
            result = self.module(*(torch.from_numpy(np.asarray(feed[s.name])) for s in self._inputs))
        results = result if isinstance(result, (tuple, list)) else (result,)
        return {spec.name: value.numpy() for spec, value in zip(self._outputs, results)}
