"""The rapid_seg pipeline end to end, side by side in one run, on the best local runtime:
- latency per stage (p50/p95/p99) on the real 124,668-point scan and on the simulated HDL-64E drive, and on
  the scan without the neighbour vote (the postprocessing step it adds) and on the PyTorch runtime (the same
  steps around PyTorch eager: the reference the CPU runtime is held against);
- throughput with stage overlap (the streaming runtime) against the same stages one frame at a time;
- what `rapid-edge run --source X` prints for files (the README's quick start): sources read during the run,
  their decoding (or simulation) in a thread beside the stages, so a user can hold their own run against it;
- a live sensor at twice the rate the pipeline sustains, stages overlapped and one after another (each
  against its own sustained rate): frames dropped, p99 end-to-end latency against two frame periods;
- on the two camera+LiDAR samples, per camera: projecting the sweep and drawing the labels into the image,
  and per frame every point's colour (work that runs after the labels, never before them).
Memory over a long run is benchmarks/pipeline_memory.py (it can run beside other work; this cannot).
Writes benchmarks/results/pipeline_latency.json and pipeline_latency.png.

    python benchmarks/pipeline_latency.py [--frames 30] [--runtime auto]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path

import numpy as np

import sensors
from runtimes.streaming import overlap_by_default
from sdk import Pipeline, PostprocessOptions, StreamOptions
from runtimes.streaming import DECODE, END_TO_END, PROCESSING
from sdk.segmentation.steps import STAGES
from sdk.apps.render import camera_overlay
from sensors.pacing import PacedSource
from sensors.rig import point_colours

from machine import cpu_jiffies, describe_machine, steal_share  # benchmarks/ is on the path: the scripts run from it
from report import write_report
from timing import median_ms

REPO = Path(__file__).resolve().parent.parent
SCAN = "semantickitti/sequences/00"
#: the quick start's file sources (sim:// simulates each sweep as it is read, as the main job's does)
CLI_SOURCES = {"simulated HDL-64E drive (sim://)": "sim://hdl64e?seed=5000&frames={frames}",
               "VLP-16 pcap": "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"}
RIGS = {"nuScenes sample, 6 cameras": "nuscenes_cameras/calibration.json",
        "KITTI object 000008, 1 camera": "kitti_object_000008/calibration.json"}


def overlapped(pipeline: Pipeline, frames: list[sensors.Frame]) -> dict:
    """The streaming runtime with its stages overlapped (`pipeline` opened with StreamOptions(overlap=True):
    on 2 cores the default is one after another); `overlapped` records what ran."""
    start = time.perf_counter()
    run = pipeline.run(frames)
    count = sum(1 for _ in run)
    summary = run.summary()
    return {"fps": round(count / (time.perf_counter() - start), 2), "overlapped": summary.overlapped,
            "stages_ms": summary.stages_ms}


def one_at_a_time(pipeline: Pipeline, frames: list[sensors.Frame]) -> dict:
    start = time.perf_counter()
    timings = [pipeline(frame).timings for frame in frames]
    return {"fps": round(len(frames) / (time.perf_counter() - start), 2),
            "frame_ms_p50": round(float(np.median([sum(t.values()) for t in timings])), 1),
            "stages_ms_p50": {name: round(float(np.median([t[name] for t in timings])), 1) for name in timings[0]}}


def as_the_cli_runs(pipeline: Pipeline, source: sensors.Source) -> dict:
    """A file run as `rapid-edge run --source` makes it (the same pipeline and stream options): per frame
    and per stage as its table prints them, the source's decoding in its own thread beside the stages."""
    start = time.perf_counter()
    run = pipeline.run(source)
    points = [len(result.labels) for result in run]
    summary = run.summary()
    return {"frames": len(points), "points_mean": int(np.mean(points)), "live": summary.live,
            "fps": round(len(points) / (time.perf_counter() - start), 2),
            "per_frame_ms": summary.stages_ms[PROCESSING], "stages_ms": summary.stages_ms}


def live_overload(pipeline: Pipeline, frames: list[sensors.Frame], sustained_fps: float, count: int) -> dict:
    """A live sensor at twice the rate this form of the pipeline sustains. Latency must stay bounded (no growth
    from the first half of the run to the second); the goal counts it in the pipeline's frame periods (one
    period: 1 / the sustained rate, what a frame costs it), since no policy can beat the sensor's own period,
    half of that: the drop-oldest policy with the stages one after another bounds it by 1.5 periods (the
    freshest frame waits at most one sensor period for the stages, then takes one pipeline period)."""
    rate = 2 * sustained_fps
    run = pipeline.run(PacedSource(frames, rate_hz=rate, repeat=max(1, count // len(frames))))
    latencies = [r.timings["end_to_end"] for r in run]
    summary = run.summary()
    period_ms, sensor_period_ms = 1000 / sustained_fps, 1000 / rate
    p99 = summary.stages_ms["end_to_end"]["p99"]
    half = len(latencies) // 2
    return {"overlapped": summary.overlapped, "rate_hz": round(rate, 2), "frames_in": summary.frames_in,
            "frames_out": summary.frames_out, "dropped": summary.dropped,
            "end_to_end_ms": summary.stages_ms["end_to_end"],
            "p99_first_half_ms": round(float(np.percentile(latencies[:half], 99)), 1),
            "p99_second_half_ms": round(float(np.percentile(latencies[half:], 99)), 1),
            "pipeline_period_ms": round(period_ms, 1), "sensor_period_ms": round(sensor_period_ms, 1),
            "p99_in_pipeline_periods": round(p99 / period_ms, 2),
            "p99_in_sensor_periods": round(p99 / sensor_period_ms, 2),
            "goal_p99_within_2_periods": p99 <= 2 * period_ms}


def draw(report: dict, plt):
    figure, stages = plt.subplots(figsize=(7, 4))
    names = [DECODE, *STAGES, END_TO_END]
    for offset, (label, data) in enumerate((("real scan", report["real_scan"]["overlapped"]),
                                            ("simulated drive", report["simulated_drive"]["overlapped"]))):
        values = [data["stages_ms"].get(n, {}).get("p50", 0) for n in names]
        stages.bar(np.arange(len(names)) + 0.4 * offset, values, width=0.4, label=label)
    stages.set_xticks(np.arange(len(names)) + 0.2, names, fontsize=8)
    stages.set(ylabel="p50 ms", title="rapid_seg latency per stage")
    stages.legend()
    return figure


def camera_costs(pipeline: Pipeline, rigs: dict[str, sensors.Frame], repeats: int) -> dict:
    """Per rig frame and camera: projecting the sweep, and drawing the labels into the image (projection
    included); per frame: every point's colour from all cameras. These run after the labels (a render sink,
    the node's overlays after its label topics, the pipeline's "colour" stage), never before them."""
    palette = np.array(pipeline.steps.label_set.palette_rgb, dtype=np.uint8)
    report = {}
    for name, frame in rigs.items():
        result = pipeline(frame)
        report[name] = {
            "points": len(frame), "labels_ms": round(sum(result.timings.values()), 1),
            "point_colours_ms": round(median_ms(lambda: point_colours(frame), repeats), 2),
            "cameras": {camera: {"width": spec.width, "height": spec.height,
                                 "points_in_view": int(spec.project(frame.xyz).visible.sum()),
                                 "project_ms": round(median_ms(lambda spec=spec: spec.project(frame.xyz), repeats), 2),
                                 "overlay_ms": round(median_ms(lambda camera=camera, spec=spec: camera_overlay(
                                     frame.images[camera], spec, frame.xyz, result.labels, palette), repeats), 2)}
                        for camera, spec in frame.cameras.items()}}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--runtime", default="auto")
    parser.add_argument("--frames", type=int, default=30, help="frames per latency measurement")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pipeline_latency.json")
    args = parser.parse_args()
    cpu_start = cpu_jiffies()
    scan = next(iter(sensors.open(args.data / SCAN)))
    drive = list(sensors.open(f"sim://hdl64e?seed=5000&frames={args.frames}"))
    with Pipeline("rapid_seg", runtime=args.runtime, stream=StreamOptions(overlap=True)) as overlapping:
        streamed = {name: overlapped(overlapping, frames)
                    for name, frames in (("real_scan", [scan] * args.frames), ("simulated_drive", drive))}
    with Pipeline("rapid_seg", runtime=args.runtime) as pipeline:
        report = {"machine": describe_machine(), **pipeline.describe(),
                  "points": {"real_scan": len(scan), "simulated_mean": int(np.mean([len(f) for f in drive]))}}
        for name, frames in (("real_scan", [scan] * args.frames), ("simulated_drive", drive)):
            report[name] = {"overlapped": streamed[name], "one_at_a_time": one_at_a_time(pipeline, frames)}
            print(name, json.dumps(report[name]))
        report["as_rapid_edge_run"] = {
            name: as_the_cli_runs(pipeline, sensors.open(source.format(frames=args.frames) if "://" in source
                                                         else args.data / source))
            for name, source in CLI_SOURCES.items()}
        print("as rapid-edge run", json.dumps(report["as_rapid_edge_run"]))
        rigs = {name: next(iter(sensors.open(args.data / path))) for name, path in RIGS.items()}
        report["cameras"] = camera_costs(pipeline, rigs, args.frames)
        print("cameras", json.dumps(report["cameras"]))
    with Pipeline("rapid_seg", runtime=args.runtime, postprocess=PostprocessOptions(neighbour_vote=False)) as argmax_only:
        report["real_scan"]["one_at_a_time_without_vote"] = one_at_a_time(argmax_only, [scan] * args.frames)
        print("real_scan without the neighbour vote", json.dumps(report["real_scan"]["one_at_a_time_without_vote"]))
    if importlib.util.find_spec("torch") is not None:
        with Pipeline("rapid_seg", runtime="pytorch") as reference:
            report["real_scan"]["one_at_a_time_pytorch"] = one_at_a_time(reference, [scan] * args.frames)
        print("real_scan on the pytorch runtime", json.dumps(report["real_scan"]["one_at_a_time_pytorch"]))
    drive_report = report["simulated_drive"]
    report["live_2x_overload"] = {"default_for_live_sources_here": "stages overlapped" if overlap_by_default(
        stages=len(STAGES)) else "stages one after another"}
    for name, overlap, fps in (("stages_overlapped", True, drive_report["overlapped"]["fps"]),
                               ("stages_one_after_another", False, drive_report["one_at_a_time"]["fps"])):
        with Pipeline("rapid_seg", runtime=args.runtime, stream=StreamOptions(overlap=overlap)) as live:
            report["live_2x_overload"][name] = live_overload(live, drive, fps, 4 * args.frames)
    print("live 2x overload", report["live_2x_overload"])
    report["machine"]["cpu_steal_share"] = steal_share(cpu_start)
    write_report(report, args.out, draw)


if __name__ == "__main__":
    main()
