"""The registry of tasks, in the spirit of Ultralytics' task map: each names what it takes, the runtimes it
runs on, whether a package ships for it and how its steps are built from a package's manifest. `Pipeline`,
the CLI and `label_files` offer only what a task supports and refuse the rest at once, with a close match
when a name is misspelt."""
from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from runtimes.auto import BACKENDS
from runtimes.errors import RuntimeUnavailable
from runtimes.package import Package
from sensors.source import require_module

from sdk.options import SearchOptions
from sdk.retrieval.steps import RetrievalSteps, open_index
from sdk.segmentation.steps import RapidSegSteps

#: every runtime a pipeline can name; each task runs on its own subset
RUNTIMES = (*BACKENDS, "pytorch", "triton")
#: what `Pipeline()`, `rapid-edge run` and `label` run when not told: the shipped model on the fastest runtime
DEFAULT_TASK, DEFAULT_RUNTIME = "rapid_seg", "auto"
#: the runtimes whose library is an extra of the install: (module, the extra that brings it)
RUNTIME_LIBRARIES = {"pytorch": ("torch", "export"), "triton": ("tritonclient", "triton")}
FRAMES, EMBEDDINGS = "frames", "embeddings"

Steps = RapidSegSteps | RetrievalSteps


@dataclass(frozen=True)
class Task:
    name: str
    summary: str
    #: what its items are: frames (run, replay, label, the ROS 2 node) or embeddings (bebr search)
    takes: str
    runtimes: tuple[str, ...]
    #: the SDK ships a package (or weights exported once) for it; otherwise `package=` is required
    shipped: bool
    #: how its steps are built from an opened package and the search options (bebr) and threads
    steps: Callable[[Package, SearchOptions, int | None], Steps]
    #: it searches an index, which SearchOptions(index=) must give
    needs_index: bool = False

    def check_runtime(self, runtime: str) -> None:
        check_choice(runtime, RUNTIMES, "runtime")
        if runtime not in self.runtimes:
            raise ValueError(f"the {self.name} task does not run on runtime {runtime!r}: "
                             f"{RUNTIME_REFUSALS.get((self.name, runtime), '')}choose one of {', '.join(self.runtimes)}")
        if runtime in RUNTIME_LIBRARIES:
            module, extra = RUNTIME_LIBRARIES[runtime]
            require_module(module, f"runtime {runtime!r}", extra, RuntimeUnavailable)


def _segmentation_steps(package: Package, search: SearchOptions, threads: int | None) -> Steps:
    return RapidSegSteps.from_manifest(package.manifest, package.folder)


def _retrieval_steps(package: Package, search: SearchOptions, threads: int | None) -> Steps:
    return RetrievalSteps(package, open_index(search.index), search.k, search.describe, threads, search.runtime)


TASKS = {task.name: task for task in (
    Task("rapid_seg", "RAPiD-Seg LiDAR semantic segmentation (19 SemanticKITTI classes)", FRAMES, RUNTIMES, True,
         _segmentation_steps),
    Task("segmentation", "LiDAR semantic segmentation by a package of your own network (rapid-edge export --model)",
         FRAMES, (*BACKENDS, "triton"), False, _segmentation_steps),
    Task("bebr", "BEBR binary-code retrieval: embeddings (or frame descriptors) -> top-k ids from an index",
         EMBEDDINGS, BACKENDS, True, _retrieval_steps, needs_index=True),
)}
#: why a task refuses a runtime that others run on
RUNTIME_REFUSALS = {
    ("segmentation", "pytorch"): "it runs a package of your own network (runtime 'pytorch' runs rapid_seg "
                                 "checkpoints); ",
    ("bebr", "pytorch"): "it runs a binarizer package; ",
    ("bebr", "triton"): "Triton repositories are written for segmentation packages; ",
}


def task_named(name: str) -> Task:
    check_choice(name, tuple(TASKS), "task")
    return TASKS[name]


def tasks_taking(kind: str) -> tuple[str, ...]:
    return tuple(name for name, task in TASKS.items() if task.takes == kind)


def check_choice(value: str, choices: Sequence[str], what: str) -> None:
    """Refuse a value that is not one of `choices`, naming the nearest one when it looks like a typo."""
    if value in choices:
        return
    close = difflib.get_close_matches(str(value), list(choices), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"no {what} named {value!r}{hint} (choose one of {', '.join(choices)})")
