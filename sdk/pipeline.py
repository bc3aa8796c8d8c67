"""`sdk.Pipeline`: a named model from frames to per-point labels on the best runtime this machine has.

    for result in sdk.Pipeline("rapid_seg").run(sensors.open("sim://hdl64e")):
        print(result.index, result.counts(), result.timings)
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

import sensors
from runtimes.auto import BACKENDS, open_runner
from runtimes.package import Package, load_package
from runtimes.runner import Runner
from runtimes.streaming import Stage, StreamExecutor, StreamSummary
from runtimes.torch_runner import TorchRunner

from .segmentation import Prepared, RapidSegSteps, Segmentation

log = logging.getLogger("sdk")

#: named pipelines: what each one does
PIPELINES = {"rapid_seg": "RAPiD-Seg LiDAR semantic segmentation (19 SemanticKITTI classes)"}
RUNTIMES = (*BACKENDS, "pytorch")
STAGES = ("preprocess", "infer", "postprocess")


class Pipeline:
    """Frames -> `Segmentation` results. `runtime`: auto (the fastest available, `reason` says why),
    tensorrt, onnxruntime, onnxruntime-cpu or pytorch (eager, from the checkpoint). `package`: a folder made
    by `rapid-edge export`; without it the shipped model is used (exported once, cached).

    Streaming options: queue_size (frames waiting between stages; default 1 live, 2 files), drop_when_behind (None: live sources
    drop the oldest waiting frame, files never do), idle_timeout (seconds without a frame before a run
    ends), overlap (True: each stage on its own thread; False: one after another beside the source; None:
    files overlap, live sources only where the source and every stage have a core of their own, since on
    fewer cores the overlapped stages compete and latency under overload grows), threads (CPU threads of the runtime),
    precision and form for the engine/package it builds. `warmup` (default True) runs one synthetic sweep through
    every stage when the pipeline opens: loading numba's kernels, starting thread pools and the runtime's first
    allocations cost ~1 s, which would otherwise land on the first real frame (and, live, drop the next ones).
    `neighbour_vote=False` gives the network's argmax alone, without the vote the package's manifest names."""

    def __init__(self, name: str = "rapid_seg", runtime: str = "auto", package: str | Path | None = None, *,
                 checkpoint: str | Path | None = None, form: str = "split", precision: str = "fp16",
                 threads: int | None = None, queue_size: int | None = None, drop_when_behind: bool | None = None,
                 idle_timeout: float | None = 10.0, overlap: bool | None = None, warmup: bool = True,
                 neighbour_vote: bool = True) -> None:
        if name not in PIPELINES:
            raise ValueError(f"no pipeline named {name!r}; available: {', '.join(PIPELINES)}")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        if package is not None and runtime == "pytorch":
            raise ValueError("runtime 'pytorch' runs a checkpoint, not a package: pass checkpoint= instead")
        self.name, self.runtime = name, runtime
        self.stream_options = {"queue_size": queue_size, "drop_when_behind": drop_when_behind,
                               "idle_timeout": idle_timeout, "overlap": overlap}
        self._executor: StreamExecutor | None = None
        self.package: Package | None = None
        if runtime == "pytorch":
            self.runner, self.steps, self.reason = _torch_runner(name, checkpoint, threads)
        else:
            self.package = load_package(package) if package is not None else _default_package(name, form, checkpoint)
            self.runner, self.reason = open_runner(self.package, runtime, engine=lambda: _engine(self.package, precision),
                                                   plugin_libraries=_plugin_libraries(self.package), threads=threads)
            self.steps = RapidSegSteps.from_manifest(self.package.manifest)
        if not neighbour_vote:
            self.steps.vote = None
        self.runner.__enter__()  # a model that cannot load fails here, not at the first frame
        log.info("%s on %s: %s", name, self.runner.name, self.reason)
        self.warmup_timings = self(warmup_sweep(self.steps.rows, self.steps.columns)).timings if warmup else None
        if self.warmup_timings:
            log.info("warm-up sweep: %s", ", ".join(f"{k} {v:.0f} ms" for k, v in self.warmup_timings.items()))

    # -- one frame ------------------------------------------------------------------------------------------
    def __call__(self, frame: sensors.Frame) -> Segmentation:
        timings, value = {}, frame
        for stage in self._stages():
            start = time.perf_counter()
            value = stage.run(value)
            timings[stage.name] = 1000 * (time.perf_counter() - start)
        value.timings = timings
        return value

    # -- streams --------------------------------------------------------------------------------------------
    def run(self, stream: Iterable[sensors.Frame] | str | Path,
            on_result: Callable[[Segmentation], object] | None = None,
            frames: int | None = None) -> Iterator[Segmentation] | StreamSummary:
        """A generator of results; with `on_result`, calls it for every result and returns the summary. A
        path or URL is opened with `sensors.open`; `frames` stops after that many."""
        if isinstance(stream, (str, Path)):
            stream = sensors.open(stream)
        results = self._results(stream, frames)
        if on_result is None:
            return results
        for result in results:
            on_result(result)
        return self.summary()

    def summary(self) -> StreamSummary | None:
        """Counts and per-stage p50/p95/p99 of the current or last run (None before any)."""
        return self._executor.summary() if self._executor else None

    def stop(self) -> None:
        """End the current run from a callback or another thread; the run's threads are joined."""
        if self._executor is not None:
            self._executor.stop("stopped by the caller")

    def _results(self, stream: Iterable[sensors.Frame], frames: int | None) -> Iterator[Segmentation]:
        self._executor = StreamExecutor(self._stages(), timestamp_of=lambda frame: frame.timestamp, **self.stream_options)
        for completed in self._executor.run(stream, limit=frames):
            completed.value.timings = completed.timings
            yield completed.value

    def _stages(self) -> list[Stage]:
        return [Stage("preprocess", self.steps.preprocess), Stage("infer", self._infer),
                Stage("postprocess", self._postprocess)]

    def _infer(self, prepared: Prepared) -> tuple[Prepared, np.ndarray]:
        return prepared, self.runner.infer(prepared.feed)["logits"]

    def _postprocess(self, inferred: tuple[Prepared, np.ndarray]) -> Segmentation:
        return self.steps.postprocess(*inferred)

    # -- lifetime -------------------------------------------------------------------------------------------
    def close(self) -> None:
        self.runner.__exit__(None, None, None)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> dict:
        """What runs where, for logs and benchmark records."""
        return {"pipeline": self.name, "runtime": self.runner.name, "reason": self.reason,
                "form": self.package.form if self.package else "split (checkpoint)",
                "inputs": [s.name for s in self.runner.inputs()]}


def warmup_sweep(rows: int, columns: int) -> sensors.Frame:
    """A sweep of rows x columns points on a 5-40 m shell, without rings: ringless frames take the numba
    kernels of ring recovery as well as projection, RAPiD and labelling, so every kernel is warmed."""
    elevation = np.radians(np.linspace(2.0, -24.8, rows))[:, None]
    azimuth = np.linspace(np.pi, -np.pi, columns, endpoint=False)[None, :]
    distance = 5.0 + 35.0 * (0.5 + 0.5 * np.sin(3 * azimuth) * np.cos(5 * elevation))
    xyz = np.stack([distance * np.cos(elevation) * np.cos(azimuth), distance * np.cos(elevation) * np.sin(azimuth),
                    distance * np.sin(elevation) * np.ones_like(azimuth)], axis=-1).reshape(-1, 3)
    intensity = np.full((len(xyz), 1), 0.3)
    return sensors.Frame(np.hstack([xyz, intensity]), timestamp=0.0, sensor="warm-up")


def _default_package(name: str, form: str, checkpoint: str | Path | None) -> Package:
    from .package_cache import default_package

    return default_package(name, form, Path(checkpoint) if checkpoint else None)


def _torch_runner(name: str, checkpoint: str | Path | None, threads: int | None) -> tuple[Runner, RapidSegSteps, str]:
    from .exporting import tensor_specs
    from .models.registry import default_checkpoint
    from .training.checkpoint import load_model

    model = load_model(Path(checkpoint) if checkpoint else default_checkpoint(name))
    inputs, outputs = tensor_specs(model, "split")
    steps = RapidSegSteps.for_model(model.config, rapid_in_graph=False)
    return TorchRunner(model, inputs, outputs, threads=threads), steps, "pytorch requested"


def _plugin_libraries(package: Package) -> tuple[Path, ...]:
    """The RAPiD plugin library for a plugin-form package, where one is built (`rapid-edge build` makes it)."""
    if not package.custom_ops:
        return ()
    from export.plugins.library import library_path

    path = library_path()
    return (path,) if path else ()


def _engine(package: Package, precision: str) -> Path:
    """The package's engine for this GPU and precision, built on first use (TensorRT only)."""
    from export.engine import build_engine, engine_key
    from runtimes.tensorrt_runner import current_target

    existing = package.folder / "engines" / f"{engine_key(current_target(), precision)}.engine"
    return existing if existing.is_file() else build_engine(package, precision)
