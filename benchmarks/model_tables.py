"""docs/model_results.md from benchmarks/results/model_latency.json: the table is generated, never typed.

    python benchmarks/model_tables.py
"""
from __future__ import annotations

from pages import REPO, heading, machine_line, write_page  # benchmarks/ is on the path

RESULT = REPO / "benchmarks" / "results" / "model_latency.json"
OUT = REPO / "docs" / "model_results.md"


def render(report: dict) -> str:
    lines = ["| runtime, form | frame ms: median (min - max) | x PyTorch eager (split): median (min - max) |",
             "| --- | --- | --- |"]
    for name, ratio in report["speedup_vs_pytorch_eager"].items():
        ms = report["frame_ms"][name]
        lines.append(f"| {name} | {ms['median']} ({ms['min']} - {ms['max']}) | {ratio['median']} ({ratio['min']} - {ratio['max']}) |")
    projection = report["frame_ms"]["projection"]
    ratio = report["onnxruntime_split_over_plugin"]
    return "\n".join([
        *heading("Model latency", "model_tables.py", RESULT, "model_latency.py"),
        f"The real {report['scan']['points']:,}-point scan, {report['precision']}. {machine_line(report['machine'])} "
        f"Protocol: {report['protocol']}.", "", *lines, "",
        f"Projection (range image, before every form): {projection['median']} ms.", "",
        f"ONNX Runtime, split form's time over the plugin form's, round by round (1 or more: the plugin form is no "
        f"slower): median {ratio['median']} ({ratio['min']} - {ratio['max']}).", "",
        *int8_table(report.get("int8", {})), *batching_table(report.get("batching"))])


def batching_table(batching: dict | None) -> list[str]:
    """Frames per network call: whether ONNX Runtime's CPU provider gains from batching this network."""
    if not batching:
        return []
    lines = ["## Frames per network call", "",
             "The split graph exported for 2 and 4 frames a call (the scan repeated; labels identical to one frame at "
             "a time), the network alone. Gain: one-frame time x frames / batched time, round by round (above 1: "
             "batching pays).", "", "| frames a call | network ms per frame: median (min - max) | gain: median (min - max) |",
             "| --- | --- | --- |"]
    for frames, ms in batching["network_ms_per_frame"].items():
        gain = batching["gain_over_one_frame_a_call"].get(frames)
        shown = f"{gain['median']} ({gain['min']} - {gain['max']})" if gain else "1 (reference)"
        lines.append(f"| {frames} | {ms['median']} ({ms['min']} - {ms['max']}) | {shown} |")
    return [*lines, ""]


def int8_table(int8: dict) -> list[str]:
    """The int8 graphs `export --precision int8` makes, gate or not: speed beside accuracy."""
    if not int8:
        return []
    lines = ["## int8 on ONNX Runtime's CPU provider", "",
             "Each form's int8 graph as the export makes it (operators chosen by label agreement on simulated "
             "frames), measured whether or not it passes the gate (99 % label agreement with PyTorch, at most "
             "0.5 mIoU points lost): a graph that fails is never written as a package.", "",
             "| graph | operators quantized | label agreement with PyTorch (scan) | mIoU change, points | passes the gate "
             "| fp32 time / int8 time: median (min - max) |", "| --- | --- | --- | --- | --- | --- |"]
    for name, row in int8.items():
        ratio = row["fp32_over_int8"]
        lines.append(f"| {name} | {row['quantized']} of {row['of']} | {row['label_agreement']} | "
                     f"{row['miou_change_points']:+} | {'yes' if row['passes_gate'] else 'no'} | "
                     f"{ratio['median']} ({ratio['min']} - {ratio['max']}) |")
    return [*lines, ""]


def main() -> None:
    write_page(RESULT, OUT, render)


if __name__ == "__main__":
    main()
