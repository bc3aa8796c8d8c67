"""`sdk.Pipeline`: a named model on the best runtime this machine has, one item or a stream at a time.

    for result in sdk.Pipeline("rapid_seg").run(sensors.open("sim://hdl64e")):
        print(result.index, result.counts(), result.timings)
    for result in sdk.Pipeline("bebr", index="docs.bebr").run(embeddings):
        print(result.ids, result.scores)
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import sensors
from runtimes.auto import BACKENDS, open_runner
from runtimes.package import Package, PackageError, load_package
from runtimes.runner import Runner
from runtimes.streaming import StreamExecutor, StreamSummary
from runtimes.torch_runner import TorchRunner

from .retrieval import Describe, Retrieval, RetrievalSteps, open_index
from .segmentation import RapidSegSteps, Segmentation, warmup_sweep

__all__ = ["PIPELINES", "RUNTIMES", "STAGES", "Pipeline", "warmup_sweep"]

log = logging.getLogger("sdk")

#: named pipelines: what each one does
PIPELINES = {"rapid_seg": "RAPiD-Seg LiDAR semantic segmentation (19 SemanticKITTI classes)",
             "segmentation": "LiDAR semantic segmentation by a package of your own network (rapid-edge export --model)",
             "bebr": "BEBR binary-code retrieval: embeddings (or frame descriptors) -> top-k ids from an index"}
RUNTIMES = (*BACKENDS, "pytorch", "triton")
STAGES = ("preprocess", "infer", "postprocess")


class Pipeline:
    """rapid_seg: frames -> `Segmentation` results; bebr: embeddings [d] or batches [n, d] (or whatever
    `describe` turns into one) -> `Retrieval` results, searched in `index` (a file or a BinaryIndex), `k`
    per item; `package` defaults to the binarizer shipped with the SDK. `runtime`: auto (the fastest available, `reason` says why),
    tensorrt, onnxruntime, onnxruntime-cpu, pytorch (eager, from the checkpoint) or triton (the package's network
    on a Triton server at `url`, from `rapid-edge export --triton`; pre- and postprocessing here). `package`: a folder made
    by `rapid-edge export`; without it the package the SDK ships (split form; other forms are exported once and cached).

    Streaming options: queue_size (frames waiting between stages; default 1 live, 2 files), drop_when_behind (None: live sources
    drop the oldest waiting frame, files never do), idle_timeout (seconds without a frame before a run
    ends), overlap (True: each stage on its own thread; False: one after another beside the source; None:
    overlap only where the source and every stage have a core of their own, since on fewer cores the
    overlapped stages compete, files go no faster and latency under overload grows), threads (CPU threads of the runtime),
    precision and form for the engine/package it builds. `warmup` (default True) runs one synthetic sweep through
    every stage when the pipeline opens: loading numba's kernels, starting thread pools and the runtime's first
    allocations cost ~1 s, which would otherwise land on the first real frame (and, live, drop the next ones).
    `neighbour_vote=False` gives the network's argmax alone, without the vote the package's manifest names.
    `allow_export=False` refuses to export a form the SDK does not ship (a vehicle node never exports at start-up).
    `point_colours=True` adds a "colour" stage: each point's colour from a rig's camera images (`result.colours`)."""

    def __init__(self, name: str = "rapid_seg", runtime: str = "auto", package: str | Path | None = None, *,
                 index=None, k: int = 10, describe: Describe | None = None,
                 checkpoint: str | Path | None = None, form: str = "split", precision: str = "fp16",
                 threads: int | None = None, queue_size: int | None = None, drop_when_behind: bool | None = None,
                 idle_timeout: float | None = 10.0, overlap: bool | None = None, warmup: bool = True,
                 neighbour_vote: bool = True, allow_export: bool = True, point_colours: bool = False,
                 url: str | None = None) -> None:
        if name not in PIPELINES:
            raise ValueError(f"no pipeline named {name!r}; available: {', '.join(PIPELINES)}")
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        if package is not None and runtime == "pytorch":
            raise ValueError("runtime 'pytorch' runs a checkpoint, not a package: pass checkpoint= instead")
        if (runtime == "triton") != (url is not None):
            raise ValueError("runtime 'triton' and url= (HOST:PORT of the Triton server) go together")
        if name == "segmentation" and (package is None or runtime == "pytorch"):
            raise ValueError("the segmentation pipeline runs a package of your own network: export it with "
                             "`rapid-edge export --model ...` and pass package= (runtime 'pytorch' runs rapid_seg checkpoints)")
        self.name, self.runtime = name, runtime
        self.stream_options = {"queue_size": queue_size, "drop_when_behind": drop_when_behind,
                               "idle_timeout": idle_timeout, "overlap": overlap}
        self._executor: StreamExecutor | None = None
        self.package: Package | None = None
        if name == "bebr":
            if runtime == "pytorch":
                raise ValueError("the bebr pipeline runs a binarizer package: choose an ONNX Runtime or TensorRT runtime")
            if index is None:
                raise ValueError("the bebr pipeline searches an index: pass index= (rapid-edge bebr index builds one)")
            self.package = load_package(package) if package is not None else _default_package(name, form, checkpoint, allow_export)
            self.steps = RetrievalSteps(self.package, open_index(index), k, describe, threads)
            self.runner, self.reason = open_runner(self.package, runtime, engine=lambda: _engine(self.package, precision),
                                                   threads=threads)
        elif runtime == "pytorch":
            self.runner, self.steps, self.reason = _torch_runner(name, checkpoint, threads)
        else:
            self.package = load_package(package) if package is not None else _default_package(name, form, checkpoint, allow_export)
            if runtime == "triton":  # the package's network served by Triton; its pre/postprocessing runs here
                from runtimes.triton_runner import TritonRunner

                self.runner, self.reason = TritonRunner(url), f"triton requested ({url})"
            else:
                self.runner, self.reason = open_runner(self.package, runtime, engine=lambda: _engine(self.package, precision),
                                                       plugin_libraries=_plugin_libraries(self.package), threads=threads)
            self.steps = RapidSegSteps.from_manifest(self.package.manifest)
        if isinstance(self.steps, RapidSegSteps):
            self.steps.vote = self.steps.vote if neighbour_vote else None
            self.steps.colours = point_colours
        self.runner.__enter__()  # a model that cannot load fails here, not at the first item
        log.info("%s on %s: %s", name, self.runner.name, self.reason)
        try:
            self.warmup_timings = self._timed(*self.steps.warmup(self.runner)).timings if warmup else None
        except BaseException:  # a warm-up that fails releases what the runner holds before the error goes up
            self.runner.__exit__(None, None, None)
            raise
        if self.warmup_timings:
            log.info("warm-up: %s", ", ".join(f"{k} {v:.0f} ms" for k, v in self.warmup_timings.items()))

    # -- one item -------------------------------------------------------------------------------------------
    def __call__(self, item) -> Segmentation | Retrieval:
        return self._timed(self.steps.stages(self.runner), item)

    @staticmethod
    def _timed(stages, item):
        timings, value = {}, item
        for stage in stages:
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

    def _results(self, stream: Iterable, frames: int | None) -> Iterator[Segmentation | Retrieval]:
        self._executor = StreamExecutor(self.steps.stages(self.runner), timestamp_of=self.steps.timestamp_of,
                                        **self.stream_options)
        for completed in self._executor.run(stream, limit=frames):
            completed.value.timings = completed.timings
            yield completed.value

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


def _default_package(name: str, form: str, checkpoint: str | Path | None, allow_export: bool) -> Package:
    """The package the SDK ships for `name` when it is in `form`; else the shipped weights (or `checkpoint`)
    exported once and cached, where `allow_export` permits."""
    from .models.registry import SHIPPED_PACKAGES, shipped_package

    if name in SHIPPED_PACKAGES and checkpoint is None:
        shipped = load_package(shipped_package(name))
        if shipped.form == form:
            return shipped
    if not allow_export:
        raise PackageError(f"{name}: no {form}-form package is shipped or given and exporting is not allowed here; "
                           f"make one with `rapid-edge export {name} --form {form} --out DIR` and pass it as the package")
    from .package_cache import default_package

    return default_package(name, form, Path(checkpoint) if checkpoint else None)


def _torch_runner(name: str, checkpoint: str | Path | None, threads: int | None) -> tuple[Runner, RapidSegSteps, str]:
    from .exporting import tensor_specs
    from .models.registry import default_checkpoint
    from .training.checkpoint import load_model

    model = load_model(Path(checkpoint) if checkpoint else default_checkpoint(name))
    inputs, outputs = tensor_specs(model, "split")
    steps = RapidSegSteps.for_model(model, rapid_in_graph=False)
    return TorchRunner(model, inputs, outputs, threads=threads), steps, "pytorch requested"


def _plugin_libraries(package: Package) -> tuple[Path, ...]:
    """For a plugin-form package: the library the user names ($RAPID_EDGE_PLUGIN_LIBRARY), else the one the
    package carries (`rapid-edge build` puts it there), checked against the manifest now; never a search path."""
    if not package.custom_ops:
        return ()
    from export.engine import PLUGIN_IN_PACKAGE
    from export.plugins.library import user_library

    path = user_library() or package.listed_file(PLUGIN_IN_PACKAGE)
    return (path,) if path else ()


def _engine(package: Package, precision: str) -> Path:
    """The package's engine for this GPU and precision (listed in its manifest, checked now), else built (TensorRT only)."""
    from export.engine import build_engine, engine_in_package
    from runtimes.tensorrt_runner import current_target

    return engine_in_package(package, current_target(), precision) or build_engine(package, precision)
