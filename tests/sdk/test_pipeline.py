"""sdk.Pipeline with the shipped model: file streams in order with nothing dropped, agreement with the PyTorch
reference, failing frames skipped, live overload dropping, other sensors, bad arguments, and the CLI."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import sensors
from conftest import data_file
from sdk import ModelOptions, PostprocessOptions, SearchOptions, StreamOptions
from runtimes.package import PackageError

SCAN = "semantickitti/sequences/00"
PCAP = "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"
VLP16_PCAP = "velodyne/vlp16/veloview_vlp-16-test-90deg-1-50-frames.pcap"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One package cache for the module: the default model is exported into it once."""
    folder = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("RAPID_EDGE_CACHE")
    os.environ["RAPID_EDGE_CACHE"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["RAPID_EDGE_CACHE"]
    else:
        os.environ["RAPID_EDGE_CACHE"] = previous


@pytest.fixture(scope="module")
def pipeline(cache):
    from sdk import Pipeline

    with Pipeline("rapid_seg", runtime="onnxruntime-cpu") as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
def scan():
    return next(iter(sensors.open(data_file(SCAN))))


def test_a_file_stream_gives_every_frame_in_order(pipeline, scan):
    frames = [scan, *sensors.open("sim://hdl64e?seed=7&frames=2")]
    run = pipeline.run(frames)
    results = list(run)
    assert [len(r.labels) for r in results] == [len(f) for f in frames]
    assert [r.frame for r in results] == frames
    summary = run.summary()
    assert (summary.frames_in, summary.frames_out, summary.dropped, summary.failed) == (3, 3, 0, {})
    for result in results:
        assert result.labels.dtype == np.int32 and 1 <= result.labels.min() and result.labels.max() <= 19
        # the argmax's probability is at least 1/19; a point the neighbour vote relabels keeps its new label's
        assert ((result.scores > 0) & (result.scores <= 1 + 1e-6)).all()
        assert (result.scores > 1 / 19 - 1e-6).mean() > 0.95
        assert {"decode", "preprocess", "infer", "postprocess", "end_to_end"} <= set(result.timings)


def test_one_frame_matches_the_stream_and_the_pytorch_reference(pipeline, scan):
    from sdk import Pipeline

    single = pipeline(scan)
    streamed = next(iter(pipeline.run([scan])))
    np.testing.assert_array_equal(single.labels, streamed.labels)
    with Pipeline("rapid_seg", runtime="pytorch") as reference:
        expected = reference(scan)
    assert (single.labels == expected.labels).mean() >= 0.999
    np.testing.assert_allclose(single.scores, expected.scores, atol=1e-3)


def test_a_frame_that_fails_is_skipped_and_counted(pipeline, scan):
    broken = sensors.Frame(points=np.full((10, 4), np.nan, np.float32), timestamp=0.0, sensor="HDL-64E")
    run = pipeline.run([scan, broken, scan])
    assert len(list(run)) == 2
    assert run.summary().failed == {"preprocess: ValueError": 1}


def test_a_live_source_under_overload_drops_and_counts(pipeline, scan, monkeypatch):
    """The runner holds the first sweep until a live source has given all 40 (the overload made by events,
    not by machine speed): the freshest sweep is labelled next, the 38 between are dropped and counted."""
    holding, released, first_taken = threading.Event(), threading.Event(), threading.Event()
    infer = pipeline.runner.infer

    def held_infer(feed, check_inputs=True):
        if not holding.is_set():
            holding.set()
            assert released.wait(timeout=60)
        else:
            assert first_taken.wait(timeout=60)
        return infer(feed, check_inputs)

    class LiveSweeps:
        live = True

        def __iter__(self):
            for index in range(40):
                yield dataclasses.replace(scan, index=index, timestamp=time.time())
                if index == 0:
                    assert holding.wait(timeout=60)
            released.set()

    monkeypatch.setattr(pipeline.runner, "infer", held_infer)
    monkeypatch.setattr(pipeline, "stream", StreamOptions(overlap=False))  # one worker: the hold covers every stage
    indices = []
    run = pipeline.run(LiveSweeps())
    for result in run:
        indices.append(result.index)
        first_taken.set()
    summary = run.summary()
    assert indices == [0, 39] and summary.latency_from == "sensor timestamp"
    assert (summary.frames_in, summary.frames_out, summary.dropped) == (40, 2, 38)


def test_a_vlp16_frame_is_labelled_point_for_point(pipeline):
    frame = next(iter(sensors.open(data_file(VLP16_PCAP))))
    result = pipeline(frame)
    assert len(result.labels) == len(frame) and (result.labels > 0).all()


def test_bad_arguments_fail_at_once(cache, tmp_path):
    from sdk import Pipeline

    with pytest.raises(ValueError, match="no task named 'faiss' \\(choose one of rapid_seg, segmentation, bebr\\)"):
        Pipeline("faiss")
    with pytest.raises(ValueError, match="searches an index: pass SearchOptions"):
        Pipeline("bebr")
    with pytest.raises(ValueError, match="no runtime named 'cuda'"):
        Pipeline(runtime="cuda")
    with pytest.raises(PackageError, match="not a model package"):
        with Pipeline(package=tmp_path):  # the package is opened on enter
            pass


def test_replay_writes_a_labelled_bag(pipeline, tmp_path):
    from rosbags.rosbag2 import Reader

    from sdk.apps.replay import replay
    from sensors.ros_messages import pointcloud2_to_frame
    from sensors.rosbag import typestore

    bag = data_file("ros2/velodyne_vlp16/1673400471837873222")
    report = replay(bag, tmp_path / "out", pipeline)
    frames = list(sensors.open(bag))
    assert report["messages_written"] == len(frames) == 5
    store = typestore()
    with Reader(tmp_path / "out") as reader:
        messages = [store.deserialize_cdr(raw, c.msgtype) for c, _, raw in reader.messages()]
    assert [f.name for f in messages[0].fields] == ["x", "y", "z", "intensity", "label"]
    for message, frame in zip(messages, frames):
        decoded = pointcloud2_to_frame(message)
        assert message.header.frame_id == "velodyne" and len(decoded) == len(frame) == message.width
        assert abs(decoded.timestamp - frame.timestamp) < 1e-6
        assert message.data.size == message.width * message.point_step
    with pytest.raises(FileExistsError):
        replay(bag, tmp_path / "out", pipeline)


def test_replay_takes_source_options(tmp_path, capsys):
    """`replay -o KEY=VALUE` reaches the bag's decoder as `run -o` does (here max_range= drops far returns);
    an option the bag's source does not take fails at once, naming it."""
    from rosbags.rosbag2 import Reader

    from sdk.cli.main import main
    from sensors.ros_messages import pointcloud2_to_frame
    from sensors.rosbag import typestore

    bag = data_file("ros2/velodyne_vlp16/1673400471837873222")
    assert main(["replay", str(bag), "--out", str(tmp_path / "near"), "--runtime", "onnxruntime-cpu",
                 "-o", "max_range=5", "--json"]) == 0
    with Reader(tmp_path / "near") as reader:
        near = [pointcloud2_to_frame(typestore().deserialize_cdr(raw, c.msgtype)) for c, _, raw in reader.messages()]
    whole = list(sensors.open(bag))
    assert len(near) == len(whole) and sum(map(len, near)) < sum(map(len, whole))
    assert max(np.linalg.norm(frame.xyz, axis=1).max() for frame in near) <= 5.0 + 1e-3
    capsys.readouterr()
    assert main(["replay", str(bag), "--out", str(tmp_path / "bad"), "--runtime", "onnxruntime-cpu",
                 "-o", "lens=wide"]) == 2
    assert "lens" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def rapid_edge(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sdk.cli.main", *args], capture_output=True, text=True,
                          env={**os.environ, "RAPID_EDGE_CACHE": str(cache)}, timeout=600)


def test_run_command_saves_labels_and_renders(cache, tmp_path):
    done = rapid_edge("run", "--source", str(data_file(SCAN)), "--runtime", "onnxruntime-cpu", "--save",
                      str(tmp_path / "labels"), "--format", "pcd", "--render", str(tmp_path / "render"), "--json", cache=cache)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout[done.stdout.index("{"):])
    assert summary["frames_out"] == 1 and summary["runtime"].startswith("onnxruntime")
    assert summary["precision"] == "fp32"
    assert (tmp_path / "labels" / "000000.pcd").stat().st_size > 124668 * 4
    assert {p.name for p in (tmp_path / "render").iterdir()} == {"frame_000000.png", "bev_000000.png", "latency.png",
                                                                  "timings.json"}


def test_an_onnxruntime_runner_runs_in_its_package_precision():
    from runtimes.onnxruntime_runner import OnnxRuntimeRunner
    from runtimes.package import load_package
    from sdk.shipped import shipped_package

    package = load_package(shipped_package("rapid_seg"))
    int8 = dataclasses.replace(package, manifest=dataclasses.replace(package.manifest, precision="int8"))
    assert OnnxRuntimeRunner(package).precision == "fp32" and OnnxRuntimeRunner(int8).precision == "int8"


def test_run_command_rejects_a_missing_source(cache):
    done = rapid_edge("run", "--source", "/no/such/scan.bin", cache=cache)
    assert done.returncode == 2 and "no such file" in done.stderr


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_a_summary(cache, tmp_path):
    render = tmp_path / "render"
    # Ctrl-C as in a terminal: a suite started in the background (`pytest &`) runs with SIGINT ignored, which
    # a child inherits and which Python then leaves ignored
    process = subprocess.Popen([sys.executable, "-m", "sdk.cli.main", "run", "--source", "sim://hdl64e?frames=1000",
                                "--runtime", "onnxruntime-cpu", "--render", str(render)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "RAPID_EDGE_CACHE": str(cache)},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    # two frames kept for drawing: the first is then complete (a Ctrl-C may land in the middle of keeping one)
    while len(list(render.glob(".pending/*.pickle"))) < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "frames in" in out and "interrupted" in err
    assert (render / "latency.png").is_file() and (render / "bev_000000.png").is_file()  # the sink was flushed


WARMED_KERNELS = ("sdk.segmentation.range_image:_columns", "sdk.segmentation.range_image:_scatter_nearest", "sdk.segmentation.range_image:_firing_order_rings",
                  "runtimes.ops.rapid_numba:_select", "runtimes.ops.rapid_numba:_distance4_sorted",
                  "runtimes.ops.rapid_numba:_normalise", "sdk.segmentation.steps:_argmax_and_shift",
                  "sdk.segmentation.steps:_top_probability", "sdk.segmentation.steps:_rescore_relabelled",
                  "sdk.segmentation.neighbour_vote:_vote")


@pytest.mark.parametrize("warmup", [True, False])
def test_opening_warms_every_numba_kernel_before_the_first_frame(cache, warmup):
    """In a fresh process, an opened pipeline holds a compiled (or cache-loaded) form of every numba kernel
    a frame needs only when it warms up; the warm-up's own timings are kept for the log."""
    script = f"""
import importlib, json
from sdk import ModelOptions, Pipeline
pipeline = Pipeline("rapid_seg", runtime="onnxruntime-cpu", model=ModelOptions(warmup={warmup})).open()
ready = {{}}
for name in {WARMED_KERNELS!r}:
    module, kernel = name.split(":")
    ready[name] = bool(getattr(importlib.import_module(module), kernel).signatures)
print(json.dumps({{"ready": ready, "timings": pipeline.warmup_timings}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if warmup:
        assert all(report["ready"].values()), report["ready"]
        assert set(report["timings"]) == {"preprocess", "infer", "postprocess"}
    else:
        assert not any(report["ready"].values()) and report["timings"] is None


def test_leaving_a_loop_over_a_run_stops_its_threads_at_once():
    """`break` out of `for result in pipeline.run(source)` ends the run there: its threads are joined before
    the next statement (they ran on past the pipeline's close, labelling with a closed runner); a run still
    referenced is ended by the pipeline's close; the process exits without nanobind's dump of the Velodyne
    decoder's leaked instances."""
    script = f"""
import threading
import sensors
from sdk import Pipeline
with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
    for result in pipeline.run(sensors.open({str(data_file(PCAP))!r})):
        break
    print("left:", sorted(t.name for t in threading.enumerate() if t.name.startswith("stream-")))
    kept = pipeline.run(sensors.open({str(data_file(PCAP))!r}))
    for result in kept:  # the run is still referenced after the loop: closing the pipeline ends it
        break
print("left:", sorted(t.name for t in threading.enumerate() if t.name.startswith("stream-")))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-2:] == ["left: []", "left: []"]
    assert "leaked" not in done.stderr and "closed" not in done.stderr and "skipped" not in done.stderr


def test_the_warmup_sweep_takes_the_ringless_path():
    from sdk.pipeline import warmup_sweep

    sweep = warmup_sweep(64, 2048)
    assert sweep.ring is None and len(sweep) == 64 * 2048 and np.isfinite(sweep.points).all()
    distance = np.linalg.norm(sweep.xyz, axis=1)
    assert 4.9 < distance.min() and distance.max() < 40.1


def test_a_warm_up_that_fails_releases_the_runner(monkeypatch):
    from sdk import Pipeline
    from sdk.segmentation.steps import RapidSegSteps

    released = []
    original_exit = __import__("runtimes.onnxruntime_runner", fromlist=["OnnxRuntimeRunner"]).OnnxRuntimeRunner.__exit__

    def broken_warmup(self, runner):
        raise RuntimeError("warm-up failed")

    def recording_exit(self, *exc):
        released.append(self.name)
        return original_exit(self, *exc)

    monkeypatch.setattr(RapidSegSteps, "warmup", broken_warmup)
    monkeypatch.setattr("runtimes.onnxruntime_runner.OnnxRuntimeRunner.__exit__", recording_exit)
    with pytest.raises(RuntimeError, match="warm-up failed"):
        with Pipeline("rapid_seg", "onnxruntime-cpu"):
            pass
    assert released == ["onnxruntime[CPUExecutionProvider]"]


def test_two_runs_keep_their_own_summaries_and_run_all_returns_its_own(pipeline, scan):
    broken = sensors.Frame(points=np.full((10, 4), np.nan, np.float32), timestamp=0.0, sensor="HDL-64E")
    first, second = pipeline.run([scan, scan]), pipeline.run([scan, broken])
    assert len(list(first)) == 2 and len(list(second)) == 1
    assert (first.summary().frames_out, first.summary().failed) == (2, {})
    assert (second.summary().frames_out, second.summary().failed) == (1, {"preprocess: ValueError": 1})
    seen = []
    summary = pipeline.run_all([scan], seen.append)
    assert len(seen) == 1 and summary.frames_out == 1 and seen[0].labels.shape == (len(scan),)


def test_resources_are_taken_on_first_use_and_released_on_close(cache, scan, monkeypatch):
    from runtimes.onnxruntime_runner import OnnxRuntimeRunner
    from sdk import ModelOptions, Pipeline

    entered, exited = [], []
    original_enter, original_exit = OnnxRuntimeRunner.__enter__, OnnxRuntimeRunner.__exit__
    monkeypatch.setattr(OnnxRuntimeRunner, "__enter__", lambda self: entered.append(self) or original_enter(self))
    monkeypatch.setattr(OnnxRuntimeRunner, "__exit__", lambda self, *exc: exited.append(self) or original_exit(self, *exc))
    pipeline = Pipeline("rapid_seg", "onnxruntime-cpu", model=ModelOptions(warmup=False))
    assert entered == []  # constructing checks options only
    first = pipeline(scan)  # first use opens
    assert len(entered) == 1 and exited == [] and pipeline.runner.active
    pipeline.close()
    assert exited == entered
    pipeline.close()  # closing twice releases nothing twice
    assert len(exited) == 1
    with pipeline:  # opens again on enter, releases on exit
        np.testing.assert_array_equal(pipeline(scan).labels, first.labels)
    assert len(entered) == len(exited) == 2


@pytest.mark.parametrize("command", ["run", "replay"])
def test_frame_commands_offer_only_the_pipelines_that_take_frames(command, capsys):
    """`run --pipeline bebr` had no way to give an index and always failed: the bebr pipeline searches
    embeddings (`rapid-edge bebr search`), so the frame commands no longer offer it."""
    from sdk.cli.main import main

    arguments = ["run"] if command == "run" else ["replay", "bag", "--out", "out"]
    with pytest.raises(SystemExit) as exit_info:
        main([*arguments, "--pipeline", "bebr"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--pipeline: invalid choice: 'bebr'" in error and "rapid_seg" in error and "segmentation" in error


@pytest.mark.parametrize("arguments, message", [
    (("rapid-seg",), "no task named 'rapid-seg'; did you mean 'rapid_seg'?"),
    (("rapid_seg", "onnxruntime_cpu"), "no runtime named 'onnxruntime_cpu'; did you mean 'onnxruntime-cpu'?"),
    (("bebr", "pytorch"), "the bebr task does not run on runtime 'pytorch': it runs a binarizer package; choose one of "
                          "auto, tensorrt, onnxruntime, onnxruntime-cpu"),
    (("segmentation", "pytorch"), "the segmentation task does not run on runtime 'pytorch'"),
    (("segmentation",), "the segmentation task runs a package of your own network"),
])
def test_a_task_offers_only_what_it_supports_and_names_the_near_miss(arguments, message):
    from sdk import Pipeline, SearchOptions

    with pytest.raises(ValueError, match=re.escape(message)):
        Pipeline(*arguments, search=SearchOptions(index="docs.bebr"))


def test_the_cli_flags_are_the_option_dataclasses(capsys):
    """`run`'s flags, their defaults and help come from ModelOptions, StreamOptions and PostprocessOptions:
    without flags the pipeline gets the dataclasses' defaults, and each flag reaches its field."""
    from sdk import ModelOptions, PostprocessOptions, StreamOptions
    from sdk.cli.main import build_parser
    from sdk.cli.run import pipeline_from_args

    parser = build_parser()
    default = pipeline_from_args(parser.parse_args(["run"]))
    assert (default.model, default.stream, default.postprocess) == (ModelOptions(), StreamOptions(), PostprocessOptions())
    given = pipeline_from_args(parser.parse_args(["run", "--threads", "3", "--queue-size", "4", "--drop", "never",
                                                  "--idle-timeout", "2.5", "--overlap", "always", "--no-vote", "--colours"]))
    assert given.model == ModelOptions(threads=3)
    assert given.stream == StreamOptions(queue_size=4, drop_when_behind=False, idle_timeout=2.5, overlap=True)
    assert given.postprocess == PostprocessOptions(neighbour_vote=False, point_colours=True)
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "seconds without a frame before a run ends (default: 10.0)" in shown
    assert "--drop {auto,always,never}" in shown and "(default: auto)" in shown


@pytest.mark.parametrize("command", ["run", "replay"])
def test_json_output_is_json_alone(command, tmp_path, capsys):
    """With --json the header, the table and the `wrote` line go to stderr: stdout parses as one JSON document."""
    from sdk.cli.main import main

    if command == "run":
        arguments = ["run", "--source", str(data_file(SCAN)), "--frames", "1"]
    else:
        arguments = ["replay", str(data_file("ros2/velodyne_vlp16/1673400471837873222")), "--out", str(tmp_path / "out")]
    assert main([*arguments, "--runtime", "onnxruntime-cpu", "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["runtime"].startswith("onnxruntime") if command == "run" else report["messages_written"] == 5
    assert ("rapid_seg on" if command == "run" else "wrote ") in captured.err


@pytest.mark.parametrize("make, message", [
    (lambda: ModelOptions(threads="2"), "ModelOptions(threads=...): expected None or int, got '2'"),
    (lambda: ModelOptions(precision="fp8"), "ModelOptions(precision=...): 'fp8' is not one of"),
    (lambda: StreamOptions(queue_size=0), "StreamOptions(queue_size=...): 0 is below 1"),
    (lambda: PostprocessOptions(neighbour_vote="off"), "expected bool, got 'off'"),
    (lambda: SearchOptions(k=2.5), "SearchOptions(k=...): expected int, got 2.5"),
])
def test_options_are_checked_when_made(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_a_segmentation_pipeline_refuses_an_item_that_is_not_a_frame():
    from sdk import ModelOptions, Pipeline

    with Pipeline("rapid_seg", "onnxruntime-cpu", model=ModelOptions(warmup=False)) as pipeline:
        with pytest.raises(ValueError, match="takes sensors.Frame items .* not ndarray"):
            pipeline(np.zeros((10, 4), np.float32))


def test_the_cli_lists_its_commands_without_loading_pytorch():
    """`rapid-edge --help` cost seconds of PyTorch import on every call; commands import it when they run."""
    code = "import sys; from sdk.cli.main import build_parser; build_parser(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("source, given, waits", [
    ("udp://127.0.0.1:2368", [], 30.0),                            # the run's --idle-timeout covers the first packets
    ("udp://127.0.0.1:2368", ["-o", "idle_timeout=3"], "3"),       # the source's own option wins
    ("velodyne://127.0.0.1:2368", [], 30.0),
    ("sim://hdl64e", [], None),                                    # not a packet source: nothing added
])
def test_a_live_packet_source_waits_for_its_first_packets_as_long_as_the_run(monkeypatch, source, given, waits):
    from sdk.cli import run
    from sdk.cli.main import build_parser

    opened = {}
    monkeypatch.setattr(run.sensors, "open", lambda target, **options: opened.update(options))
    run.open_run_source(build_parser().parse_args(["run", "--source", source, "--idle-timeout", "30", *given]))
    assert opened.get("idle_timeout") == waits
