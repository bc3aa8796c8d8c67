"""rapid_seg latency per form and runtime on the real 124,668-point scan, side by side in one run:
PyTorch eager (the reference) against ONNX Runtime running the split, portable and plugin packages (the plugin
form's RAPiD node run by the SDK's native op library), and the int8 graphs of the split and portable forms
for ONNX Runtime's CPU provider as `export --precision int8` makes them (export/cpu_quantization.py), each
beside its label agreement with PyTorch and its mIoU change on the scan, whether or not it passes the gate;
and the split graph exported for 2 and 4 frames per call (the scan repeated), per frame, to see whether ONNX
Runtime gains from batching (the network reads `pixel` as an index into B * H * W, so frames batch exactly).
Every alternative is warmed up and they are timed in turns over several rounds; the report gives each
one's median with its range and the median ratio to PyTorch eager with its range (the split form's time
includes the RAPiD features it computes before the graph).
Writes benchmarks/results/model_latency.json.

    python benchmarks/model_latency.py [--checkpoint sdk/weights/rapid_seg] [--repeats 5] [--rounds 5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np

import sensors
from runtimes.ops.rapid_numba import rapid_features_numba
from export.cpu_quantization import CALIBRATION_FRAMES, quantize_int8
from export.onnx_graph import clean, export_module
from export.opset import DEFAULT_OPSET
from export.parity import REDUCED_PRECISION, compare
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from runtimes.torch_runner import TorchRunner
from sdk.segmentation.exporting import (POINTS, RAPID_FORM, PointProfile, export_rapid_seg, feed_for, parity_cases,
                                        tensor_specs)
from sdk.shipped import default_checkpoint
from sdk.segmentation.range_image import project
from sdk.segmentation.training.checkpoint import load_model
from sdk.segmentation.training.evaluate import simulated_scenes

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it
from shared_data import DATA
from timing import median_ms

REPO = Path(__file__).resolve().parent.parent
SCAN = "semantickitti/sequences/00"
#: frames per network call tried beside one
BATCHES = (2, 4)


def timed_rounds(alternatives: dict, rounds: int, repeats: int) -> dict[str, list[float]]:
    """Every alternative warmed up first, then timed in turn within each round (so a slow patch of a shared
    machine falls on all of them alike): per alternative, one median of `repeats` calls per round."""
    for run in alternatives.values():
        for _ in range(3):
            run()
    per_round: dict[str, list[float]] = {name: [] for name in alternatives}
    for _ in range(rounds):
        for name, run in alternatives.items():
            per_round[name].append(median_ms(run, repeats))
    return per_round


def int8_graph(package_model: Path, model, form: str, frames: int, out: Path) -> dict:
    """The int8 graph `export --precision int8` would make of this form (the same calibration frames, the same
    operator choice), written to `out` without the gate: the benchmark reports what the gate would see."""
    calibration = [feed_for(frame, model, form) for frame in
                   simulated_scenes(seeds=range(6000, 6000 + frames), indices=[30])]
    half = frames // 2
    choice = quantize_int8(package_model, out, calibration[:half], calibration[half:], REDUCED_PRECISION.label_agreement)
    return {"quantized": len(choice.quantized), "of": len(choice.quantized) + len(choice.kept_fp32),
            "selection_agreement": round(choice.agreement, 4)}


def against_pytorch(model, form: str, frame, candidate: Path) -> dict:
    """Label agreement and mIoU change of a graph against PyTorch on the scan (as the parity report)."""
    inputs, outputs = tensor_specs(model, form)
    report = compare(TorchRunner(model, inputs, outputs), OnnxRuntimeRunner(candidate, providers=["CPUExecutionProvider"]),
                     parity_cases(model, form, [("scan", frame)]), thresholds=REDUCED_PRECISION)
    worst = report["worst"]
    return {"label_agreement": round(worst["label_agreement"], 4),
            "miou_change_points": round(100 * worst.get("miou_change", float("nan")), 2), "passes_gate": report["passed"]}


def batched(feed: dict[str, np.ndarray], frames: int) -> dict[str, np.ndarray]:
    """`frames` copies of one split-form feed as one call: pixels offset by each frame's H * W."""
    pixels = feed["image"][0, 0].size
    return {"image": np.concatenate([feed["image"]] * frames), "rapid": np.concatenate([feed["rapid"]] * frames),
            "points": np.concatenate([feed["points"]] * frames),
            "pixel": np.concatenate([feed["pixel"] + i * pixels for i in range(frames)])}


def batched_split_graph(model, feed: dict[str, np.ndarray], frames: int, path: Path) -> dict[str, np.ndarray]:
    """The split graph exported for `frames` frames per call (as the export does, the batch fixed); its feed."""
    import torch

    inputs, outputs = tensor_specs(model, "split")
    feed = batched(feed, frames)
    profile = PointProfile()
    points = torch.export.Dim(POINTS, min=profile.min, max=profile.max * frames)
    dynamic = {s.name: ({0: points} if POINTS in s.shape else None) for s in inputs}
    exported = export_module(model, tuple(torch.from_numpy(feed[s.name]) for s in inputs), path,
                             [s.name for s in inputs], [s.name for s in outputs], dynamic, DEFAULT_OPSET)
    clean(exported, path, allow_plugin=False)
    return feed


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=5, help="calls per alternative and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calibration-frames", type=int, default=CALIBRATION_FRAMES, help="int8: as the export")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "model_latency.json")
    args = parser.parse_args()
    checkpoint = args.checkpoint or default_checkpoint("rapid_seg")
    frame = next(iter(sensors.open(args.data / SCAN)))
    folder = Path(tempfile.mkdtemp())
    image = project(frame).image[None]
    alternatives, runners, int8 = {}, [], {}
    for form in ("split", "portable", "plugin"):
        package = export_rapid_seg(checkpoint, form, folder / form, real_scan=None, sim_frames=1)
        model = load_model(checkpoint, rapid_form=RAPID_FORM[form])
        feed = feed_for(frame, model, form)
        inputs, outputs = tensor_specs(model, form)
        variants = [("pytorch", TorchRunner(model, inputs, outputs)), ("onnxruntime", OnnxRuntimeRunner(package))]
        if form != "plugin":  # int8 is for the CPU provider's split and portable forms
            quantized = folder / f"{form}.int8.onnx"
            int8[f"onnxruntime {form} int8"] = {**int8_graph(package.model_path, model, form, args.calibration_frames,
                                                             quantized),
                                                **against_pytorch(model, form, frame, quantized)}
            variants.append(("onnxruntime int8", OnnxRuntimeRunner(quantized, providers=["CPUExecutionProvider"])))
        for name, runner in variants:
            label = (f"onnxruntime {form} int8" if name == "onnxruntime int8" else
                     f"{name} {form}" + (" (native op library)" if form == "plugin" and name == "onnxruntime" else ""))
            runner.__enter__()
            runners.append(runner)
            if form == "split":  # the features are computed before the graph: counted in the same call
                alternatives[label] = lambda r=runner, f=feed, c=model.config.rapid: (rapid_features_numba(image, c), r.infer(f))
            else:
                alternatives[label] = lambda r=runner, f=feed: r.infer(f)
        if form == "split":
            fp32 = dict(variants)["onnxruntime"]
            for frames in BATCHES:
                batch_feed = batched_split_graph(model, feed, frames, folder / f"split.batch{frames}.onnx")
                runner = OnnxRuntimeRunner(folder / f"split.batch{frames}.onnx", providers=["CPUExecutionProvider"])
                runner.__enter__()
                runners.append(runner)
                single = fp32.infer(feed)["logits"]
                assert np.array_equal(runner.infer(batch_feed)["logits"], np.concatenate([single] * frames)), frames
                alternatives[f"onnxruntime split network, {frames} frames a call"] = lambda r=runner, f=batch_feed: r.infer(f)
            alternatives["onnxruntime split network, 1 frame a call"] = lambda r=fp32, f=feed: r.infer(f)
    alternatives["projection"] = lambda: project(frame)
    try:
        per_round = timed_rounds(alternatives, args.rounds, args.repeats)
    finally:
        for runner in runners:
            runner.__exit__(None, None, None)
    reference = per_round["pytorch split"]
    per_call = {frames: per_round.pop(f"onnxruntime split network, {frames} frames a call") for frames in BATCHES}
    one_frame = per_round.pop("onnxruntime split network, 1 frame a call")
    models = {k: v for k, v in per_round.items() if k != "projection"}
    split, plugin = per_round["onnxruntime split"], per_round["onnxruntime plugin (native op library)"]
    report = {
        "machine": describe_machine(), "precision": "fp32 unless named int8", "scan": {"points": len(frame)},
        "protocol": f"every alternative warmed up (3 calls), then {args.rounds} rounds, each timing every alternative in "
                    f"turn ({args.repeats} calls, median); ratios per round against pytorch split, then their median "
                    "and range; the split form's time includes its RAPiD features, computed before the graph",
        "frame_ms": {k: spread(v) for k, v in per_round.items()},
        "speedup_vs_pytorch_eager": {k: spread([r / t for r, t in zip(reference, v)]) for k, v in models.items()},
        # the goal: the plugin form no slower than the split form (a ratio of 1 or more), round by round
        "onnxruntime_split_over_plugin": spread([s / p for s, p in zip(split, plugin)]),
        # int8 against its own form's fp32 graph, round by round (above 1: int8 is faster), beside its accuracy
        "int8": {name: {**accuracy, "fp32_over_int8": spread([f / q for f, q in zip(
            per_round[name.removesuffix(" int8")], per_round[name])])} for name, accuracy in int8.items()},
        # the network alone (no RAPiD), ms per frame at 1, 2 and 4 frames a call; the gain per round against
        # 1 frame a call (above 1: batching pays); labels identical to one frame at a time (checked)
        "batching": {"network_ms_per_frame": {"1": spread(one_frame), **{
            str(frames): spread([t / frames for t in per_call[frames]]) for frames in BATCHES}},
            "gain_over_one_frame_a_call": {str(frames): spread([frames * o / t for o, t in zip(one_frame, per_call[frames])])
                                           for frames in BATCHES}},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["speedup_vs_pytorch_eager"], indent=1))
    print("onnxruntime split / plugin:", report["onnxruntime_split_over_plugin"])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
