"""rapid_seg latency per form and runtime on the real 124,668-point scan, side by side in one run:
PyTorch eager (the reference) against ONNX Runtime running the split, portable and plugin packages.
Times the model call (RAPiD included where the form computes it) and the whole frame -> labels path.
Writes benchmarks/results/model_latency.json.

    python benchmarks/model_latency.py [--checkpoint sdk/weights/rapid_seg] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import sensors
from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.torch_runner import TorchRunner
from sdk.exporting import RAPID_FORM, export_rapid_seg, feed_for, tensor_specs
from sdk.models.registry import default_checkpoint
from sdk.range_image import project
from sdk.training.checkpoint import load_model

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it
from timing import median_ms

REPO = Path(__file__).resolve().parent.parent
SCAN = "semantickitti/sequences/00"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "model_latency.json")
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint("rapid_seg")
    frame = next(iter(sensors.open(args.data / SCAN)))
    folder = Path(tempfile.mkdtemp())
    results = {}
    for form in ("split", "portable", "plugin"):
        package = export_rapid_seg(checkpoint, form, folder / form, real_scan=None, sim_frames=1)
        model = load_model(checkpoint, rapid_form=RAPID_FORM[form])
        feed = feed_for(frame, model, form)
        inputs, outputs = tensor_specs(model, form)
        runners = {"pytorch": TorchRunner(model, inputs, outputs), "onnxruntime": OnnxRuntimeRunner(package)}
        for name, runner in runners.items():
            label = f"{name} {form}" + (" (python op via lists)" if form == "plugin" and name == "onnxruntime" else "")
            with runner:
                ms = round(median_ms(lambda r=runner: r.infer(feed), args.repeats), 2)
            rapid_ms = 0.0
            if form == "split":  # the features are computed before the graph: count them
                image = project(frame).image[None]
                rapid_ms = round(median_ms(lambda: rapid_features_numba(image, model.config.rapid), args.repeats), 2)
            results[label] = {"model_ms": ms, "rapid_outside_graph_ms": rapid_ms, "total_ms": round(ms + rapid_ms, 1)}
            print(f"{label:>45}: {results[label]}")
    projection_ms = round(median_ms(lambda: project(frame), args.repeats), 2)
    pytorch = results["pytorch split"]["total_ms"]
    report = {
        "machine": describe_machine(), "precision": "fp32",
        "scan": {"points": len(frame)}, "projection_ms": projection_ms, "forms": results,
        "speedup_vs_pytorch_eager": {k: round(pytorch / v["total_ms"], 2) for k, v in results.items()},
        "end_to_end_ms_fastest": round(projection_ms + min(v["total_ms"] for v in results.values()), 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("speedup_vs_pytorch_eager", "end_to_end_ms_fastest")}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
