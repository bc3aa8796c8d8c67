"""`sdk.label_files` / `rapid-edge label`: a log archive in, labels out. One unit of work per file (a pcap or
a bag is one unit of many frames; a folder is searched for them), labels written per frame as SemanticKITTI
`.label` files, PCD with a label field, or one Parquet file per unit (rows: path, frame, points, uint8
labels, optionally float16 scores). Each unit's output appears whole or not at all (written beside, then
renamed), so a rerun skips what is done and an interrupted job loses nothing; a bad file is reported in
summary.json and skipped. Locally the SDK's own streaming runtime does the work; `engine="ray"` runs the
same units on Ray Data (sdk/ray.py)."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import sensors
from sensors.kitti import write_label
from sensors.pointcloud_files import write_pcd

FORMATS = ("label", "pcd", "parquet")
ENGINES = ("local", "ray")
SUMMARY = "summary.json"
#: what a file of each kind ends with; a folder holding metadata.yaml is a ROS 2 bag, one unit
SINGLE_FRAME_SUFFIXES = (".pcd.bin", ".bin", ".pcd", ".ply")  # one file, one sweep: one output file
UNIT_SUFFIXES = (*SINGLE_FRAME_SUFFIXES, ".pcap", ".pcapng", ".db3", ".mcap")
EXTENSIONS = {"label": ".label", "pcd": ".pcd"}
STAGE_NAMES = ("preprocess", "infer", "postprocess")


@dataclass(frozen=True)
class Unit:
    """One file to label and the name its output takes under the output folder (its path below the parent
    of the source it was found in, so the archive's layout is kept)."""

    path: Path
    key: str


@dataclass
class UnitResult:
    path: str
    frames: int = 0
    seconds: float = 0.0
    error: str | None = None
    timings: list[dict[str, float]] = field(default_factory=list)
    node: str | None = None


def find_units(sources: Sequence[str | Path]) -> list[Unit]:
    """Every file to label under the sources, in name order; a source that does not exist fails at once."""
    units = []
    for source in map(Path, sources):
        if not source.exists():
            raise FileNotFoundError(f"{source}: no such file or folder")
        root = source.parent
        if source.is_file() or (source / "metadata.yaml").is_file():
            units.append(Unit(source, str(source.relative_to(root))))
            continue
        for path in _walk(source):
            if (path / "metadata.yaml").is_file() or (path.is_file() and path.name.lower().endswith(UNIT_SUFFIXES)):
                units.append(Unit(path, str(path.relative_to(root))))
    return units


def single_frame(unit: Unit) -> bool:
    return unit.path.is_file() and unit.path.name.lower().endswith(SINGLE_FRAME_SUFFIXES)


def _walk(folder: Path, ancestors: frozenset[str] = frozenset()) -> Iterator[Path]:
    """Everything below `folder` in name order, following symbolic links (archives are often assembled from
    them) but never round a loop of them; a bag folder is yielded and not entered."""
    real = os.path.realpath(folder)
    if real in ancestors:
        return
    for path in sorted(folder.iterdir()):
        yield path
        if path.is_dir() and not (path / "metadata.yaml").is_file():
            yield from _walk(path, ancestors | {real})


def output_of(unit: Unit, out: Path, fmt: str) -> Path:
    """Parquet: <key>.parquet. A one-sweep file: its own label/PCD file, a KITTI `velodyne/` folder's labels in
    the `labels/` beside it as SemanticKITTI lays them out. A pcap or bag: a folder <key>/ of NNNNNN files."""
    if fmt == "parquet":
        return out / (unit.key + ".parquet")
    if not single_frame(unit):
        return out / unit.key
    key = Path(unit.key)
    stem = next(key.name[: -len(s)] for s in SINGLE_FRAME_SUFFIXES if key.name.lower().endswith(s))
    folder = key.parent.parent / "labels" if key.parent.name == "velodyne" and fmt == "label" else key.parent
    return out / folder / (stem + EXTENSIONS[fmt])


def write_result(result, fmt: str, target: Path) -> None:
    if fmt == "label":
        write_label(target, result.labels)
    else:
        write_pcd(target, result.frame, result.labels, result.colours)


def label_frames(pipeline, path: Path) -> Iterator:
    """The pipeline's results for every frame of one file, read where this runs (a Ray actor reads its own)."""
    with sensors.open(path) as source:
        yield from pipeline.run(source)


def label_unit(pipeline, unit: Unit, out: Path, fmt: str, scores: bool) -> UnitResult:
    """Label one unit into a staging name beside its output, then rename it into place."""
    final = output_of(unit, out, fmt)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.partial-*"):  # left by a job that was killed
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    staging = final.with_name(f".{final.name}.partial-{os.getpid()}")
    result = UnitResult(str(unit.path))
    start = time.perf_counter()
    try:
        if fmt == "parquet":
            rows = [(r.index, r.labels, r.scores, r.timings) for r in label_frames(pipeline, unit.path)]
            write_parquet(staging, str(unit.path), rows, scores)
            result.timings = [timings for *_, timings in rows]
        else:
            one_file = single_frame(unit)
            if not one_file:
                staging.mkdir()
            for r in label_frames(pipeline, unit.path):
                write_result(r, fmt, staging if one_file else staging / f"{r.index:06d}{EXTENSIONS[fmt]}")
                result.timings.append(dict(r.timings))
        if not result.timings:
            raise ValueError(f"{unit.path}: no frame could be labelled")
        result.frames = len(result.timings)
        os.replace(staging, final)
    except (ValueError, OSError) as err:  # a bad file: reported and skipped, the job goes on
        result.error = f"{type(err).__name__}: {err}"
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()
    result.seconds = time.perf_counter() - start
    return result


def write_parquet(path: Path, source: str, rows: list, with_scores: bool) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"path": pa.array([source] * len(rows), pa.string()),
               "frame": pa.array([index for index, *_ in rows], pa.int32()),
               "points": pa.array([len(labels) for _, labels, *_ in rows], pa.int32()),
               "labels": pa.array([labels.astype(np.uint8) for _, labels, *_ in rows], pa.list_(pa.uint8()))}
    if with_scores:
        columns["scores"] = pa.array([scores.astype(np.float16) for _, _, scores, _ in rows], pa.list_(pa.float16()))
    pq.write_table(pa.table(columns), path)


def read_parquet_labels(path: Path) -> dict[int, np.ndarray]:
    """frame -> labels of one unit's Parquet output (what a downstream reader does)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {int(f): np.asarray(l, dtype=np.uint8) for f, l in zip(table["frame"].to_pylist(), table["labels"].to_pylist())}


def summarise(results: list[UnitResult], done_before: list[Unit], seconds: float, settings: dict) -> dict:
    timings = [t for r in results for t in r.timings]
    frames = sum(r.frames for r in results)
    stages = {stage: {"p50": round(float(np.percentile(values, 50)), 2), "p99": round(float(np.percentile(values, 99)), 2)}
              for stage in (*STAGE_NAMES, "end_to_end") if (values := [t[stage] for t in timings if stage in t])}
    return {**settings, "units": len(results) + len(done_before), "already_done": [str(u.path) for u in done_before],
            "labelled": [r.path for r in results if r.error is None],
            "failed": [{"path": r.path, "reason": r.error} for r in results if r.error is not None],
            "frames": frames, "seconds": round(seconds, 3), "unit_seconds": round(sum(r.seconds for r in results), 3), "frames_per_s": round(frames / seconds, 2) if seconds else 0.0,
            "stages_ms": stages, "nodes": sorted({r.node for r in results if r.node})}


def write_summary(out: Path, summary: dict) -> Path:
    path = out / SUMMARY
    staging = out / f".{SUMMARY}.partial-{os.getpid()}"
    staging.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(staging, path)
    return path


def label_files(sources: Sequence[str | Path], out: str | Path, fmt: str = "label", runtime: str = "auto",
                package: str | Path | None = None, scores: bool = False, engine: str = "local",
                url: str | None = None, **ray_options) -> dict:
    """Label every file under `sources` into `out`; returns (and writes) the summary. `url`: HOST:PORT of the
    Triton server of runtime "triton". `ray_options`: address, actors, cpus_per_actor, spread (one actor per
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
    from .pipeline import ModelOptions, Pipeline

    model = ModelOptions(url=url)
    Pipeline("rapid_seg", runtime, package, model=model)  # refuses a bad combination before anything is labelled
    for needed, module, extra in ((fmt == "parquet", "pyarrow", "label"), (engine == "ray", "ray", "ray")):
        if needed and importlib.util.find_spec(module) is None:
            raise ValueError(f"{'Parquet output' if module == 'pyarrow' else 'the Ray engine'} needs {module}: "
                             f"pip install 'rapid-edge-sdk[{extra}]'")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    units = find_units(sources)
    if not units:
        raise ValueError(f"no files to label under {', '.join(map(str, sources))} ({', '.join(UNIT_SUFFIXES)} or bag folders)")
    todo = [u for u in units if not output_of(u, out, fmt).exists()]
    done_before = [u for u in units if u not in todo]
    settings = {"engine": engine, "format": fmt, "runtime": runtime, "scores": scores}
    start = time.perf_counter()
    if engine == "ray":
        from .ray import label_on_ray

        results, settings["model"] = label_on_ray(todo, out, fmt, runtime, package, scores, **ray_options)
    else:
        results, settings["model"] = label_locally(todo, out, fmt, runtime, package, scores, model)
    summary = summarise(results, done_before, time.perf_counter() - start, settings)
    write_summary(out, summary)
    return summary


def label_locally(units: list[Unit], out: Path, fmt: str, runtime: str, package, scores: bool,
                  model) -> tuple[list[UnitResult], str]:
    from .pipeline import Pipeline

    with Pipeline("rapid_seg", runtime, package, model=model) as pipeline:
        return [label_unit(pipeline, unit, out, fmt, scores) for unit in units], str(pipeline.model_path)


def unit_dict(unit: Unit) -> dict[str, str]:
    return {"path": str(unit.path), "key": unit.key}


def result_dict(result: UnitResult) -> dict:
    return {**asdict(result), "timings": json.dumps(result.timings)}
