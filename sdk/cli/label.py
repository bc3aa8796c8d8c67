"""`rapid-edge label SOURCE... --out DIR`: label a log archive (sdk.label_files), locally or on Ray."""
from __future__ import annotations

import argparse
from pathlib import Path

from sdk.apps.labelling import ENGINES, FORMATS, label_files
from sdk.cli.outcome import PROBLEMS_FOUND, Outcome
from sdk.cli.sensors import add_source_options, source_options
from sdk.tasks import DEFAULT_RUNTIME, RUNTIMES


def add_parser(commands: argparse._SubParsersAction) -> None:
    label = commands.add_parser("label", help="label every file of a log archive; a rerun skips what is done")
    label.add_argument("sources", nargs="+", type=Path, help="files or folders (KITTI, nuScenes, PCD, pcaps, ROS 2 bags)")
    label.add_argument("--out", type=Path, required=True, help="the folder the labels (and summary.json) go to")
    label.add_argument("--format", choices=FORMATS, default="kitti",
                       help="kitti: SemanticKITTI .label files (a pcap or bag: velodyne/*.bin + labels/*.label, as run "
                            "writes them); pcd: PCD with a label field; parquet: a file per unit")
    label.add_argument("--scores", action="store_true", help="parquet: add each point's float16 score")
    label.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME, help="what runs the package (auto: the fastest here)")
    label.add_argument("--package", type=Path, default=None, help="a package from `rapid-edge export` (default: the shipped one)")
    label.add_argument("--url", default=None, help="runtime triton: HOST:PORT of the Triton server")
    label.add_argument("--engine", choices=ENGINES, default="local",
                       help="local: this machine's streaming runtime; ray: Ray Data actors")
    label.add_argument("--address", default=None, help="ray: `auto` or HOST:PORT of a running cluster (default: a local Ray on loopback)")
    label.add_argument("--actors", type=int, default=None, help="ray: actors, one Pipeline each (default 1)")
    label.add_argument("--cpus-per-actor", type=float, default=None, help="ray: CPUs each actor takes (default 0.5)")
    add_source_options(label)
    label.add_argument("--json", action="store_true", help="print the summary as JSON")
    label.set_defaults(run=run_label)


def run_label(args: argparse.Namespace) -> Outcome:
    ray_options = {name: value for name, value in (("address", args.address), ("actors", args.actors),
                                                   ("cpus_per_actor", args.cpus_per_actor)) if value is not None}
    summary = label_files(args.sources, args.out, args.format, args.runtime, args.package, args.scores, args.engine,
                          args.url, source_options=source_options(args), **ray_options)
    if not args.json:
        print(f"{summary['frames']} frames of {len(summary['labelled'])} files in {summary['seconds']:.1f} s "
              f"({summary['frames_per_s']} frames/s, {summary['frames_per_s_per_core']} per core of "
              f"{summary['cores']:g}); {len(summary['already_done'])} already done, "
              f"{len(summary['redone'])} redone (made otherwise before), {len(summary['failed'])} failed; "
              f"summary in {args.out / 'summary.json'}")
        if summary["caveat"]:
            print(f"note: {summary['caveat']}")
        for failure in summary["failed"]:
            print(f"failed: {failure['path']}: {failure['reason']}")
    return Outcome(summary, PROBLEMS_FOUND if summary["failed"] else 0)
