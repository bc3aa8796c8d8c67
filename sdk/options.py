"""The pipeline's options and their defaults, each defined once with the sentence that explains it: the
Python API takes these dataclasses, and the CLI's flags, their help and the defaults they show are generated
from them (sdk/cli/options.py), as Ultralytics keeps one table of defaults for its API and CLI."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from export.engine import PRECISIONS
from runtimes.bebr_index import SEARCH_RUNTIMES
from runtimes.manifest import FORMS

if TYPE_CHECKING:
    from sdk.retrieval.steps import Describe


def option(default: Any, help: str, **cli: Any) -> Any:
    """A field with its help; `cli` holds what the command line needs beyond the type (choices, flag)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True)
class ModelOptions:
    """What runs and how it is opened, beside the runtime and package."""

    checkpoint: str | Path | None = option(None, "rapid_seg weights for the pytorch runtime or an export "
                                                 "(default: the shipped model)")
    form: str = option("split", "the form of the package made when none is given", choices=FORMS)
    precision: str = option("fp16", "the precision of the TensorRT engine built when the package has none",
                            choices=PRECISIONS)
    threads: int | None = option(None, "CPU threads of the runtime (default: the runtime's own choice)")
    url: str | None = option(None, "HOST:PORT of the Triton server (runtime triton)")
    allow_export: bool = option(True, "export a form the SDK does not ship, once (a vehicle node never exports "
                                      "at start-up)")
    warmup: bool = option(True, "one synthetic sweep through every stage when the pipeline opens: numba's "
                                "kernels, thread pools and first allocations cost ~1 s that would otherwise "
                                "land on the first real frame and, live, drop the next ones")


@dataclass(frozen=True)
class StreamOptions:
    """How `run` streams."""

    queue_size: int | None = option(None, "frames waiting between stages (default: 1 live, 2 files)")
    drop_when_behind: bool | None = option(None, "when inference falls behind, drop the oldest waiting frame "
                                                 "(default: live sources do, files never)", flag="drop")
    idle_timeout: float | None = option(10.0, "seconds without a frame before a run ends")
    overlap: bool | None = option(None, "each stage on a thread of its own (default: only where the source and "
                                        "every stage have a core of their own; on fewer cores overlapped stages "
                                        "compete and latency under overload grows)")


@dataclass(frozen=True)
class PostprocessOptions:
    """After the network."""

    neighbour_vote: bool = option(True, "the neighbour vote the package's manifest names after the argmax (off: "
                                        "the argmax alone, ~9 ms sooner a frame on 2 cores)", flag="vote")
    point_colours: bool = option(False, "a 'colour' stage: each point's colour from a rig's cameras (the rgb "
                                        "field of PCD files and PointCloud2 messages)", flag="colours")


@dataclass(frozen=True)
class SearchOptions:
    """bebr: what is searched and how."""

    index: Any = option(None, "the index searched: a file (rapid-edge bebr index builds one) or a BinaryIndex")
    k: int = option(10, "ids per item")
    describe: Describe | None = option(None, "turns each item (a frame, say) into an embedding")
    runtime: str = option("numba", "what searches: the numba kernel, or the rapid::BinarySearch node in an ONNX "
                                   "Runtime session (the native op library; the same results)",
                          choices=SEARCH_RUNTIMES, flag="search-runtime")
