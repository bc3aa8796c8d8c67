"""docs/ros2_results.md from benchmarks/results/ros2_node.json: the tables are generated, never typed.

    python benchmarks/ros2_tables.py
"""
from __future__ import annotations

from pages import REPO, heading, machine_line, write_page  # benchmarks/ is on the path
RESULT = REPO / "benchmarks" / "results" / "ros2_node.json"
OUT = REPO / "docs" / "ros2_results.md"


def _latency(value: dict | None) -> str:
    return f"{value['p50']} / {value['p99']}" if value else "-"


def delivery_table(delivery: dict) -> list[str]:
    lines = ["| cloud | stock Fast DDS: delivered | latency p50 / p99, ms | with the node's profile: delivered | "
             "latency p50 / p99, ms |", "| --- | --- | --- | --- | --- |"]
    for name, modes in delivery.items():
        stock, profile = modes["stock"], modes["profile"]
        lines.append(f"| {name} | {stock['received']}/{stock['sent']} | {_latency(stock['latency_ms'])} | "
                     f"{profile['received']}/{profile['sent']} | {_latency(profile['latency_ms'])} |")
    return lines


def node_table(node: dict) -> list[str]:
    lines = [f"{node['clouds']} clouds of about {node['points_per_cloud']:,} points (the real VLP-16 bag's rotations, "
             f"XYZIRC), the node in the {node['node_python']} on {node['runtime']}; {node['complete']} of "
             f"{node['clouds']} complete, {node['republished']} republished, exit code {node['exit_code']}.", "",
             "| stage | p50 ms | p99 ms |", "| --- | --- | --- |"]
    for stage, value in node["stage_ms"].items():
        lines.append(f"| {stage} (debug topic) | {value['p50']} | {value['p99']} |")
    end = node["end_to_end_ms"]
    lines.append(f"| published cloud -> segmentation received | {end['p50']} | {end['p99']} |")
    return lines


def render(report: dict) -> str:
    return "\n".join([
        *heading("ROS 2 measurements", "ros2_tables.py", RESULT, "ros2_node.py"),
        "Caveats: " + "; ".join(report["caveats"]) + f". {machine_line(report['machine'])} "
        f"Network namespace with loopback only: {report['network_namespace']}.", "",
        "## Best-effort PointCloud2 between two processes, 10 Hz", "", *delivery_table(report["delivery"]), "",
        "## The rapid_seg node", "", *node_table(report["node"]), ""])


def main() -> None:
    write_page(RESULT, OUT, render)


if __name__ == "__main__":
    main()
