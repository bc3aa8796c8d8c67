"""docs/pipeline_results.md from benchmarks/results/pipeline_latency.json: the tables are generated, never typed.

    python benchmarks/pipeline_tables.py
"""
from __future__ import annotations

from pages import REPO, heading, machine_line, write_page  # benchmarks/ is on the path
RESULT = REPO / "benchmarks" / "results" / "pipeline_latency.json"
OUT = REPO / "docs" / "pipeline_results.md"
from runtimes.streaming import DECODE
from sdk.segmentation.steps import STAGES


def stage_line(stages: dict, pick=lambda v: v) -> str:
    return " / ".join(f"{pick(stages[s]):.0f}" for s in STAGES)


def frame_table(report: dict) -> list[str]:
    scan, drive = report["real_scan"], report["simulated_drive"]
    rows = [("one frame at a time: frame -> labels, p50 ms", f"{scan['one_at_a_time']['frame_ms_p50']:.0f}",
             f"{drive['one_at_a_time']['frame_ms_p50']:.0f}"),
            ("one frame at a time, p50 ms per stage: " + " / ".join(STAGES), stage_line(scan["one_at_a_time"]["stages_ms_p50"]),
             stage_line(drive["one_at_a_time"]["stages_ms_p50"])),
            ("without the neighbour vote (`--no-vote`): frame -> labels, p50 ms", 
             f"{scan['one_at_a_time_without_vote']['frame_ms_p50']:.0f}", "-"),
            ("one frame at a time: frames/s", f"{scan['one_at_a_time']['fps']:.2f}", f"{drive['one_at_a_time']['fps']:.2f}"),
            *pytorch_rows(scan),
            ("streaming (stages overlapped): frames/s", f"{scan['overlapped']['fps']:.2f}", f"{drive['overlapped']['fps']:.2f}"),
            ("streaming, p50 ms per stage", stage_line(scan["overlapped"]["stages_ms"], lambda v: v["p50"]),
             stage_line(drive["overlapped"]["stages_ms"], lambda v: v["p50"]))]
    points = report["points"]
    return [f"| | real scan ({points['real_scan']:,} points) | simulated HDL-64E drive (~{points['simulated_mean']:,}) |",
            "| --- | --- | --- |", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]


def pytorch_rows(scan: dict) -> list[tuple[str, str, str]]:
    """The same steps around PyTorch eager, and this runtime's frame as a share of that one (when torch ran)."""
    if "one_at_a_time_pytorch" not in scan:
        return []
    reference = scan["one_at_a_time_pytorch"]
    return [("PyTorch runtime, one frame at a time: frame -> labels, p50 ms (per stage)",
             f"{reference['frame_ms_p50']:.0f} ({stage_line(reference['stages_ms_p50'])})", "-"),
            ("this runtime's frame / the PyTorch runtime's", f"{scan['one_at_a_time']['frame_ms_p50'] / reference['frame_ms_p50']:.2f}", "-")]


def cli_table(runs: dict) -> list[str]:
    lines = ["| source | points per frame | per frame p50 / p95 ms | p50 ms per stage: decode / " + " / ".join(STAGES)
             + " | frames/s |", "| --- | --- | --- | --- | --- |"]
    for name, run in runs.items():
        stages = f"{run['stages_ms'][DECODE]['p50']:.0f} / {stage_line(run['stages_ms'], lambda v: v['p50'])}"
        lines.append(f"| {name} | {run['points_mean']:,} | {run['per_frame_ms']['p50']:.0f} / "
                     f"{run['per_frame_ms']['p95']:.0f} | {stages} | {run['fps']:.2f} |")
    return lines


def overload_table(overload: dict) -> list[str]:
    lines = [f"Default for live sources on this machine: {overload['default_for_live_sources_here']}.", "",
             "| stages | sensor rate | frames out / dropped | end to end p50 / p99 ms | pipeline period ms | "
             "p99 in pipeline periods |", "| --- | --- | --- | --- | --- | --- |"]
    for name in ("stages_overlapped", "stages_one_after_another"):
        run = overload[name]
        lines.append(f"| {name.removeprefix('stages_').replace('_', ' ')} | {run['rate_hz']} Hz | {run['frames_out']} / "
                     f"{run['dropped']} | {run['end_to_end_ms']['p50']:.0f} / {run['end_to_end_ms']['p99']:.0f} | "
                     f"{run['pipeline_period_ms']} | {run['p99_in_pipeline_periods']} |")
    return lines


def camera_table(cameras: dict) -> list[str]:
    lines = ["| sample | camera | image | points in view | project ms | draw labels (with projection) ms |",
             "| --- | --- | --- | --- | --- | --- |"]
    for sample, run in cameras.items():
        for name, camera in run["cameras"].items():
            lines.append(f"| {sample} | {name} | {camera['width']} x {camera['height']} | {camera['points_in_view']:,} | "
                         f"{camera['project_ms']} | {camera['overlay_ms']} |")
    lines += ["", "| sample | points | frame -> labels ms | every point's colour from all cameras ms |", "| --- | --- | --- | --- |"]
    lines += [f"| {sample} | {run['points']:,} | {run['labels_ms']} | {run['point_colours_ms']} |" for sample, run in cameras.items()]
    return lines


def render(report: dict) -> str:
    return "\n".join([
        *heading("Pipeline measurements", "pipeline_tables.py", RESULT, "pipeline_latency.py"),
        f"Medians of one run. {machine_line(report['machine'])} {report['runtime']}, {report['form']} form, "
        f"{report['precision']}. Caveat: a shared VM whose speed moves from run to run by tens of percent.", "",
        "## Frames", "", *frame_table(report), "",
        "For file streams the streaming end-to-end time counts the wait behind the frames read before it "
        "(back-pressure): it is not a latency to quote.", "",
        "## What `rapid-edge run --source FILE` prints", "",
        "The quick start's runs: each source read during the run, its decoding (or, for `sim://`, the "
        "simulation of each sweep) in a thread beside the stages, with the pipeline and stream options the CLI "
        "uses; \"per frame\" is the row the CLI's table prints. On 2 cores the source's thread takes CPU from "
        "the stages, so a frame costs more here than one frame at a time above.", "",
        *cli_table(report["as_rapid_edge_run"]), "",
        "## A live sensor at twice the rate the pipeline sustains", "", *overload_table(report["live_2x_overload"]), "",
        "## Cameras (after the labels: a render sink, the node's overlays, the pipeline's colour stage)", "",
        *camera_table(report["cameras"]), ""])


def main() -> None:
    write_page(RESULT, OUT, render)


if __name__ == "__main__":
    main()
