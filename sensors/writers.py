"""Writing frames back: KITTI .bin (+ SemanticKITTI .label) or PCD with a label field."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .frame import Frame
from .kitti import write_bin, write_label
from .labels import SEMANTIC_KITTI
from .pointcloud_files import write_pcd

FORMATS = ("kitti", "pcd")


def write_frame(frame: Frame, folder: Path, fmt: str = "kitti", labels: np.ndarray | None = None,
                stem: str | None = None, colours: np.ndarray | None = None) -> list[Path]:
    """Write one frame; `labels` (SemanticKITTI training ids) default to the frame's own; `colours` ([N, 3]
    uint8, from a rig's cameras) become PCD's rgb field (KITTI .bin has none). Returns the files."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    labels = frame.labels if labels is None else labels
    if labels is not None and frame.label_set not in (None, SEMANTIC_KITTI.name) and labels is frame.labels:
        raise ValueError(f"frame labels are {frame.label_set} ids; only SemanticKITTI ids can be written")
    stem = stem or f"{frame.index:06d}"
    folder = Path(folder)
    if fmt == "pcd":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}.pcd"
        write_pcd(path, frame, labels, colours)
        return [path]
    (folder / "velodyne").mkdir(parents=True, exist_ok=True)
    written = [folder / "velodyne" / f"{stem}.bin"]
    write_bin(written[0], frame.points)
    if labels is not None:
        (folder / "labels").mkdir(exist_ok=True)
        written.append(folder / "labels" / f"{stem}.label")
        write_label(written[1], labels)
    return written
