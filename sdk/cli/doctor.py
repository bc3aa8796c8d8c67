"""`rapid-edge doctor`: what this machine and install are and what in them stops or slows the SDK (as
`flutter doctor` or `polygraphy inspect` do): CPU architecture and SIMD, a Jetson's L4T and JetPack, CUDA,
TensorRT, ONNX Runtime's distributions and providers, numpy, PyTorch and where its build came from, the ROS 2
middleware and its large-cloud configuration. Exit 1 when it names a problem, for install scripts."""
from __future__ import annotations

import argparse
import importlib.util
import json

from runtimes.platform_report import platform_report, problems

from sdk.apps.dds import dds_setup
from sdk.cli.outcome import PROBLEMS_FOUND, Outcome


def add_parser(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser("doctor", help="what this machine and install are, and what in them needs fixing")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(run=run_doctor)


def run_doctor(args: argparse.Namespace) -> Outcome:
    report = platform_report()
    found = problems(report)
    notes = []
    if report["ros_distro"] or importlib.util.find_spec("rclpy") is not None:  # the middleware matters with ROS 2
        try:
            dds = dds_setup()
            report["dds"] = {"rmw": dds.rmw, "config": {dds.variable: dds.config} if dds.variable else {}}
            notes = dds.notes
        except ValueError as err:  # a configuration named but missing: a problem here, not a reason to stop
            found.append(str(err))
    report["problems"], report["notes"] = found, notes
    if not args.json:
        for key, value in report.items():
            if key not in ("problems", "notes"):
                print(f"{key:>18}: {json.dumps(value) if isinstance(value, (dict, list)) else value}")
        for problem in found:
            print(f"problem: {problem}")
        for note in notes:
            print(f"note: {note}")
        if not found:
            print("no problems found")
    return Outcome(report, PROBLEMS_FOUND if found else 0)
