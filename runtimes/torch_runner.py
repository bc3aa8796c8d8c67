"""PyTorch eager backend: the reference every other backend is compared with. It takes a ready module
(the SDK builds it from a checkpoint), since runtimes/ knows no model definitions."""
from __future__ import annotations

import contextlib
from collections.abc import Mapping

import numpy as np

from .manifest import TensorSpec
from .runner import Runner


class TorchRunner(Runner):
    name = "pytorch"

    def __init__(self, module, inputs: list[TensorSpec], outputs: list[TensorSpec], threads: int | None = None,
                 device: str = "cpu", half: bool = False) -> None:
        """`device` is a torch device ("cuda:0"); the module is moved there on enter. `half` runs under fp16
        autocast (GPU only), outputs back in fp32."""
        super().__init__()
        if half and device == "cpu":
            raise ValueError("half precision (fp16 autocast) needs a CUDA device")
        self.module, self._inputs, self._outputs, self.threads = module, inputs, outputs, threads
        self.device, self.half = device, half
        if device != "cpu":
            self.name = f"pytorch[{device}{', fp16' if half else ''}]"

    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def activate(self) -> None:
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        self.module.to(self.device).eval()

    def deactivate(self) -> None:
        pass

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        precision = torch.autocast("cuda", dtype=torch.float16) if self.half else contextlib.nullcontext()
        with torch.no_grad(), precision:
            result = self.module(*(torch.from_numpy(np.asarray(feed[s.name])).to(self.device) for s in self._inputs))
        results = result if isinstance(result, (tuple, list)) else (result,)
        # contiguous, as every other runner's outputs are (a transpose at a graph's end is a view in PyTorch)
        return {spec.name: np.ascontiguousarray((value.float() if value.is_floating_point() else value).cpu().numpy())
                for spec, value in zip(self._outputs, results)}
