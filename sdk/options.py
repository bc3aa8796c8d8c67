"""The pipeline's options and their defaults, each defined once with the sentence that explains it: the
Python API takes these dataclasses, and the CLI's flags, their help and the defaults they show are generated
from them (sdk/cli/options.py), as Ultralytics keeps one table of defaults for its API and CLI."""
from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from export.engine import PRECISIONS
from runtimes.bebr_index import SEARCH_RUNTIMES
from runtimes.manifest import FORMS

from sdk.retrieval.steps import Describe

#: the field types an option is checked against when it is made; others (an index, a callable) are not
CHECKED = {bool, int, float, str, Path, type(None)}


def option(default: Any, help: str, **cli: Any) -> Any:
    """A field with its help; `cli` holds what the command line needs beyond the type (choices, flag) and the
    smallest value a number may take (minimum)."""
    return field(default=default, metadata={"help": help, **cli})


class Checked:
    """Options checked when they are made: a wrong type or value fails naming the field, not deep inside."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for option in fields(self):
            kinds = set(typing.get_args(hints[option.name]) or (hints[option.name],))
            if not kinds <= CHECKED:
                continue
            value, where = getattr(self, option.name), f"{type(self).__name__}({option.name}=...)"
            allowed = kinds | ({int} if float in kinds else set())  # an int is a fine float
            if isinstance(value, bool) and bool not in kinds or not isinstance(value, tuple(allowed)):
                names = " or ".join(sorted("None" if k is type(None) else k.__name__ for k in kinds))
                raise ValueError(f"{where}: expected {names}, got {value!r} ({type(value).__name__})")
            if value is not None and "choices" in option.metadata and value not in option.metadata["choices"]:
                raise ValueError(f"{where}: {value!r} is not one of {', '.join(option.metadata['choices'])}")
            if value is not None and "minimum" in option.metadata and value < option.metadata["minimum"]:
                raise ValueError(f"{where}: {value!r} is below {option.metadata['minimum']}")


@dataclass(frozen=True)
class ModelOptions(Checked):
    """What runs and how it is opened, beside the runtime and package."""

    checkpoint: str | Path | None = option(None, "rapid_seg weights for the pytorch runtime or an export "
                                                 "(default: the shipped model)")
    form: str = option("split", "the form of the package made when none is given", choices=FORMS)
    precision: str = option("fp16", "the precision of the TensorRT engine built when the package has none",
                            choices=PRECISIONS)
    threads: int | None = option(None, "CPU threads of the runtime (default: the runtime's own choice)", minimum=1)
    url: str | None = option(None, "HOST:PORT of the Triton server (runtime triton)")
    allow_export: bool = option(True, "export a form the SDK does not ship, once (a vehicle node never exports "
                                      "at start-up)")
    warmup: bool = option(True, "one synthetic sweep through every stage when the pipeline opens: numba's "
                                "kernels, thread pools and first allocations cost ~1 s that would otherwise "
                                "land on the first real frame and, live, drop the next ones")


@dataclass(frozen=True)
class StreamOptions(Checked):
    """How `run` streams."""

    queue_size: int | None = option(None, "frames waiting between stages (default: 1 live, 2 files)", minimum=1)
    drop_when_behind: bool | None = option(None, "when inference falls behind, drop the oldest waiting frame "
                                                 "(default: live sources do, files never)", flag="drop")
    idle_timeout: float | None = option(10.0, "seconds without a frame before a run ends", minimum=0)
    overlap: bool | None = option(None, "each stage on a thread of its own (default: only where the source and "
                                        "every stage have a core of their own; on fewer cores overlapped stages "
                                        "compete and latency under overload grows)")


@dataclass(frozen=True)
class PostprocessOptions(Checked):
    """After the network."""

    neighbour_vote: bool = option(True, "the neighbour vote the package's manifest names after the argmax (off: "
                                        "the argmax alone, ~9 ms sooner a frame on 2 cores)", flag="vote")
    point_colours: bool = option(False, "a 'colour' stage: each point's colour from a rig's cameras (the rgb "
                                        "field of PCD files and PointCloud2 messages)", flag="colours")


@dataclass(frozen=True)
class SearchOptions(Checked):
    """bebr: what is searched and how."""

    index: Any = option(None, "the index searched: a file (rapid-edge bebr index builds one) or a BinaryIndex")
    k: int = option(10, "ids per item", minimum=1)
    describe: Describe | None = option(None, "turns each item (a frame, say) into an embedding")
    runtime: str = option("numba", "what searches: the numba kernel, or the rapid::BinarySearch node in an ONNX "
                                   "Runtime session (the native op library; the same results)",
                          choices=SEARCH_RUNTIMES, flag="search-runtime")
