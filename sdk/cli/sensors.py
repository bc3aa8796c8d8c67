"""`rapid-edge sensors info|convert`: look at a source and write its frames as KITTI .bin or PCD."""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path
from typing import Any

import numpy as np

import sensors
from sensors.writers import FORMATS

DEFAULT_SOURCE = "sim://hdl64e"


def add_parser(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("sensors", help="inspect and convert sensor data").add_subparsers(dest="sensors_command", required=True)

    info = group.add_parser("info", help="sensor model, frame count, points per frame, rate")
    info.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help=f"source URL or path (default: {DEFAULT_SOURCE})")
    _common(info)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(run=run_info)

    convert = group.add_parser("convert", help="write frames as KITTI .bin (+ .label) or PCD")
    convert.add_argument("source", help="source URL or path")
    convert.add_argument("out", type=Path, help="output folder")
    convert.add_argument("--format", choices=FORMATS, default="kitti",
                         help="kitti: velodyne/*.bin (+ labels/*.label); pcd: PCD with a label field")
    _common(convert)
    convert.set_defaults(run=run_convert)


def _common(parser: argparse.ArgumentParser) -> None:
    add_source_options(parser)
    parser.add_argument("--frames", type=int, default=None, help="stop after this many frames")


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """-o KEY=VALUE, the options of sensors.open (a capture's calibration=, an Ouster pcap's metadata=, ...)."""
    parser.add_argument("-o", "--option", action="append", default=[], metavar="KEY=VALUE",
                        help="source option, e.g. -o model=VLP-16 -o calibration=VLP16.yaml -o metadata=OS.json "
                             "(repeatable)")


def source_options(args: argparse.Namespace) -> dict[str, Any]:
    return dict(pair(item, "option", "KEY=VALUE") for item in args.option)


def open_from_args(args: argparse.Namespace) -> sensors.Source:
    return sensors.open(args.source, **source_options(args))


def pair(item: str, flag: str, form: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise ValueError(f"{flag} {item!r} is not {form}")
    return key, value


def progress(iterable, total: int | None, description: str):
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=description, unit="frame", leave=False, dynamic_ncols=True)


def run_info(args: argparse.Namespace) -> dict[str, Any]:
    with open_from_args(args) as source:
        counts, stamps, labelled = [], [], False
        for frame in progress(itertools.islice(source, args.frames), args.frames, "reading"):
            counts.append(len(frame) if frame.image is None else 0)
            stamps.append(frame.timestamp)
            labelled |= frame.labels is not None
        summary = summarize(source, counts, stamps, labelled)
    if not args.json:
        for key, value in summary.items():
            print(f"{key:>18}: {value}")
    return summary


def summarize(source: sensors.Source, counts: list[int], stamps: list[float], labelled: bool) -> dict[str, Any]:
    measured = None
    if len(stamps) > 2:
        steps = np.diff(np.asarray(stamps))
        steps = steps[steps > 0]
        measured = round(float(1.0 / np.median(steps)), 3) if len(steps) else None
    per_frame = np.asarray(counts) if counts else np.zeros(1)
    return {
        "source": type(source).__name__,
        "sensor": source.sensor,
        "live": source.live,
        "frames": len(counts),
        "points_per_frame": {"min": int(per_frame.min()), "mean": round(float(per_frame.mean()), 1),
                             "max": int(per_frame.max())},
        "rate_hz": {"sensor": source.rate_hz, "timestamps": measured},
        "labels": labelled,
        "stats": source.stats.as_dict(),
    }


def run_convert(args: argparse.Namespace) -> None:
    written = 0
    with open_from_args(args) as source:
        for frame in progress(itertools.islice(source, args.frames), args.frames, "converting"):
            if frame.image is not None:
                raise ValueError(f"{args.source}: camera frames hold no points to convert")
            sensors.write_frame(frame, args.out, args.format)  # with the frame's labels, in their own dataset's ids
            written += 1
        skipped = sum(source.stats.skipped_frames.values())
    print(f"wrote {written} frames to {args.out} ({args.format}); skipped {skipped}")
