"""rapid_seg on an NVIDIA GPU, side by side in one run, on the real 124,668-point scan:
- RAPiD through the plugin's CUDA kernels (CuPy) against numba, and its agreement with the NumPy reference;
- the model in PyTorch on the GPU (fp32 and fp16 autocast) against the CPU reference (parity report:
  label agreement, logit cosine, mIoU change), model call and the whole frame -> labels path with RAPiD
  on the GPU;
- ONNX Runtime with the CUDA EP, and TensorRT engines (every export form, fp32 and fp16, built through
  Polygraphy; parity and latency), where those are installed.
Writes benchmarks/results/gpu_latency.json. Without a GPU it says so and measures nothing.

    python benchmarks/gpu_latency.py [--data ../shared/data] [--packages DIR]

--packages: a folder of packages made by `rapid-edge export` (split/, portable/), for machines without
the export tools; without it the packages are exported here.
"""
from __future__ import annotations

import argparse
import copy
import json
import tempfile
from pathlib import Path

import numpy as np

import sensors
from export.parity import ParityCase, compare
from export.plugins.cupy_rapid import cuda_available, rapid_features_cuda
from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.ops.rapid_reference import rapid_features_reference
from runtimes.ops.rapid_spec import KITTI
from runtimes.torch_runner import TorchRunner
from sdk.segmentation.exporting import RAPID_FORM, feed_for, tensor_specs
from sdk.shipped import default_checkpoint
from sdk.segmentation.models.rapid_seg_config import SHIPPED_RAPID
from sdk.segmentation.range_image import project
from sdk.segmentation.steps import RapidSegSteps
from sdk.segmentation.training.checkpoint import load_model

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it
from timing import median_ms

REPO = Path(__file__).resolve().parent.parent
SCAN = "semantickitti/sequences/00"
REPEATS = 50


def rapid_on_gpu(image: np.ndarray) -> dict:
    import cupy

    report = {}
    on_device = cupy.asarray(image)
    for name, config in (("per-frame statistics", KITTI), ("frozen statistics (shipped)", SHIPPED_RAPID)):
        gpu = rapid_features_cuda(image, config).get()
        report[name] = {
            "max_abs_diff_vs_reference": float(np.abs(gpu - rapid_features_reference(image, config)).max()),
            "cuda_kernels_ms": round(median_ms(lambda c=config: rapid_features_cuda(on_device, c), REPEATS,
                                               cupy.cuda.Device().synchronize), 3),
            "numba_cpu_ms": round(median_ms(lambda c=config: rapid_features_numba(image, c), 5), 2),
        }
        print("rapid", name, report[name])
    return report


def model_on_gpu(frame: sensors.Frame, checkpoint: Path) -> dict:
    """PyTorch on the GPU against PyTorch on the CPU, then the frame -> labels path all on the GPU."""
    import cupy
    import torch

    model = load_model(checkpoint)
    feed = feed_for(frame, model, "split")
    inputs, outputs = tensor_specs(model, "split")
    case = [ParityCase(f"{SCAN}:{frame.index}", feed, frame.labels)]
    report: dict = {"parity": {}, "model_ms": {}}
    for half in (False, True):
        candidate = TorchRunner(copy.deepcopy(model), inputs, outputs, device="cuda", half=half)
        parity = compare(TorchRunner(model, inputs, outputs), candidate, case)
        report["parity"][candidate.name] = {"passed": parity["passed"], **parity["frames"][0]}
        gpu_model = copy.deepcopy(model).cuda()
        tensors = [torch.from_numpy(np.asarray(feed[s.name])).cuda() for s in inputs]
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=half):
            report["model_ms"][candidate.name] = round(median_ms(lambda: gpu_model(*tensors), REPEATS,
                                                                 torch.cuda.synchronize), 3)
        print(candidate.name, report["parity"][candidate.name], report["model_ms"][candidate.name])

    gpu_model = copy.deepcopy(model).cuda()
    steps = RapidSegSteps.for_model(model, rapid_in_graph=True)  # RAPiD runs on the GPU below

    def frame_to_labels() -> np.ndarray:
        feed = steps.preprocess(frame).feed
        image, pixel, points = (torch.from_numpy(feed[name]).cuda() for name in ("image", "pixel", "points"))
        rapid = torch.from_dlpack(rapid_features_cuda(cupy.from_dlpack(image), model.config.rapid))
        with torch.no_grad():
            return (gpu_model(image, pixel, points, rapid).argmax(dim=1) + 1).cpu().numpy()

    with torch.no_grad():
        reference = model(*(torch.from_numpy(np.asarray(feed[s.name])) for s in inputs)).argmax(dim=1).numpy() + 1
    report["frame_to_labels"] = {
        "ms": round(median_ms(frame_to_labels, REPEATS, torch.cuda.synchronize), 2),
        "projection_cpu_ms": round(median_ms(lambda: project(frame), REPEATS), 2),
        "label_agreement_vs_cpu_reference": float((frame_to_labels() == reference).mean()),
        "peak_gpu_memory_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1),
    }
    print("frame -> labels", report["frame_to_labels"])
    return report


def onnxruntime_on_gpu(frame: sensors.Frame, checkpoint: Path, packages: Path | None) -> dict:
    import onnxruntime as ort

    from runtimes.onnxruntime_runner import OnnxRuntimeRunner

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return {"skipped": f"onnxruntime {ort.__version__} has no CUDAExecutionProvider "
                           f"(providers: {', '.join(ort.get_available_providers())})"}
    report = {}
    model = load_model(checkpoint)
    for form in ("split", "portable"):
        package = _package(checkpoint, form, packages)
        feed = feed_for(frame, model, form)
        with OnnxRuntimeRunner(package, providers=["CUDAExecutionProvider", "CPUExecutionProvider"]) as runner:
            report[f"{form} ({runner.name})"] = {"ms": round(median_ms(lambda r=runner: r.infer(feed), REPEATS), 2)}
    return report


def tensorrt_on_gpu(frame: sensors.Frame, checkpoint: Path, packages: Path | None) -> dict:
    """One engine per export form and precision, built through Polygraphy: parity with PyTorch on the CPU
    on the real scan, and the engine's latency."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return {"skipped": "TensorRT is not installed on this machine"}
    from export.engine import build_engine
    from export.plugins import library
    from runtimes.tensorrt_runner import TensorRTRunner

    report = {}
    plugin = library.library_path() or library.build()
    for form in ("split", "portable", "plugin"):
        model = load_model(checkpoint, rapid_form=RAPID_FORM[form])
        inputs, outputs = tensor_specs(model, form)
        feed = feed_for(frame, model, form)
        package = _package(checkpoint, form, packages)
        for precision in ("fp32", "fp16"):
            name = f"{form} {precision}"
            try:  # one failing build must not hide the other engines' numbers
                runner = TensorRTRunner(build_engine(package, precision), [plugin] if package.custom_ops else [],
                                        precision=precision)
                parity = compare(TorchRunner(model, inputs, outputs), runner,
                                 [ParityCase(f"{SCAN}:{frame.index}", feed, frame.labels)])
                with runner:
                    ms = round(median_ms(lambda r=runner: r.infer(feed), REPEATS), 2)
                report[name] = {"passed": parity["passed"], **parity["frames"][0], "ms": ms}
            except Exception as err:  # noqa: BLE001 - recorded in the JSON with its type
                report[name] = {"failed": f"{type(err).__name__}: {err}"}
            print(name, report[name])
    return report


def _package(checkpoint: Path, form: str, packages: Path | None):
    if packages is not None:
        return packages / form
    from sdk.segmentation.exporting import export_rapid_seg

    return export_rapid_seg(checkpoint, form, Path(tempfile.mkdtemp()) / form, sim_frames=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--packages", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "gpu_latency.json")
    args = parser.parse_args()
    if not cuda_available():
        raise SystemExit("no CUDA GPU with CuPy on this machine: nothing to measure")
    import cupy
    import torch

    checkpoint = args.checkpoint or default_checkpoint("rapid_seg")
    frame = next(iter(sensors.open(args.data / SCAN)))
    report = {
        "machine": describe_machine() | {"gpu_name": torch.cuda.get_device_name(),
                                         "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion()},
        "scan": {"points": len(frame)},
        "rapid": rapid_on_gpu(project(frame).image[None]),
        "pytorch": model_on_gpu(frame, checkpoint),
        "onnxruntime": onnxruntime_on_gpu(frame, checkpoint, args.packages),
        "tensorrt": tensorrt_on_gpu(frame, checkpoint, args.packages),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
