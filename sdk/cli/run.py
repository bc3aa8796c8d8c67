"""`rapid-edge run` (segment a stream, the SDK's main command) and `rapid-edge replay` (bag in, labelled bag out)."""
from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

import sensors
from runtimes.streaming import END_TO_END, PROCESSING
from sensors import Source
from sensors.writers import FORMATS

from sdk.cli.options import add_options, options_from_args
from sdk.cli.sensors import add_source_options, pair, source_options
from sdk.options import ModelOptions, PostprocessOptions, StreamOptions
from sdk.pipeline import Pipeline
from sdk.tasks import DEFAULT_RUNTIME, DEFAULT_TASK, FRAMES, RUNTIMES, tasks_taking

DEFAULT_SOURCE = "sim://hdl64e?frames=20"
DEFAULT_RENDER = Path("rapid-edge-render")


def add_parser(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="segment a stream of frames (default: the simulated HDL-64E drive)")
    run.add_argument("--source", default=DEFAULT_SOURCE, help="source URL or path")
    add_source_options(run)
    run.add_argument("--camera", action="append", default=[], metavar="NAME=URL",
                     help="a live camera beside a live LiDAR --source (e.g. front=camera://0); repeatable, with --calibration")
    run.add_argument("--calibration", type=Path, default=None, help="the rig's calibration.json naming each --camera")
    run.add_argument("--frames", type=int, default=None, help="stop after this many frames")
    run.add_argument("--out", "--save", dest="save", type=Path, default=None,
                     help="write labels into this folder (see --format); --out as label, export and replay call it")
    run.add_argument("--format", choices=FORMATS, default="kitti",
                     help="kitti: velodyne/*.bin + labels/*.label (SemanticKITTI ids); pcd: PCD with a label field")
    run.add_argument("--render", type=Path, nargs="?", const=DEFAULT_RENDER, default=None,
                     help=f"bird's-eye PNGs coloured by class and a latency plot (folder, default {DEFAULT_RENDER})")
    run.add_argument("--json", action="store_true", help="print the summary as JSON")
    _pipeline_options(run)
    run.set_defaults(run=run_stream)

    replay = commands.add_parser("replay", help="ROS 2 bag in (VelodyneScan or PointCloud2), labelled PointCloud2 bag out")
    replay.add_argument("bag", type=Path, help="input bag folder (or its .db3/.mcap)")
    replay.add_argument("--out", type=Path, required=True, help="output bag folder (must not exist)")
    replay.add_argument("--topic", default=None, help="input topic (default: the first LiDAR topic)")
    replay.add_argument("--topic-out", default="/rapid_edge/segmentation", help="the labelled clouds' topic")
    replay.add_argument("--storage", choices=("sqlite3", "mcap"), default="sqlite3", help="the output bag's storage")
    add_source_options(replay)
    replay.add_argument("--json", action="store_true", help="print the summary as JSON")
    _pipeline_options(replay)
    replay.set_defaults(run=run_replay)


#: the option fields `run` and `replay` take, by dataclass
MODEL_FLAGS = ("checkpoint", "threads", "url")
STREAM_FLAGS = ("queue_size", "drop_when_behind", "idle_timeout", "overlap")
POSTPROCESS_FLAGS = ("neighbour_vote", "point_colours")


def _pipeline_options(parser: argparse.ArgumentParser) -> None:
    # frames in, labels out: the bebr task searches embeddings (`rapid-edge bebr search`)
    parser.add_argument("--pipeline", choices=tasks_taking(FRAMES), default=DEFAULT_TASK,
                        help="the task")
    parser.add_argument("--runtime", choices=RUNTIMES, default=DEFAULT_RUNTIME,
                        help="what runs the model (auto: the fastest this machine has; each task names those it runs on)")
    parser.add_argument("--package", type=Path, default=None, help="a package from `rapid-edge export`")
    add_options(parser, ModelOptions, MODEL_FLAGS)
    add_options(parser, StreamOptions, STREAM_FLAGS)
    add_options(parser, PostprocessOptions, POSTPROCESS_FLAGS)


def pipeline_from_args(args: argparse.Namespace) -> Pipeline:
    return Pipeline(args.pipeline, args.runtime, args.package,
                    model=options_from_args(args, ModelOptions, MODEL_FLAGS),
                    stream=options_from_args(args, StreamOptions, STREAM_FLAGS),
                    postprocess=options_from_args(args, PostprocessOptions, POSTPROCESS_FLAGS))


def open_run_source(args: argparse.Namespace) -> Source:
    """The source of `rapid-edge run`: a live rig when cameras are given beside the LiDAR source."""
    cameras = dict(pair(item, "--camera", "NAME=URL") for item in args.camera)
    if cameras or args.calibration is not None:
        if not (cameras and args.calibration):
            raise ValueError("a live rig needs both --camera NAME=URL (one or more) and --calibration FILE")
        from sensors.opener import open_live_rig

        return open_live_rig(open_lidar(args), cameras, args.calibration)
    return open_lidar(args)


def open_lidar(args: argparse.Namespace) -> Source:
    """The --source; a live packet source waits for its first packets as long as --idle-timeout says (a sensor
    that starts late is waited for), unless -o idle_timeout= says otherwise."""
    from sensors.opener import UDP_SCHEMES

    options = source_options(args)
    if args.source.split("://")[0] in UDP_SCHEMES and args.idle_timeout is not None:
        options.setdefault("idle_timeout", args.idle_timeout)
    return sensors.open(args.source, **options)


def run_stream(args: argparse.Namespace) -> dict[str, Any]:
    from tqdm import tqdm

    from sdk.apps.sinks import LabelWriter, Renderer

    source = open_run_source(args)
    with pipeline_from_args(args) as pipeline, contextlib.ExitStack() as sinks:
        described = pipeline.describe()
        print(f"{pipeline.model_name} on {pipeline.runner.name} in {pipeline.runner.precision} ({pipeline.reason}); "
              f"source {args.source}")
        if pipeline.caveat:
            print(f"note: {pipeline.caveat}")
        outputs = [sinks.enter_context(LabelWriter(args.save, args.format))] if args.save else []
        renderer = Renderer(args.render, live=source.live, caveat=pipeline.caveat) if args.render else None
        if renderer:
            outputs.append(sinks.enter_context(renderer))
        results = pipeline.run(source, frames=args.frames)
        interrupted = False
        try:
            with tqdm(results, unit="frame", dynamic_ncols=True, leave=False) as bar:
                for result in bar:
                    for output in outputs:
                        output(result)
                    if source.live:  # a latency; from files frames queue by design: the frame's own time
                        bar.set_postfix(latency_ms=f"{result.timings[END_TO_END]:.0f}", refresh=False)
                    else:
                        bar.set_postfix(frame_ms=f"{result.timings[PROCESSING]:.0f}", refresh=False)
        except KeyboardInterrupt:  # Ctrl-C: every thread joined, sinks flushed, summary printed, then exit 130
            interrupted = True
        finally:
            results.close()
    summary = results.summary()
    print(summary.table())
    if renderer:
        print(f"rendered {renderer.rendered} frames into {args.render} in {renderer.render_seconds:.1f} s, after the "
              "run (drawing is not in its timings)")
    if interrupted:
        raise KeyboardInterrupt
    return {**described, "source": args.source, **summary.as_dict()}


def run_replay(args: argparse.Namespace) -> dict[str, Any]:
    from sdk.apps.replay import replay

    with pipeline_from_args(args) as pipeline:
        report = replay(args.bag, args.out, pipeline, args.topic, args.topic_out, args.storage, source_options(args))
    print(f"wrote {report['messages_written']} labelled PointCloud2 messages to {report['out']} ({report['topic_out']})")
    return report
