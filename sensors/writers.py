"""Writing frames back: KITTI .bin (+ a .label of the labels' own dataset ids) or PCD with a label field."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .frame import Frame
from .kitti import write_bin, write_label
from .labels import LABEL_SETS, LabelSet
from .pointcloud_files import write_pcd

FORMATS = ("kitti", "pcd")


def write_frame(frame: Frame, folder: Path, fmt: str = "kitti", labels: np.ndarray | None = None,
                label_set: LabelSet | None = None, stem: str | None = None,
                colours: np.ndarray | None = None) -> list[Path]:
    """Write one frame; `labels` (training ids of `label_set`, which must come with them) default to the
    frame's own; the .label file holds the set's raw dataset ids, PCD's label field the training ids. `colours`
    ([N, 3] uint8, from a rig's cameras) become PCD's rgb field (KITTI .bin has none). Returns the files."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose {', '.join(FORMATS)}")
    if labels is None and frame.labels is not None:
        labels, label_set = frame.labels, LABEL_SETS[frame.label_set]
    if labels is not None and label_set is None:
        raise ValueError("labels need their label set: the ids alone do not say which dataset's classes they are")
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
        write_label(written[1], labels, label_set)
    return written
