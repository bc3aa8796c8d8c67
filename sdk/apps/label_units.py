"""The unit of a labelling job, shared by the local engine and Ray's actors: one file to label, where its
output goes, and labelling it into place whole (written beside, then renamed) or not at all. Beside each
output a record says what made it (the model's digest, format, options): a rerun skips an output made the
same way and redoes one made otherwise (another package, another format into the same folder)."""
from __future__ import annotations

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
from sensors.labels import LabelSet
from sensors.opener import BAG_SUFFIXES, PCAP_SUFFIXES, POINT_SUFFIXES
from sensors.pointcloud_files import write_pcd
from sensors.writers import FORMATS as FRAME_FORMATS
from sensors.writers import write_frame

#: kitti and pcd as `rapid-edge run` and `sensors convert` write them; parquet: one file per unit
FORMATS = (*FRAME_FORMATS, "parquet")
#: what a file of each kind ends with; a folder holding metadata.yaml is a ROS 2 bag, one unit
SINGLE_FRAME_SUFFIXES = POINT_SUFFIXES  # one file, one sweep: one output file
UNIT_SUFFIXES = (*SINGLE_FRAME_SUFFIXES, *PCAP_SUFFIXES, *BAG_SUFFIXES)
#: a one-sweep file's output: its labels alone (its points are already in a file)
EXTENSIONS = {"kitti": ".label", "pcd": ".pcd"}
#: the Parquet file's metadata keys naming the label set of its ids
LABEL_SET_KEY, CLASSES_KEY = "rapid_edge.label_set", "rapid_edge.classes"
#: the folder under the output that holds, per output, the record of what made it
RECORDS = ".rapid-edge-label"


@dataclass(frozen=True)
class OutputSpec:
    """How a job's outputs are made; an output whose record differs is made again."""

    fmt: str
    scores: bool
    #: what labels: the package's manifest digest (the checkpoint's for the pytorch runtime, the server for triton)
    model: str
    #: how each unit is opened: sensors.open's options (an Ouster capture's metadata=, a calibration=)
    source_options: dict = field(default_factory=dict)


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
    """Parquet: <key>.parquet. A one-sweep file: its own .label/PCD file, a KITTI `velodyne/` folder's labels in
    the `labels/` beside it as SemanticKITTI lays them out. A pcap or bag: a folder <key>/ written as `run --out`
    writes one (kitti: a SemanticKITTI sequence, velodyne/NNNNNN.bin + labels/NNNNNN.label; pcd: NNNNNN.pcd)."""
    if fmt == "parquet":
        return out / (unit.key + ".parquet")
    if not single_frame(unit):
        return out / unit.key
    key = Path(unit.key)
    stem = next(key.name[: -len(s)] for s in SINGLE_FRAME_SUFFIXES if key.name.lower().endswith(s))
    folder = key.parent.parent / "labels" if key.parent.name == "velodyne" and fmt == "kitti" else key.parent
    return out / folder / (stem + EXTENSIONS[fmt])


def record_of(unit: Unit, out: Path, fmt: str) -> Path:
    return out / RECORDS / (output_of(unit, out, fmt).relative_to(out).as_posix() + ".json")


def is_done(unit: Unit, out: Path, spec: OutputSpec) -> bool:
    """Its output exists and was made the way `spec` would make it."""
    record = record_of(unit, out, spec.fmt)
    return (output_of(unit, out, spec.fmt).exists() and record.is_file()
            and json.loads(record.read_text()) == asdict(spec))


def write_result(result, fmt: str, target: Path, one_file: bool) -> None:
    """One frame's output: a one-sweep file's own `target` file, or a frame of the folder `target`."""
    if not one_file:
        write_frame(result.frame, target, fmt, labels=result.labels, label_set=result.label_set, colours=result.colours)
    elif fmt == "kitti":
        write_label(target, result.labels, result.label_set)
    else:
        write_pcd(target, result.frame, result.labels, result.colours)


def label_frames(pipeline, path: Path, options: dict | None = None) -> Iterator:
    """The pipeline's results for every frame of one file, read where this runs (a Ray actor reads its own)."""
    with sensors.open(path, **(options or {})) as source:
        yield from pipeline.run(source)


def label_unit(pipeline, unit: Unit, out: Path, spec: OutputSpec) -> UnitResult:
    """Label one unit into a staging name beside its output, then rename it into place (over an output made
    otherwise) and record how it was made."""
    fmt, scores = spec.fmt, spec.scores
    final = output_of(unit, out, fmt)
    final.parent.mkdir(parents=True, exist_ok=True)
    for stale in final.parent.glob(f".{final.name}.partial-*"):  # left by a job that was killed
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    staging = final.with_name(f".{final.name}.partial-{os.getpid()}")
    result = UnitResult(str(unit.path))
    start = time.perf_counter()
    try:
        if fmt == "parquet":
            results = list(label_frames(pipeline, unit.path, spec.source_options))
            rows = [(r.index, r.labels, r.scores, r.timings) for r in results]
            write_parquet(staging, str(unit.path), rows, scores, results[0].label_set if results else None)
            result.timings = [timings for *_, timings in rows]
        else:
            one_file = single_frame(unit)
            if not one_file:
                staging.mkdir()
            for r in label_frames(pipeline, unit.path, spec.source_options):
                write_result(r, fmt, staging, one_file)
                result.timings.append(dict(r.timings))
        if not result.timings:
            raise ValueError(f"{unit.path}: no frame could be labelled")
        result.frames = len(result.timings)
        if final.is_dir():  # a bag's folder made otherwise: os.replace cannot rename onto it
            shutil.rmtree(final)
        os.replace(staging, final)
        record = record_of(unit, out, fmt)
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(asdict(spec)) + "\n")
    except (ValueError, OSError) as err:  # a bad file: reported and skipped, the job goes on
        result.error = f"{type(err).__name__}: {err}"
    finally:
        if staging.is_dir():
            shutil.rmtree(staging, ignore_errors=True)
        elif staging.exists():
            staging.unlink()
    result.seconds = time.perf_counter() - start
    return result


def write_parquet(path: Path, source: str, rows: list, with_scores: bool, label_set: LabelSet | None) -> None:
    """One row per frame; the file's metadata names the label set (and its classes) the ids belong to."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {"path": pa.array([source] * len(rows), pa.string()),
               "frame": pa.array([index for index, *_ in rows], pa.int32()),
               "points": pa.array([len(labels) for _, labels, *_ in rows], pa.int32()),
               "labels": pa.array([labels.astype(np.uint8) for _, labels, *_ in rows], pa.list_(pa.uint8()))}
    if with_scores:
        columns["scores"] = pa.array([scores.astype(np.float16) for _, _, scores, _ in rows], pa.list_(pa.float16()))
    metadata = {} if label_set is None else {LABEL_SET_KEY: label_set.name, CLASSES_KEY: json.dumps(label_set.class_names)}
    pq.write_table(pa.table(columns, metadata=metadata), path)


def read_parquet_labels(path: Path) -> dict[int, np.ndarray]:
    """frame -> labels of one unit's Parquet output (what a downstream reader does)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return {int(f): np.asarray(l, dtype=np.uint8) for f, l in zip(table["frame"].to_pylist(), table["labels"].to_pylist())}


def unit_dict(unit: Unit) -> dict[str, str]:
    return {"path": str(unit.path), "key": unit.key}


def result_dict(result: UnitResult) -> dict:
    return {**asdict(result), "timings": json.dumps(result.timings)}
