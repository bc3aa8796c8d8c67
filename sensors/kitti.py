"""KITTI / SemanticKITTI scans: float32 x, y, z, remission per point; uint32 labels (semantic id in the low 16 bits)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .file_sequence import FileSequenceSource, sorted_files
from .frame import Frame
from .labels import SEMANTIC_KITTI, LabelSet
from .source import SourceError, require_file

KITTI_RATE_HZ = 10.0


def read_bin(path: Path, floats_per_point: int = 4) -> np.ndarray:
    """Raw float32 records, refusing files whose size is not a whole number of records."""
    record = 4 * floats_per_point
    size = require_file(path, "point-cloud file").stat().st_size
    if size % record:
        raise SourceError(f"{path}: size {size} B is not a multiple of {record} B ({floats_per_point} float32 per point)")
    return np.fromfile(path, dtype="<f4").reshape(-1, floats_per_point)


def read_label_file(path: Path, expected_points: int) -> np.ndarray:
    """SemanticKITTI training ids of a `.label` file, checked against the scan's point count."""
    size = require_file(path, "label file").stat().st_size
    if size % 4 or size // 4 != expected_points:
        raise SourceError(f"{path}: {size} B holds {size / 4:g} labels, the scan has {expected_points} points")
    raw = np.fromfile(path, dtype="<u4") & 0xFFFF
    return SEMANTIC_KITTI.to_train(raw)


def label_path_for(scan: Path) -> Path | None:
    """SemanticKITTI keeps labels in ../labels/<stem>.label; a sibling <stem>.label is accepted too."""
    for candidate in (scan.parent.parent / "labels" / f"{scan.stem}.label", scan.with_suffix(".label")):
        if candidate.exists():
            return candidate
    return None


def read_kitti_frame(path: Path) -> Frame:
    points = read_bin(path)
    labels_path = label_path_for(path)
    labels = None if labels_path is None else read_label_file(labels_path, len(points))
    return Frame(points=points, timestamp=0.0, sensor="HDL-64E", labels=labels,
                 label_set=SEMANTIC_KITTI.name if labels is not None else None)


def open_kitti(path: Path) -> FileSequenceSource:
    """A single `.bin`, a `velodyne/` folder, or a sequence folder holding `velodyne/` (and `labels/`, `times.txt`)."""
    if path.is_file():
        files = [path]
        times = None
    else:
        folder = path / "velodyne" if (path / "velodyne").is_dir() else path
        files = sorted_files(folder, ".bin")
        if not files:
            raise SourceError(f"{path}: no KITTI .bin scans found")
        times = _read_times(folder.parent / "times.txt", len(files))
    return FileSequenceSource(files, read_kitti_frame, "HDL-64E", KITTI_RATE_HZ, times)


def _read_times(path: Path, count: int) -> list[float] | None:
    if not path.is_file():
        return None
    times = np.loadtxt(path, dtype=np.float64, ndmin=1)
    return list(times[:count]) if len(times) >= count else None


def write_bin(path: Path, points: np.ndarray) -> None:
    np.ascontiguousarray(points[:, :4], dtype="<f4").tofile(path)


def write_label(path: Path, train_ids: np.ndarray, label_set: LabelSet) -> None:
    """SemanticKITTI's .label layout (uint32 per point) holding `label_set`'s raw dataset ids."""
    label_set.to_raw(np.asarray(train_ids)).astype("<u4").tofile(path)
