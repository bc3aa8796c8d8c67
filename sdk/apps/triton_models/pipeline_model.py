"""Triton Python-backend model `rapid_seg`: points in, labels out. It does around the network what the SDK's
pipeline does (range image, RAPiD, labels back to points) and calls the network model through Triton's
business-logic scripting. Needs the SDK importable in the Python backend's environment
(`pip install rapid-edge-sdk`); written into a model repository by `rapid-edge export --triton`."""
import json
from pathlib import Path

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        from runtimes.package import load_package
        from sdk.segmentation.steps import RapidSegSteps

        config = json.loads(args["model_config"])
        parameters = {key: value["string_value"] for key, value in config.get("parameters", {}).items()}
        # the version folder holds the package's manifest (checked here); its network is the network model's
        package = load_package(Path(args["model_repository"]) / args["model_version"], verify=False)
        self.steps = RapidSegSteps.from_manifest(package.manifest, package.folder)
        self.network, self.sensor = parameters["network"], parameters["sensor"]

    def execute(self, requests):
        from runtimes.triton_tensors import to_numpy, to_tensor
        from sensors import Frame

        responses = []
        for request in requests:
            try:  # a bad request is answered with its error; the model keeps serving
                ring = pb_utils.get_input_tensor_by_name(request, "RING")
                frame = Frame(points=to_numpy(pb_utils.get_input_tensor_by_name(request, "POINTS")), timestamp=0.0,
                              sensor=self.sensor, ring=to_numpy(ring) if ring is not None else None)
                prepared = self.steps.preprocess(frame)
                reply = pb_utils.InferenceRequest(model_name=self.network, requested_output_names=["logits"],
                                                  inputs=[to_tensor(pb_utils, name, value)
                                                          for name, value in prepared.network_feed().items()]).exec()
                if reply.has_error():
                    raise RuntimeError(f"{self.network}: {reply.error().message()}")
                result = self.steps.postprocess(prepared, to_numpy(pb_utils.get_output_tensor_by_name(reply, "logits")))
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    to_tensor(pb_utils, "LABELS", result.labels.astype(np.uint8)),
                    to_tensor(pb_utils, "SCORES", result.scores.astype(np.float32))]))
            except Exception as err:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(err).__name__}: {err}")))
        return responses
