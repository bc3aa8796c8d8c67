"""Resident memory of the streaming runtime over a long run: the executor alone over 10,000 frames, and
the whole rapid_seg pipeline over --frames of the simulated drive. Beside RSS, the C heap split into bytes
in use and bytes freed but held by the allocator: growth in the first is a leak, in the second
fragmentation. Timing does not matter here, so this may run beside other work.
Writes benchmarks/results/pipeline_memory.json and pipeline_memory.png.

    python benchmarks/pipeline_memory.py [--frames 10000] [--runtime auto]
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

import sensors
from runtimes.streaming import Stage, StreamExecutor
from sdk import Pipeline

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it
from memory import sample
from report import write_report

REPO = Path(__file__).resolve().parent.parent
SAMPLE_EVERY = 50
EXECUTOR_FRAMES = 10_000


def memory_over(run, frames: int) -> dict:
    """RSS and the C heap every SAMPLE_EVERY frames; growth counted from the 10 % mark (after caches and
    pools warm up)."""
    samples = [(i, sample()) for i, _ in enumerate(run) if i % SAMPLE_EVERY == 0]
    settled = next(memory for i, memory in samples if i >= frames // 10)
    last = samples[-1][1]
    growth = {name: None if getattr(last, name) is None else round(getattr(last, name) - getattr(settled, name), 1)
              for name in ("rss_mib", "heap_in_use_mib", "heap_free_mib")}
    return {"frames": frames, "rss_mib": [(i, m.rss_mib) for i, m in samples],
            "heap_mib": [(i, m.heap_in_use_mib, m.heap_free_mib) for i, m in samples], "growth_after_warmup_mib": growth}


def draw(report: dict, plt):
    figure, (resident, heap) = plt.subplots(1, 2, figsize=(12, 4))
    for key, label in (("executor_only", "executor alone"), ("pipeline", "whole pipeline")):
        frames, mib = zip(*report[key]["rss_mib"])
        resident.plot(frames, mib, label=label)
    resident.set(xlabel="frame", ylabel="RSS MiB", title="resident memory over a long run")
    resident.legend()
    frames, in_use, held_free = zip(*report["pipeline"]["heap_mib"])
    if None not in in_use:
        heap.plot(frames, in_use, label="in use")
        heap.plot(frames, held_free, label="freed, held by the allocator")
    heap.set(xlabel="frame", ylabel="MiB", title="whole pipeline: C heap (glibc mallinfo2)")
    heap.legend()
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--frames", type=int, default=10_000, help="frames of the whole-pipeline run")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pipeline_memory.json")
    args = parser.parse_args()
    drive = list(sensors.open("sim://hdl64e?seed=5000&frames=20"))
    executor = StreamExecutor([Stage("copy", np.copy)])
    report = {"machine": describe_machine(),
              "executor_only": memory_over(executor.run(itertools.islice(itertools.cycle(f.points for f in drive), EXECUTOR_FRAMES)),
                                           EXECUTOR_FRAMES)}
    print("executor alone", report["executor_only"]["growth_after_warmup_mib"], flush=True)
    with Pipeline("rapid_seg", runtime=args.runtime) as pipeline:
        report.update(pipeline.describe())
        report["pipeline"] = memory_over(pipeline.run(itertools.islice(itertools.cycle(drive), args.frames)), args.frames)
    print("whole pipeline", report["pipeline"]["growth_after_warmup_mib"])
    write_report(report, args.out, draw)


if __name__ == "__main__":
    main()
