"""RAPiD feature time per scan on the real 124,668-point SemanticKITTI scan, every implementation side
by side with the authors' method (exact per-ring cdist + topk in a loop), plus the windowed search's
fidelity to it. Writes benchmarks/results/rapid_features.json.

    python benchmarks/rapid_features.py [--data ../shared/data] [--repeats 25]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

import sensors
from runtimes.ops.rapid_exact_ring import exact_ring_neighbours, neighbour_recall
from runtimes.ops.rapid_reference import features_from_neighbours, split_image, windowed_neighbours
from runtimes.ops.rapid_spec import KITTI
from sdk.segmentation.features import METHODS, available_methods, rapid_features
from sdk.segmentation.range_image import project

from machine import cpu_jiffies, describe_machine, steal_share  # benchmarks/ is on the path: the scripts run from it
from timing import median_ms

REPO = Path(__file__).resolve().parent.parent
SCAN = "semantickitti/sequences/00/velodyne/000000.bin"


def onnx_runners(image: np.ndarray) -> dict:
    import onnxruntime as ort

    from export.rapid_op.onnx_export import export_rapid_features
    from runtimes.native_ops import session_options

    runners = {}
    folder = Path(tempfile.mkdtemp())
    for form in ("portable", "plugin"):
        path = folder / f"{form}.onnx"
        export_rapid_features(path, form, *image.shape[2:], KITTI)
        session = ort.InferenceSession(str(path), session_options(), providers=["CPUExecutionProvider"])
        runners[f"onnxruntime-{form}" + (" (native op library)" if form == "plugin" else "")] = (
            lambda s=session: s.run(None, {"image": image}))
    return runners


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=25, help="runs per fast implementation (median)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "rapid_features.json")
    args = parser.parse_args()

    cpu_start = cpu_jiffies()
    frame = next(iter(sensors.open(args.data / SCAN)))
    range_image = project(frame)
    image = range_image.image[None]
    op_ms = {}
    for name in available_methods():
        repeats = 1 if name in ("exact-ring", "reference") else args.repeats
        op_ms[name] = round(median_ms(lambda n=name: METHODS[n](image, KITTI), repeats), 2)
        print(f"{name:>40}: {op_ms[name]:9.2f} ms")
    for name, run in onnx_runners(image).items():
        op_ms[name] = round(median_ms(run, 1 if "plugin" in name else args.repeats), 2)
        print(f"{name:>40}: {op_ms[name]:9.2f} ms")

    fast = "numba"
    end_to_end = {
        "projection_ms": round(median_ms(lambda: project(frame), args.repeats), 2),
        f"frame_to_point_features_{fast}_ms": round(median_ms(lambda: rapid_features(frame, method=fast), args.repeats), 2),
    }
    xyz, reflectivity, valid = split_image(image[0])
    windowed = windowed_neighbours(xyz, reflectivity, valid, KITTI)
    exact = exact_ring_neighbours(xyz, reflectivity, valid, KITTI)
    difference = np.abs(features_from_neighbours(windowed, xyz, reflectivity, valid, KITTI)
                        - features_from_neighbours(exact, xyz, reflectivity, valid, KITTI))[:, valid]
    report = {
        "machine": describe_machine() | {"cpu_steal_share": steal_share(cpu_start)},
        "scan": {"points": len(frame), "range_image": list(range_image.shape), "row_source": range_image.row_source,
                 "valid_pixels": int(valid.sum())},
        "config": {"window": KITTI.window, "k_values": KITTI.k_values, "delta": KITTI.delta},
        "op_ms_per_scan": op_ms,
        "end_to_end": end_to_end,
        "speedup_vs_authors_method": {name: round(op_ms["exact-ring"] / ms, 1) for name, ms in op_ms.items()},
        "fidelity_vs_exact_in_ring_knn": {"neighbour_recall": round(neighbour_recall(windowed, exact), 4),
                                          "mean_abs_feature_difference": round(float(difference.mean()), 5),
                                          "max_abs_feature_difference": round(float(difference.max()), 4)},
    }
    print(json.dumps({k: report[k] for k in ("end_to_end", "speedup_vs_authors_method", "fidelity_vs_exact_in_ring_knn")}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
