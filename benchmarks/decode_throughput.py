"""Decode throughput of every real capture as a multiple of the sensor's real-time rate, on one core,
and the simulated LiDAR's frames per second (all cores). Writes benchmarks/results/decode_throughput.json.

Side by side for Velodyne: the SDK's rotation splitting (velodyne-decoder decodes, we split at the
azimuth wrap) against velodyne-decoder's own angle-cut scan assembly, on the same capture.

    python benchmarks/decode_throughput.py [--data ../shared/data] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

import sensors

from machine import describe_machine  # benchmarks/ is on the path: the scripts run from it

REPO = Path(__file__).resolve().parent.parent
CAPTURES = {
    "VLP-16 (VeloView, 20 Hz)": "velodyne/vlp16/veloview_vlp-16-test-90deg-1-50-frames.pcap",
    "VLP-16 (MRPT, 10 Hz)": "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap",
    "HDL-32E (MRPT)": "velodyne/hdl32e/mrpt_sample_velodyne_hdl32.pcap",
    "VLP-16 dual return (ROS 2 bag)": "ros2/velodyne_vlp16/1673400471837873222",
    "OS-1-32 (LEGACY)": "ouster/OS-1-32-G_v2.1.1_1024x10.pcap",
    "OS-0-128 (RNG15_RFL8_NIR8)": "ouster/OS-0-128-U1_v2.3.0_1024x10.pcap",
    "HDL-64E KITTI .bin": "kitti_odometry_seq00_unlabelled",
}


def timed(run, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def sensor_seconds(frames: list[sensors.Frame], rate_hz: float | None) -> float:
    """The time the sensor took to produce these frames: one period per frame (partial ones pro rata)."""
    if not frames:
        return 0.0
    if rate_hz is None:
        return 0.0
    full = max(len(f) for f in frames)
    return sum(len(f) / full for f in frames) / rate_hz


def bench_capture(path: Path, repeats: int) -> dict:
    seconds, frames = timed(lambda: list(sensors.open(path)), repeats)
    source = sensors.open(path)
    real = sensor_seconds(frames, source.rate_hz)
    points = sum(len(f) for f in frames)
    return {"sensor": source.sensor, "frames": len(frames), "points": points, "decode_s": round(seconds, 4),
            "sensor_s": round(real, 4), "x_real_time": round(real / seconds, 1) if real else None,
            "points_per_s": round(points / seconds)}


def bench_velodyne_decoder_own_assembly(path: Path, repeats: int) -> dict:
    import velodyne_decoder as vd

    from sensors.source import SourceStats
    from sensors.velodyne import pcap_packets

    source = sensors.open(path)
    model = getattr(vd.Model, source.model.decoder_model)
    byte = source.model.model_byte

    def run():
        decoder = vd.StreamDecoder(vd.Config(model=model, min_range=0.001, max_range=1000.0))
        scans = []
        for stamp, packet in pcap_packets(path, SourceStats()):
            if len(packet) == 1206:
                result = decoder.decode(stamp, packet[:-1] + bytes((byte,)))
                if result is not None:
                    scans.append(result[1])
        tail = decoder.finish()
        return scans + ([tail[1]] if tail else [])

    seconds, scans = timed(run, repeats)
    return {"frames": len(scans), "points": int(sum(len(s) for s in scans)), "decode_s": round(seconds, 4)}


def bench_simulator(sensor: str, frames: int) -> dict:
    source = sensors.open(f"sim://{sensor}", frames=frames)
    start = time.perf_counter()
    points = sum(len(f) for f in source)
    seconds = time.perf_counter() - start
    return {"frames": frames, "fps": round(frames / seconds, 1), "x_real_time": round(frames / seconds / source.rate_hz, 2),
            "points_per_frame": round(points / frames), "cores": len(os.sched_getaffinity(0))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sim-frames", type=int, default=50)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "decode_throughput.json")
    args = parser.parse_args()
    report: dict = {"machine": describe_machine(),
                    "captures": {}, "velodyne_splitting": {}, "simulator": {}}
    # the simulator casts rays on every core, as it does in use; the decoders are measured on one core
    for sensor in ("hdl64e", "vlp16", "os128"):
        report["simulator"][sensor] = bench_simulator(sensor, args.sim_frames)
        print("sim", sensor, report["simulator"][sensor])
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    for name, relative in CAPTURES.items():
        path = args.data / relative
        if not path.exists():
            continue
        try:
            report["captures"][name] = bench_capture(path, args.repeats)
        except sensors.SourceError as err:  # e.g. the ouster extra is not installed
            report["captures"][name] = {"skipped": str(err)}
        print(name, report["captures"][name])
    for name in ("VLP-16 (VeloView, 20 Hz)", "HDL-32E (MRPT)"):
        path = args.data / CAPTURES[name]
        if path.exists():
            ours = report["captures"][name]
            theirs = bench_velodyne_decoder_own_assembly(path, args.repeats)
            report["velodyne_splitting"][name] = {
                "sdk_wrap_split": {k: ours[k] for k in ("frames", "points", "decode_s")},
                "velodyne_decoder_angle_cut": theirs,
                "sdk_cost_ratio": round(ours["decode_s"] / theirs["decode_s"], 2),
            }
            print(name, report["velodyne_splitting"][name])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
