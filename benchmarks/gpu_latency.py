"""One file for a GPU machine: RAPiD on the GPU (the plugin's CUDA kernels through CuPy) against numba,
its agreement with the NumPy reference, and rapid_seg's latency in ONNX Runtime (CUDA EP) and, where
TensorRT is installed, as an engine built from the plugin-form package. Writes
benchmarks/results/gpu_latency.json. Runs on a synthetic scan when the shared data is absent.

    python benchmarks/gpu_latency.py [--data ../shared/data]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import sensors
from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.ops.rapid_reference import rapid_features_reference
from sdk.range_image import project

from timing import median_ms  # benchmarks/ is on the path: the scripts run from it

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "gpu_latency.json")
    args = parser.parse_args()
    scan = args.data / "semantickitti" / "sequences" / "00"
    source = sensors.open(scan) if scan.exists() else sensors.open("sim://hdl64e", frames=1)
    frame = next(iter(source))
    image = project(frame).image[None]
    from sdk.models.rapid_seg_config import SHIPPED_RAPID
    from runtimes.ops.rapid_spec import KITTI

    report: dict = {"frame": {"points": len(frame), "source": str(scan) if scan.exists() else "sim://hdl64e"}}
    import cupy

    from export.plugins.cupy_rapid import rapid_features_cuda

    device = cupy.cuda.Device()
    report["gpu"] = cupy.cuda.runtime.getDeviceProperties(device.id)["name"].decode()
    for name, config in (("per-frame statistics", KITTI), ("frozen statistics (shipped)", SHIPPED_RAPID)):
        reference = rapid_features_reference(image, config)
        gpu = rapid_features_cuda(image, config).get()
        on_device = cupy.asarray(image)
        report[f"rapid {name}"] = {
            "max_abs_diff_vs_reference": float(np.abs(gpu - reference).max()),
            "cuda_kernel_ms": round(median_ms(lambda: rapid_features_cuda(on_device, config), 20, device.synchronize), 3),
            "numba_ms": round(median_ms(lambda: rapid_features_numba(image, config), 5), 2),
        }
        print(name, report[f"rapid {name}"])

    from runtimes.onnxruntime_runner import OnnxRuntimeRunner
    from sdk.exporting import export_rapid_seg, feed_for
    from sdk.models.registry import default_checkpoint
    from sdk.training.checkpoint import load_model

    folder = Path(tempfile.mkdtemp())
    checkpoint = default_checkpoint("rapid_seg")
    for form in ("split", "portable"):
        package = export_rapid_seg(checkpoint, form, folder / form, sim_frames=1)
        feed = feed_for(frame, load_model(checkpoint), form)
        with OnnxRuntimeRunner(package, providers=["CUDAExecutionProvider", "CPUExecutionProvider"]) as runner:
            report[f"onnxruntime {form} ({runner.name})"] = {"ms": round(median_ms(lambda r=runner: r.infer(feed), 20), 2)}
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        report["tensorrt"] = "not installed on this machine"
    else:
        from export.engine import build_engine
        from export.plugins import library
        from runtimes.tensorrt_runner import TensorRTRunner

        package = export_rapid_seg(checkpoint, "plugin", folder / "plugin", sim_frames=1)
        plugin = library.library_path() or library.build()
        for precision in ("fp32", "fp16"):
            engine = build_engine(package, precision)
            feed = feed_for(frame, load_model(checkpoint, rapid_form="plugin"), "plugin")
            with TensorRTRunner(engine, [plugin]) as runner:
                report[f"tensorrt plugin {precision}"] = {"ms": round(median_ms(lambda r=runner: r.infer(feed), 20), 2)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
