"""Search speed of rapid::BinarySearch over 1,000,000 codes against faiss (IndexBinaryFlat, IndexPQ,
IndexPQFastScan, IndexFlatIP) at the same bytes, batches of 1, 16 and 256, k = 10; memory per vector and
scan rate against the machine's read rate. With the fidelity results present, also the plot of recall@10
against queries per second. Writes benchmarks/results/bebr_speed.json and bebr_recall_speed.png.

    python benchmarks/bebr_speed.py [--documents 1000000]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from bebr_search_speed import plot_recall_speed, run_speed_benchmark

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "bebr_speed.json")
    parser.add_argument("--fidelity", type=Path, default=RESULTS / "bebr_fidelity.json")
    args = parser.parse_args()
    result = {**run_speed_benchmark(args.documents), "machine": describe_machine()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    if args.fidelity.is_file():
        plot = args.out.parent / "bebr_recall_speed.png"
        plot_recall_speed(result, json.loads(args.fidelity.read_text()), plot)
        print(f"wrote {plot}")


if __name__ == "__main__":
    main()
