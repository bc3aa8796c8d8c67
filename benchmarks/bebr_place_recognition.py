"""Place recognition on a simulated drive that revisits its street: the first pass is mapped (Scan Context
descriptors -> BEBR codes in an index), the second pass (0.4 m further along each frame, 1 m to the left)
runs through Pipeline("bebr", describe=ScanContext()) and each frame's top-1 mapped scan is right when it
lies within TOLERANCE_M of the frame's position. BEBR codes against exact float search of the same
descriptors, side by side; the binarizer is trained on pairs from other streets (seeds never tested).
Writes benchmarks/results/bebr_place_recognition.json.

    python benchmarks/bebr_place_recognition.py [--frames 300] [--training-streets 8]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from runtimes.bebr_index import BinaryIndex, IndexInfo
from runtimes.onnxruntime_runner import OnnxRuntimeRunner
from sdk import Pipeline, SearchOptions
from sdk.retrieval.exporting import export_binarizer
from sdk.retrieval.place_recognition import REVISIT, TOLERANCE_M, ScanContext, place_recall, revisit_pairs, simulated_revisit
from sdk.retrieval.settings import BinarizerConfig, BinarizerTraining, TrainingData
from sdk.retrieval.steps import BinarizerInfo, encode_all
from sdk.retrieval.training import train_binarizer

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it

REPO = Path(__file__).resolve().parent.parent
TEST_STREET = 7
TRAINING_STREETS = range(100, 200)
LAYOUT = {"bits": 256, "planes": 2}  # 64 bytes against 4,800 of the float descriptor


def run(frames: int, streets: int, epochs: int) -> dict:
    describe = ScanContext()
    work = Path(tempfile.mkdtemp(prefix="bebr-places-"))
    data = TrainingData(*revisit_pairs(list(TRAINING_STREETS)[:streets], frames // 2, describe))
    config = BinarizerConfig(dim=describe.dim, **LAYOUT)
    settings = BinarizerTraining(epochs=epochs, batch_size=min(512, len(data) // 2))
    train_binarizer(data, work / "checkpoint", config, settings, progress=False)
    package = export_binarizer(work / "checkpoint", work / "package", parity_embeddings=data.queries)
    info = BinarizerInfo.of(package)

    mapped, revisits = simulated_revisit(TEST_STREET, frames)
    mapped_descriptors = np.stack([describe(f) for f in mapped])
    with OnnxRuntimeRunner(package) as runner:
        codes, norms = encode_all(runner, mapped_descriptors, info.dim)
    index = BinaryIndex(IndexInfo(info.layout, info.code_version, info.package_sha256), codes, norms)
    with Pipeline("bebr", "onnxruntime-cpu", work / "package",
                  search=SearchOptions(index=index, k=1, describe=describe)) as pipeline:
        run = pipeline.run(revisits)
        found = np.array([result.ids[0] for result in run])
        summary = run.summary().as_dict()
    unit = mapped_descriptors / np.linalg.norm(mapped_descriptors, axis=1, keepdims=True)
    revisit_descriptors = np.stack([describe(f) for f in revisits])
    exact = np.argmax((revisit_descriptors / np.linalg.norm(revisit_descriptors, axis=1, keepdims=True)) @ unit.T, axis=1)
    return {
        "task": f"street seed {TEST_STREET}: {frames} mapped scans, {frames} revisits ({REVISIT}); top-1 right "
                f"within {TOLERANCE_M} m",
        "training": {"streets": streets, "pairs": len(data), "epochs": epochs, "layout": LAYOUT,
                     "code_version": info.code_version},
        "recall@1": {"bebr": place_recall(found, revisits, mapped), "float32 exact": place_recall(exact, revisits, mapped)},
        "bytes_per_scan": {"bebr": info.layout.code_bytes, "float32 exact": describe.dim * 4},
        "stages_ms": summary["stages_ms"], "machine": describe_machine(),
        "caveats": "simulated streets (procedural, static scenes); a revisit in the same heading; the mapped "
                   "scans lie 0.8 m apart, so several are right for each revisit",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="scans per pass of the test street")
    parser.add_argument("--training-streets", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "bebr_place_recognition.json")
    args = parser.parse_args()
    result = run(args.frames, args.training_streets, args.epochs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["recall@1"]), f"wrote {args.out}")


if __name__ == "__main__":
    main()
