"""`rapid-edge label` on one archive made from the shared scans and captures, side by side in one run: the
local engine (the SDK's streaming runtime), Ray Data with 1 actor and with 2 actors (a local Ray on
loopback, 0.5 CPU per actor). For each: frames/s over the whole job (Ray's start-up included), the seconds
the units themselves took (summed over actors), and the peak resident memory of the whole process tree (driver, raylet, workers), sampled every 0.2 s.
Every process runs inside a network namespace that holds only loopback. Writes
benchmarks/results/label_throughput.json.

    python benchmarks/label_throughput.py [--copies 3]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from loopback import LOOPBACK_ENV, loopback_only, namespace_available  # benchmarks/ is on the path
from machine import describe_machine
from shared_data import DATA

REPO = Path(__file__).resolve().parent.parent
#: the archive's files (each copied `--copies` times under its own folder, as symlinks)
ARCHIVE = ("kitti_odometry_seq00_unlabelled/velodyne", "semantickitti/sequences/00/velodyne/000000.bin",
           "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap", "ros2/velodyne_vlp16/1673400471837873222",
           "nuscenes/samples/LIDAR_TOP", "kitti_object_000008/000008.bin")
IN_NAMESPACE = "RAPID_EDGE_BENCHMARK_IN_NAMESPACE"
MIB = 1024 * 1024


def make_archive(root: Path, copies: int) -> Path:
    for copy in range(copies):
        folder = root / f"drive_{copy}"
        folder.mkdir(parents=True)
        for entry in ARCHIVE:
            (folder / Path(entry).name).symlink_to(DATA / entry, target_is_directory=(DATA / entry).is_dir())
    return root


def tree_rss(pid: int) -> int:
    """Bytes resident in `pid` and every process below it (from /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


class PeakMemory:
    def __init__(self) -> None:
        self.peak, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, tree_rss(os.getpid()))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure(archive: Path, out: Path, engine: str, **options) -> dict:
    from sdk import label_files

    with PeakMemory() as memory:
        start = time.perf_counter()
        summary = label_files([archive], out, "parquet", runtime="onnxruntime-cpu", engine=engine, **options)
        wall = time.perf_counter() - start
    return {"engine": engine, **options, "frames": summary["frames"], "files": len(summary["labelled"]),
            "failed": summary["failed"], "wall_s": round(wall, 2), "frames_per_s_whole_job": round(summary["frames"] / wall, 2),
            "cores": summary["cores"], "frames_per_s_per_core_whole_job": round(summary["frames"] / wall / summary["cores"], 2),
            "unit_busy_s": summary["unit_seconds"], "peak_rss_mib": round(memory.peak / MIB, 1),
            "stages_ms": summary["stages_ms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3, help="copies of the archive's files")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "label_throughput.json")
    args = parser.parse_args()
    if not os.environ.get(IN_NAMESPACE):
        env = {**os.environ, **LOOPBACK_ENV, IN_NAMESPACE: "1"}
        sys.exit(subprocess.run(loopback_only([sys.executable, *sys.argv]), env=env).returncode)
    with tempfile.TemporaryDirectory() as work:
        archive = make_archive(Path(work) / "archive", args.copies)
        runs = [measure(archive, Path(work) / "local", "local"),
                measure(archive, Path(work) / "ray1", "ray", actors=1),
                measure(archive, Path(work) / "ray2", "ray", actors=2)]
    local = runs[0]["frames_per_s_whole_job"]
    report = {
        "caveats": ["one 2-core shared VM: two actors share the two cores with the driver and Ray's own processes, so "
                    "this measures Ray's overhead and correctness, not scaling",
                    "frames/s over the whole job includes starting a local Ray (several seconds) for the Ray runs",
                    "a small archive (the shared captures, repeated): per-job fixed costs weigh more than on a fleet's logs"],
        "machine": describe_machine(), "network_namespace": namespace_available(),
        "archive": {"entries": list(ARCHIVE), "copies": args.copies}, "runs": runs,
        "ray_over_local": {f"actors_{r['actors']}": round(r["frames_per_s_whole_job"] / local, 3) for r in runs[1:]},
        "scaling_on_a_larger_node": "each actor holds one Pipeline whose ONNX Runtime session uses one thread here; "
                                    "on a node with C free cores, C actors should scale close to linearly until "
                                    "file reading or the object store becomes the bound, since units share nothing",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("runs", "ray_over_local")}, indent=1))


if __name__ == "__main__":
    main()
