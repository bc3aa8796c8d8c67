"""`rapid-edge ros2 check`: open everything the ROS 2 node will open, before the vehicle drives (as
`build_only` does for Autoware's TensorRT nodes): the parameter file against its schema, the package
(checksums), the runtime (a TensorRT engine is built and cached here, not at the node's start), one
full synthetic sweep after warm-up against the processing-time budget, rclpy, and the large-cloud configuration
of the DDS middleware in use (Fast DDS or CycloneDDS, by RMW_IMPLEMENTATION)."""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from sdk.apps.dds import dds_setup
from sdk.apps.ros2_core import excluded_classes, load_parameters, open_pipeline, parameters_from_yaml
from sdk.cli.outcome import PROBLEMS_FOUND, Outcome


def add_parser(commands: argparse._SubParsersAction) -> None:
    ros2 = commands.add_parser("ros2", help="the ROS 2 node: check a vehicle's set-up before it drives")
    verbs = ros2.add_subparsers(dest="verb", required=True)
    check = verbs.add_parser("check", help="validate parameters, open the package and runtime, warm up, report")
    check.add_argument("--params-file", type=Path, default=None,
                       help="the node's parameter file (default: the schema's defaults)")
    check.add_argument("--node", default="rapid_seg", help="the node name whose section of the file applies")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(run=run_check)


def run_check(args: argparse.Namespace) -> Outcome:
    parameters = parameters_from_yaml(args.params_file, args.node) if args.params_file else load_parameters({})
    dds = dds_setup()  # a configuration file named but missing fails here, before anything is opened
    with open_pipeline(parameters) as pipeline:
        excluded_classes(parameters, pipeline.steps.label_set)  # the filtered classes must be the package's
        # a second synthetic sweep after the warm-up: what a steady cloud costs (the first pays for loading)
        _, sweep = pipeline.steps.warmup(pipeline.runner)
        timings = pipeline(sweep).timings
        sweep_total_ms = sum(timings.values())
        report = {"parameters": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(parameters).items()},
                  "runtime": pipeline.runner.name, "reason": pipeline.reason, "package": str(pipeline.package.folder),
                  "package_form": pipeline.package.form, "sweep_ms": {k: round(v, 1) for k, v in timings.items()},
                  "within_budget": sweep_total_ms <= parameters.processing_time_budget_ms}
    report["rclpy"] = importlib.util.find_spec("rclpy") is not None
    report["rmw"], report["dds_config"] = dds.rmw, {dds.variable: dds.config} if dds.variable else {}
    notes = []
    if not report["within_budget"]:
        notes.append(f"a full synthetic sweep took {sweep_total_ms:.0f} ms, over the {parameters.processing_time_budget_ms:g} ms budget")
    if not report["rclpy"]:
        notes.append("rclpy is not importable from this Python: source the vehicle's ROS 2 (or pip install 'rapid-edge-sdk[ros2]' on x86_64)")
    notes += dds.notes
    report["notes"] = notes
    if not args.json:
        print(f"rapid_seg on {report['runtime']} ({report['reason']}); package {report['package']} ({report['package_form']})")
        print(f"a full synthetic sweep ({', '.join(f'{k} {v:.0f} ms' for k, v in timings.items())}) against a "
              f"{parameters.processing_time_budget_ms:g} ms budget")
        for note in notes:
            print(f"note: {note}")
    return Outcome(report, 0 if report["within_budget"] else PROBLEMS_FOUND)
