"""`sdk.Pipeline`: a named model on the best runtime this machine has, one item or a stream at a time.

    for result in sdk.Pipeline("rapid_seg").run(sensors.open("sim://hdl64e")):
        print(result.index, result.counts(), result.timings)
    for result in sdk.Pipeline("bebr", search=sdk.SearchOptions(index="docs.bebr")).run(embeddings):
        print(result.ids, result.scores)
"""
from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import sensors
from runtimes.auto import open_runner
from runtimes.host_memory import retain_freed_memory
from runtimes.numba_compilation import announce_compilation
from runtimes.package import Package, PackageError, load_package
from runtimes.runner import Runner
from runtimes.streaming import StreamExecutor, StreamSummary
from runtimes.torch_runner import TorchRunner

from sdk.options import ModelOptions, PostprocessOptions, SearchOptions, StreamOptions
from sdk.retrieval.steps import Retrieval, RetrievalSteps
from sdk.segmentation.steps import RapidSegSteps, Segmentation, warmup_sweep
from sdk.tasks import DEFAULT_RUNTIME, DEFAULT_TASK, TASKS, task_named

__all__ = ["PIPELINES", "Pipeline", "PipelineRun", "warmup_sweep"]

log = logging.getLogger("sdk")

#: the named pipelines (tasks) and what each does
PIPELINES = {name: task.summary for name, task in TASKS.items()}


class PipelineRun:
    """One pass over a stream: iterate it for results. Its summary and stop belong to this run alone, so two
    runs of one pipeline never overwrite each other's counts."""

    def __init__(self, executor: StreamExecutor, stream: Iterable, frames: int | None) -> None:
        self._executor = executor
        self._results = _completed(executor.run(stream, limit=frames))

    def __iter__(self) -> Iterator[Segmentation | Retrieval]:
        return self._results

    def __next__(self) -> Segmentation | Retrieval:
        return next(self._results)

    def summary(self) -> StreamSummary:
        """Counts and per-stage p50/p95/p99 of this run, so far or final."""
        return self._executor.summary()

    def stop(self) -> None:
        """End the run from a callback or another thread; its threads are joined."""
        self._executor.stop("stopped by the caller")

    def close(self) -> None:
        """Stop reading the stream and join every thread (what leaving a loop early should end with)."""
        self._results.close()


def _completed(completions: Iterator) -> Iterator[Segmentation | Retrieval]:
    """Each completed item's value with its timings. A function, not a method: a generator whose frame held
    its PipelineRun would be a reference cycle, so `break` out of a loop over a run would leave it to the
    garbage collector and its threads running on (past the pipeline's close); freed with the loop, it closes,
    and the executor stops and joins every thread before the loop's next statement."""
    for completed in completions:
        completed.value.timings = completed.timings
        yield completed.value


class Pipeline:
    """rapid_seg (and `segmentation`, a package of your own network): frames -> `Segmentation` results;
    bebr: embeddings [d] or batches [n, d] (or what `search.describe` turns into one) -> `Retrieval`
    results. `runtime`: auto (the fastest available; `reason` says why), tensorrt, onnxruntime,
    onnxruntime-cpu, pytorch (eager, from the checkpoint) or triton (the package's network on a Triton
    server at `model.url`; pre- and postprocessing here). `package`: a folder made by `rapid-edge export`;
    without it the package the SDK ships (split form; other forms are exported once and cached).

    As Polygraphy's runners: constructing checks the options; the package, runtime, engine and warm-up are
    acquired on `__enter__` (or first use) and released by `close()`/`__exit__`, also when opening fails."""

    def __init__(self, name: str = DEFAULT_TASK, runtime: str = DEFAULT_RUNTIME, package: str | Path | None = None, *,
                 model: ModelOptions = ModelOptions(), stream: StreamOptions = StreamOptions(),
                 postprocess: PostprocessOptions = PostprocessOptions(), search: SearchOptions = SearchOptions()) -> None:
        task = task_named(name)
        task.check_runtime(runtime)
        if package is not None and runtime == "pytorch":
            raise ValueError("runtime 'pytorch' runs a checkpoint, not a package: pass ModelOptions(checkpoint=) instead")
        if (runtime == "triton") != (model.url is not None):
            raise ValueError("runtime 'triton' and ModelOptions(url=) (HOST:PORT of the Triton server) go together")
        if package is None and not task.shipped:
            raise ValueError(f"the {name} task runs a package of your own network: export it with "
                             "`rapid-edge export --model ...` and pass package=")
        if task.needs_index and search.index is None:
            raise ValueError(f"the {name} task searches an index: pass SearchOptions(index=...) "
                             "(rapid-edge bebr index builds one)")
        self.name, self.runtime, self.package_path = name, runtime, package
        self.model, self.stream, self.postprocess, self.search = model, stream, postprocess, search
        self._opened: _Opened | None = None
        self._runs: weakref.WeakSet[PipelineRun] = weakref.WeakSet()  # closed before the runner they use

    # -- lifetime -------------------------------------------------------------------------------------------
    def open(self) -> Pipeline:
        """Acquire the package, runtime (an engine built if needed) and warm-up; idempotent."""
        if self._opened is None:
            self._opened = _open(self)
        return self

    def close(self) -> None:
        """End its runs still going (a loop left with the run still referenced), then release what the
        runtime holds; the pipeline opens again on next use."""
        for run in list(self._runs):
            run.close()
        if self._opened is not None:
            opened, self._opened = self._opened, None
            opened.runner.__exit__(None, None, None)

    def __enter__(self) -> Pipeline:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def runner(self) -> Runner:
        return self.open()._opened.runner

    @property
    def steps(self) -> RapidSegSteps | RetrievalSteps:
        return self.open()._opened.steps

    @property
    def package(self) -> Package | None:
        return self.open()._opened.package

    @property
    def model_path(self) -> Path:
        """What runs: the package's folder, or the checkpoint the pytorch runtime loads."""
        return self.open()._opened.model_path

    @property
    def reason(self) -> str:
        return self.open()._opened.reason

    @property
    def warmup_timings(self) -> dict[str, float] | None:
        return self.open()._opened.warmup_timings

    # -- one item -------------------------------------------------------------------------------------------
    def __call__(self, item) -> Segmentation | Retrieval:
        return _timed(self.steps.stages(self.runner), item)

    # -- streams --------------------------------------------------------------------------------------------
    def run(self, stream: Iterable | str | Path, frames: int | None = None) -> PipelineRun:
        """A run over `stream` (a path or URL is opened with `sensors.open`): iterate it for results, ask it
        for its summary; `frames` stops after that many."""
        if isinstance(stream, (str, Path)):
            stream = sensors.open(stream)
        executor = StreamExecutor(self.steps.stages(self.runner), timestamp_of=self.steps.timestamp_of,
                                  **asdict(self.stream))
        run = PipelineRun(executor, stream, frames)
        self._runs.add(run)
        return run

    def run_all(self, stream: Iterable | str | Path, on_result: Callable[[Segmentation | Retrieval], object],
                frames: int | None = None) -> StreamSummary:
        """Every result of a run handed to `on_result`; returns the run's summary."""
        run = self.run(stream, frames)
        try:
            for result in run:
                on_result(result)
        finally:
            run.close()
        return run.summary()

    def describe(self) -> dict:
        """What runs where, for logs and benchmark records."""
        return {"pipeline": self.name, "model": self.model_name, "caveat": self.caveat, "runtime": self.runner.name,
                "reason": self.reason,
                "form": self.package.form if self.package else "split (checkpoint)", "precision": self.runner.precision,
                "inputs": [s.name for s in self.runner.inputs()]}

    @property
    def caveat(self) -> str | None:
        """The model card's one-line warning when demonstration weights run (None otherwise)."""
        card = self.package.manifest.model_card if self.package else None
        return card.caveat() if card else None

    @property
    def model_name(self) -> str:
        """The model that runs as its package names it (your factory for a network of your own)."""
        return self.package.manifest.model.name if self.package else self.name


@dataclass
class _Opened:
    """What an open pipeline holds."""

    runner: Runner
    steps: RapidSegSteps | RetrievalSteps
    package: Package | None
    model_path: Path
    reason: str
    warmup_timings: dict[str, float] | None = None


def _open(pipeline: Pipeline) -> _Opened:
    """The package, steps and active runner, warmed up; a failure after the runner activated releases it."""
    name, runtime, options = pipeline.name, pipeline.runtime, pipeline.model
    package = None
    if runtime == "pytorch":
        runner, steps, reason, model_path = _torch_runner(name, options.checkpoint, options.threads)
    else:
        package = (load_package(pipeline.package_path) if pipeline.package_path is not None
                   else _default_package(name, options.form, options.checkpoint, options.allow_export))
        steps = TASKS[name].steps(package, pipeline.search, options.threads)
        model_path = package.folder
        if runtime == "triton":  # the package's network served by Triton; its pre/postprocessing runs here
            from runtimes.triton_runner import TritonRunner

            runner, reason = TritonRunner(options.url), f"triton requested ({options.url})"
        else:
            runner, reason = open_runner(package, runtime, engine=lambda precision: _engine(package, precision),
                                         plugin_libraries=_plugin_libraries(package), threads=options.threads,
                                         engine_precision=options.precision)
    if isinstance(steps, RapidSegSteps):
        steps.vote = steps.vote if pipeline.postprocess.neighbour_vote else None
        steps.colours = pipeline.postprocess.point_colours
    retain_freed_memory()  # each frame's arrays reuse the last frame's pages
    runner.__enter__()  # a model that cannot load fails here, not at the first item
    log.info("%s on %s: %s", name, runner.name, reason)
    opened = _Opened(runner, steps, package, model_path, reason)
    try:
        if options.warmup:
            with announce_compilation(log):
                opened.warmup_timings = _timed(*steps.warmup(runner)).timings
            if isinstance(steps, RapidSegSteps):  # its warm-up feed passed: every frame's is made alike
                steps.check_inputs = False
            log.info("warm-up: %s", ", ".join(f"{k} {v:.0f} ms" for k, v in opened.warmup_timings.items()))
    except BaseException:  # a warm-up that fails releases what the runner holds before the error goes up
        runner.__exit__(None, None, None)
        raise
    return opened


def _timed(stages, item):
    timings, value = {}, item
    for stage in stages:
        start = time.perf_counter()
        value = stage.run(value)
        timings[stage.name] = 1000 * (time.perf_counter() - start)
    value.timings = timings
    return value


def _default_package(name: str, form: str, checkpoint: str | Path | None, allow_export: bool) -> Package:
    """The package the SDK ships for `name` when it is in `form`; else the shipped weights (or `checkpoint`)
    exported once and cached, where `allow_export` permits."""
    from sdk.shipped import SHIPPED_PACKAGES, shipped_package

    if name in SHIPPED_PACKAGES and checkpoint is None:
        shipped = load_package(shipped_package(name))
        if shipped.form == form:
            return shipped
    if not allow_export:
        raise PackageError(f"{name}: no {form}-form package is shipped or given and exporting is not allowed here; "
                           f"make one with `rapid-edge export {name} --form {form} --out DIR` and pass it as the package")
    from sdk.segmentation.package_cache import default_package

    return default_package(name, form, Path(checkpoint) if checkpoint else None)


def _torch_runner(name: str, checkpoint: str | Path | None,
                  threads: int | None) -> tuple[Runner, RapidSegSteps, str, Path]:
    from sdk.segmentation.exporting import tensor_specs
    from sdk.shipped import default_checkpoint
    from sdk.segmentation.training.checkpoint import load_model

    path = Path(checkpoint) if checkpoint else default_checkpoint(name)
    model = load_model(path)
    inputs, outputs = tensor_specs(model, "split")
    steps = RapidSegSteps.for_model(model, rapid_in_graph=False)
    return TorchRunner(model, inputs, outputs, threads=threads), steps, "pytorch requested", path


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
