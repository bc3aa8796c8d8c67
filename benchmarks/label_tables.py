"""docs/label_results.md from benchmarks/results/label_throughput.json: the tables are generated, never typed.

    python benchmarks/label_tables.py
"""
from __future__ import annotations

from pages import REPO, heading, machine_line, write_page  # benchmarks/ is on the path

RESULT = REPO / "benchmarks" / "results" / "label_throughput.json"
OUT = REPO / "docs" / "label_results.md"


def runs_table(report: dict) -> list[str]:
    lines = ["| engine | files | frames | job seconds | frames/s (whole job) | cores computing | frames/s per core | "
             "units' own seconds | infer p50 ms | peak memory of the process tree, MiB |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for run in report["runs"]:
        name = "local (streaming runtime)" if run["engine"] == "local" else f"Ray Data, {run['actors']} actor(s)"
        lines.append(f"| {name} | {run['files']} | {run['frames']} | {run['wall_s']} | {run['frames_per_s_whole_job']} | "
                     f"{run['cores']:g} | {run['frames_per_s_per_core_whole_job']} | {run['unit_busy_s']} | {run['stages_ms']['infer']['p50']} | {run['peak_rss_mib']:,} |")
    return lines


def render(report: dict) -> str:
    return "\n".join([
        *heading("Batch labelling measurements", "label_tables.py", RESULT, "label_throughput.py"),
        "Caveats: " + "; ".join(report["caveats"]) + f". {machine_line(report['machine'])} "
        f"Network namespace with loopback only: {report['network_namespace']}.", "",
        f"Archive: {', '.join(report['archive']['entries'])}, {report['archive']['copies']} copies; Parquet output.", "",
        *runs_table(report), "",
        "Ray against local, frames/s over the whole job: "
        + ", ".join(f"{k.replace('_', ' ')} {v}x" for k, v in report["ray_over_local"].items()) + ".", "",
        f"On a larger node: {report['scaling_on_a_larger_node']}.", ""])


def main() -> None:
    write_page(RESULT, OUT, render)


if __name__ == "__main__":
    main()
