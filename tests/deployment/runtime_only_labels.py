"""Run inside the core-only environment: check that the training stack is absent, then label one scan
through the shipped package, save the labels (the test compares them with the full install's) and print
the numpy and ONNX Runtime versions that ran as JSON."""
from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np

ABSENT = ("torch", "open3d", "onnxslim", "safetensors")


def main(scan: str, out: str) -> None:
    present = [name for name in ABSENT if importlib.util.find_spec(name) is not None]
    assert not present, f"the core install carries {present}"
    import runtimes.auto  # noqa: F401
    import sdk
    import sensors

    frame = next(iter(sensors.open(scan)))
    with sdk.Pipeline("rapid_seg", "onnxruntime-cpu", model=sdk.ModelOptions(allow_export=False)) as pipeline:
        labels = pipeline(frame).labels
    assert "torch" not in sys.modules and "open3d" not in sys.modules
    np.save(out, labels)
    import onnxruntime

    print(json.dumps({"numpy": np.__version__, "onnxruntime": onnxruntime.__version__}))


if __name__ == "__main__":
    main(*sys.argv[1:])
