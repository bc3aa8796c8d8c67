"""Triton Python-backend model of the network alone, through ONNX Runtime: for servers without Triton's
onnxruntime backend (PyTriton's server, say). Its version folder is the model package itself, checked on
load; tensors cross as runtimes/triton_tensors.py says. Written into a model repository by `rapid-edge export --triton --network-backend python`."""
from pathlib import Path

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        from runtimes.onnxruntime_runner import OnnxRuntimeRunner
        from runtimes.package import load_package

        package = load_package(Path(args["model_repository"]) / args["model_version"])
        self.runner = OnnxRuntimeRunner(package, providers=["CPUExecutionProvider"]).__enter__()
        self.inputs = [spec.name for spec in package.inputs]

    def execute(self, requests):
        from runtimes.triton_tensors import to_numpy, to_tensor

        responses = []
        for request in requests:
            try:
                feed = {name: to_numpy(pb_utils.get_input_tensor_by_name(request, name)) for name in self.inputs}
                outputs = self.runner.infer(feed)
                responses.append(pb_utils.InferenceResponse(output_tensors=[
                    to_tensor(pb_utils, name, value) for name, value in outputs.items()]))
            except Exception as err:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(f"{type(err).__name__}: {err}")))
        return responses

    def finalize(self):
        self.runner.__exit__(None, None, None)
