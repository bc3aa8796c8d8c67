"""A Triton Inference Server as a runtime: the network of a model repository (`rapid-edge export --triton`)
served elsewhere, behind the same runner interface, so the SDK's pre- and postprocessing stream to it
(`Pipeline("rapid_seg", runtime="triton", url="HOST:8000")`). HTTP through tritonclient, imported lazily."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sensors.source import require_module

from .errors import RuntimeUnavailable
from .manifest import TensorSpec
from .ops.nodes import POINTS
from .runner import Runner

TRITON_DTYPES = {"FP32": "float32", "INT64": "int64", "INT32": "int32", "UINT8": "uint8", "INT16": "int16"}
DEFAULT_MODEL = "rapid_seg_network"


class TritonRunner(Runner):
    def __init__(self, url: str, model: str = DEFAULT_MODEL, timeout_s: float = 60.0) -> None:
        super().__init__()
        self.url, self.model, self.timeout_s = url, model, timeout_s
        self.name = f"triton[{url}/{model}]"
        self.client = None
        self._inputs: list[TensorSpec] = []
        self._outputs: list[TensorSpec] = []

    def activate(self) -> None:
        require_module("tritonclient", "the triton runtime", "triton", RuntimeUnavailable)
        import tritonclient.http as http

        client = http.InferenceServerClient(self.url, connection_timeout=self.timeout_s, network_timeout=self.timeout_s)
        try:
            ready = client.is_server_ready() and client.is_model_ready(self.model)
        except Exception as err:  # refused, unreachable, not a Triton server
            raise ConnectionError(f"{self.url}: no Triton server answers ({err})") from None
        if not ready:
            raise ConnectionError(f"{self.url}: model {self.model!r} is not ready on this Triton server")
        metadata = client.get_model_metadata(self.model)
        self._inputs, self._outputs = (
            [TensorSpec(t["name"], TRITON_DTYPES[t["datatype"]], [d if d >= 0 else POINTS for d in t["shape"]])
             for t in metadata[side]] for side in ("inputs", "outputs"))
        self.client = client

    def deactivate(self) -> None:
        if self.client is not None:
            self.client.close()
        self.client = None

    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def _infer(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        import tritonclient.http as http

        requests = []
        for spec in self._inputs:
            value = np.ascontiguousarray(feed[spec.name])
            tensor = http.InferInput(spec.name, list(value.shape), next(k for k, v in TRITON_DTYPES.items() if v == spec.dtype))
            tensor.set_data_from_numpy(value, binary_data=True)
            requests.append(tensor)
        reply = self.client.infer(self.model, requests,
                                  outputs=[http.InferRequestedOutput(s.name, binary_data=True) for s in self._outputs])
        return {spec.name: reply.as_numpy(spec.name) for spec in self._outputs}
