"""`sdk.label_files` / `rapid-edge label`: a log archive in, labels out. One unit of work per file (a pcap or
a bag is one unit of many frames; a folder is searched for them), labels written per frame as SemanticKITTI
`.label` files, PCD with a label field, or one Parquet file per unit (rows: path, frame, points, uint8
labels, optionally float16 scores). Each unit's output appears whole or not at all (written beside, then
renamed), so a rerun skips what is done and an interrupted job loses nothing; a bad file is reported in
summary.json and skipped. Locally the SDK's own streaming runtime does the work; `engine="ray"` runs the
same units on Ray Data (sdk/apps/ray.py)."""
from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from runtimes.package import MANIFEST, load_package, sha256
from runtimes.streaming import END_TO_END

from sdk.apps.label_units import (FORMATS, UNIT_SUFFIXES, OutputSpec, Unit, UnitResult, find_units, is_done, label_unit,
                                  output_of)
from sdk.segmentation.steps import STAGES
from sdk.tasks import DEFAULT_RUNTIME, DEFAULT_TASK

ENGINES = ("local", "ray")
SUMMARY = "summary.json"


def summarise(results: list[UnitResult], done_before: list[Unit], seconds: float, settings: dict) -> dict:
    """The job's summary; rates are computed from the reported (rounded) seconds so the file agrees with itself."""
    seconds = round(seconds, 3)
    timings = [t for r in results for t in r.timings]
    frames = sum(r.frames for r in results)
    stages = {stage: {"p50": round(float(np.percentile(values, 50)), 2), "p99": round(float(np.percentile(values, 99)), 2)}
              for stage in (*STAGES, END_TO_END) if (values := [t[stage] for t in timings if stage in t])}
    return {**settings, "units": len(results) + len(done_before), "already_done": [str(u.path) for u in done_before],
            "labelled": [r.path for r in results if r.error is None],
            "failed": [{"path": r.path, "reason": r.error} for r in results if r.error is not None],
            "frames": frames, "seconds": seconds, "unit_seconds": round(sum(r.seconds for r in results), 3),
            "frames_per_s": round(frames / seconds, 2) if seconds else 0.0,
            "frames_per_s_per_core": round(frames / seconds / settings["cores"], 2) if seconds else 0.0,
            "stages_ms": stages, "nodes": sorted({r.node for r in results if r.node})}


def write_summary(out: Path, summary: dict) -> Path:
    path = out / SUMMARY
    staging = out / f".{SUMMARY}.partial-{os.getpid()}"
    staging.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(staging, path)
    return path


def label_files(sources: Sequence[str | Path], out: str | Path, fmt: str = "kitti", runtime: str = DEFAULT_RUNTIME,
                package: str | Path | None = None, scores: bool = False, engine: str = "local",
                url: str | None = None, source_options: dict | None = None, **ray_options) -> dict:
    """Label every file under `sources` into `out`; returns (and writes) the summary. `url`: HOST:PORT of the
    Triton server of runtime "triton". `source_options`: what sensors.open needs for every unit (an Ouster
    capture's metadata=, a calibration=). `ray_options`: address, actors, cpus_per_actor, spread (one actor per
    node) (engine="ray")."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose {', '.join(ENGINES)}")
    if ray_options and engine != "ray":
        raise ValueError(f"{sorted(ray_options)} are options of engine='ray'")
    if engine == "ray" and runtime in ("pytorch", "triton"):
        raise ValueError(f"the Ray engine ships a model package to its actors, which run it themselves; runtime "
                         f"{runtime!r} runs on the local engine")
    from sdk.options import ModelOptions
    from sdk.pipeline import Pipeline

    model = ModelOptions(url=url)
    Pipeline(DEFAULT_TASK, runtime, package, model=model)  # refuses a bad combination before anything is labelled
    for needed, module, extra in ((fmt == "parquet", "pyarrow", "label"), (engine == "ray", "ray", "ray")):
        if needed and importlib.util.find_spec(module) is None:
            raise ValueError(f"{'Parquet output' if module == 'pyarrow' else 'the Ray engine'} needs {module}: "
                             f"pip install 'rapid-edge-sdk[{extra}]'")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    units = find_units(sources)
    if not units:
        raise ValueError(f"no files to label under {', '.join(map(str, sources))} ({', '.join(UNIT_SUFFIXES)} or bag folders)")
    spec = OutputSpec(fmt, scores, model_digest(runtime, package, url),
                      {key: str(value) for key, value in (source_options or {}).items()})
    todo = [u for u in units if not is_done(u, out, spec)]
    done_before = [u for u in units if u not in todo]
    redone = [str(u.path) for u in todo if output_of(u, out, fmt).exists()]
    settings = {"engine": engine, "format": fmt, "runtime": runtime, "scores": scores, "model_digest": spec.model,
                "caveat": caveat_of(runtime, package)}
    start = time.perf_counter()
    if engine == "ray":
        from sdk.apps.ray import label_on_ray

        results, settings["model"], settings["cores"] = label_on_ray(todo, out, spec, runtime, package, **ray_options)
    else:
        results, settings["model"], settings["cores"] = label_locally(todo, out, spec, runtime, package, model)
    summary = {**summarise(results, done_before, time.perf_counter() - start, settings), "redone": redone}
    write_summary(out, summary)
    return summary


def label_locally(units: list[Unit], out: Path, spec: OutputSpec, runtime: str, package,
                  model) -> tuple[list[UnitResult], str, int]:
    """The results, the model's folder and the cores this process may run on."""
    from sdk.pipeline import Pipeline

    with Pipeline(DEFAULT_TASK, runtime, package, model=model) as pipeline:
        return ([label_unit(pipeline, unit, out, spec) for unit in units], str(pipeline.model_path),
                len(os.sched_getaffinity(0)))


def caveat_of(runtime: str, package: str | Path | None) -> str | None:
    """The model card's warning for demonstration weights (the pytorch runtime runs the shipped weights, whose
    card is the shipped package's); None for a served model or weights without a card."""
    from sdk.shipped import shipped_package

    if runtime == "triton":
        return None
    folder = package if package is not None and runtime != "pytorch" else shipped_package(DEFAULT_TASK)
    card = load_package(folder, verify=False).manifest.model_card
    return card.caveat() if card else None


def model_digest(runtime: str, package: str | Path | None, url: str | None) -> str:
    """What labels, as the output records name it: the package's manifest digest (it holds every file's), the
    checkpoint's weights for the pytorch runtime, the server for triton."""
    from sdk.checkpoint import WEIGHTS
    from sdk.shipped import default_checkpoint, shipped_package

    if runtime == "triton":
        return f"triton://{url}"
    if runtime == "pytorch":
        return "sha256:" + sha256(default_checkpoint(DEFAULT_TASK) / WEIGHTS)
    return "sha256:" + sha256(Path(package if package is not None else shipped_package(DEFAULT_TASK)) / MANIFEST)
