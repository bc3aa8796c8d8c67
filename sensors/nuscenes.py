"""nuScenes LIDAR_TOP sweeps (`.pcd.bin`: x, y, z, intensity 0..255, ring) and lidarseg labels (uint8 per point).

nuScenes stores sweeps in its LIDAR_TOP frame (x right, y forward, z up); frames are rotated on reading
into the Frame's convention (x forward, y left, z up), and `FRAME_FROM_LIDAR_TOP` lets calibrations follow."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np

from .file_sequence import FileSequenceSource, sorted_files
from .frame import Frame
from .kitti import read_bin
from .labels import NUSCENES
from .source import SourceError, require_file

NUSCENES_RATE_HZ = 20.0
NUSCENES_RINGS = 32
#: LIDAR_TOP (x right, y forward) -> Frame (x forward, y left): x' = y, y' = -x
FRAME_FROM_LIDAR_TOP = np.array([[0.0, 1.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def read_nuscenes_frame(path: Path, labels_path: Path | None = None) -> Frame:
    records = read_bin(path, floats_per_point=5)
    ring = records[:, 4]
    if len(ring) and (np.nanmin(ring) < 0 or np.nanmax(ring) >= NUSCENES_RINGS):
        raise SourceError(f"{path}: ring index outside 0..{NUSCENES_RINGS - 1}; not a nuScenes LIDAR_TOP sweep")
    points = records[:, :4].copy()
    with np.errstate(invalid="ignore"):  # NaN points stay NaN (counted by the source), without a warning
        points[:, :3] = points[:, :3] @ FRAME_FROM_LIDAR_TOP[:3, :3].T.astype(np.float32)
    points[:, 3] /= 255.0  # intensity to [0, 1] like every other source
    labels = None
    if labels_path is not None:
        size = require_file(labels_path, "lidarseg label file").stat().st_size
        if size != len(points):
            raise SourceError(f"{labels_path}: {size} labels, the sweep {path.name} has {len(points)} points")
        labels = NUSCENES.to_train(np.fromfile(labels_path, dtype=np.uint8).astype(np.int64))
    # nuScenes' ring 0 is the lowest beam, as Frame.ring is
    return Frame(points=points, timestamp=timestamp_from_name(path), sensor="HDL-32E",
                 ring=np.nan_to_num(ring).astype(np.int16), labels=labels,
                 label_set=NUSCENES.name if labels is not None else None, meta={"dataset": "nuscenes"})


def timestamp_from_name(path: Path) -> float:
    """nuScenes names sweeps and images <log>__<channel>__<microseconds>.<suffix> (0.0 when a name is not so)."""
    stem = path.name.split(".", 1)[0]
    tail = stem.rsplit("__", 1)[-1]
    return int(tail) / 1e6 if tail.isdigit() else 0.0


def open_nuscenes(path: Path, labels: str | Path | None = None) -> FileSequenceSource:
    """One `.pcd.bin` (optionally with its lidarseg `labels=` file) or a folder of them."""
    if path.is_file():
        files = [path]
    else:
        files = sorted_files(path, ".pcd.bin")
        if labels is not None:
            raise SourceError("labels= names one lidarseg file and goes with a single .pcd.bin")
    read = partial(read_nuscenes_frame, labels_path=Path(labels) if labels is not None else None)
    return FileSequenceSource(files, read, "HDL-32E", NUSCENES_RATE_HZ, None)
