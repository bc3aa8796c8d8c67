"""The ROS 2 side of a vehicle, measured in one run (all inside a loopback-only network namespace):
- best-effort PointCloud2 delivery between two processes at 10 Hz for clouds of a VLP-16 rotation
  (0.24 MB), a 64-beam sweep (2 MB) and 8 MB, with Fast DDS's stock settings and with the node's profile
  (examples/ros2_node/config/fastdds_large_clouds.xml): share delivered and latency;
- the rapid_seg node in its own process (the core-only environment where there is one) on the real VLP-16
  bag's rotations played `--repeat` times: per-stage time from its debug topics and the end-to-end latency
  from publishing a cloud to receiving its segmentation.
Writes benchmarks/results/ros2_node.json.

    python benchmarks/ros2_node.py [--repeat 10] [--count 50]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from loopback import LOOPBACK_ENV, loopback_only, namespace_available  # benchmarks/ is on the path
from machine import describe_machine
from shared_data import DATA

REPO = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
PROFILE = REPO / "examples" / "ros2_node" / "config" / "fastdds_large_clouds.xml"
BAG = DATA / "ros2" / "velodyne_vlp16" / "1673400471837873222"
RUNTIME_PYTHON = REPO / ".venv-runtime" / "bin" / "python"
SIZES = {"VLP-16 rotation, XYZIRC (0.24 MB)": 237_392, "64-beam sweep (2 MB)": 2_000_000, "8 MB": 8_000_000}
IN_NAMESPACE = "RAPID_EDGE_BENCHMARK_IN_NAMESPACE"


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {f"p{q}": round(float(np.percentile(values, q)), 2) for q in (50, 99)}


def delivery(size: int, count: int, profile: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "FASTDDS_DEFAULT_PROFILES_FILE"}
    if profile:
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    script = str(HERE / "ros2_delivery.py")
    receiver = subprocess.Popen([sys.executable, script, "receive", "--seconds", str(count * 0.1 + 10)],
                                stdout=subprocess.PIPE, text=True, env=env)
    subprocess.run([sys.executable, script, "publish", "--bytes", str(size), "--count", str(count)], env=env,
                   check=True, timeout=120)
    received = json.loads(receiver.communicate(timeout=120)[0].strip().splitlines()[-1])
    return {"sent": count, "received": received["received"], "delivered": round(received["received"] / count, 3),
            "latency_ms": percentiles(received["latency_ms"])}


def node_latency(repeat: int) -> dict:
    python = str(RUNTIME_PYTHON) if RUNTIME_PYTHON.is_file() else sys.executable
    with tempfile.TemporaryDirectory() as out:
        env = {**os.environ, "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)}
        subprocess.run([sys.executable, str(HERE / "ros2_node_harness.py"), "--bag", str(BAG), "--out", out,
                        "--node-python", python, "--repeat", str(repeat)], env=env, check=True, timeout=600)
        run = json.loads((Path(out) / "run.json").read_text())
    clouds = run["clouds"]
    return {"node_python": "core-only environment" if python == str(RUNTIME_PYTHON) else "full environment",
            "runtime": next(iter(run["diagnostics"].values()))["values"]["runtime"] if run["diagnostics"] else None,
            "clouds": len(clouds), "points_per_cloud": round(float(np.mean([c["points"] for c in clouds]))),
            "complete": sum(c["complete"] for c in clouds), "republished": sum(c["attempts"] - 1 for c in clouds),
            "stage_ms": {stage: percentiles(values) for stage, values in run["debug_ms"].items()},
            "end_to_end_ms": percentiles([c["latency_ms"] for c in clouds if c["latency_ms"] is not None]),
            "exit_code": run["exit_code"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="plays of the bag's rotations through the node")
    parser.add_argument("--count", type=int, default=50, help="clouds per delivery measurement")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ros2_node.json")
    args = parser.parse_args()
    if not os.environ.get(IN_NAMESPACE):  # run the whole measurement again inside a loopback-only namespace
        env = {**os.environ, **LOOPBACK_ENV, IN_NAMESPACE: "1"}
        sys.exit(subprocess.run(loopback_only([sys.executable, *sys.argv]), env=env).returncode)
    report = {
        "caveats": ["one 2-core shared x86_64 VM, no GPU: the node runs ONNX Runtime on the CPU; a Jetson or a "
                    "GPU machine has not been measured",
                    "delivery is between two processes of one machine (shared memory or loopback UDP), "
                    "not across a vehicle network",
                    "end-to-end latency includes serialisation both ways and the node's own work; clouds are sent "
                    "one at a time, so there is no queueing"],
        "machine": describe_machine(), "network_namespace": namespace_available(),
        "delivery": {name: {"stock": delivery(size, args.count, False), "profile": delivery(size, args.count, True)}
                     for name, size in SIZES.items()},
        "node": node_latency(args.repeat),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("delivery", "node")}, indent=1))


if __name__ == "__main__":
    main()
