"""PCD files (pypcd4) and PLY files (open3d), as single files or folders of them; PCD writing with labels."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .file_sequence import FileSequenceSource, sorted_files
from .frame import Frame
from .point_fields import IntensityScale, frame_from_fields
from .source import SourceError, require_file, require_module


def read_pcd_frame(path: Path, intensity: IntensityScale | None = None) -> Frame:
    from pypcd4 import PointCloud

    require_file(path, "PCD file")
    try:
        cloud = PointCloud.from_path(path)
    except Exception as err:  # pypcd4 raises several types for a damaged header or body
        raise SourceError(f"{path}: not a readable PCD file ({err})") from err
    if len(cloud.fields) != len(set(cloud.fields)):
        raise SourceError(f"{path}: repeated field names {cloud.fields}")
    data = cloud.pc_data
    try:
        return frame_from_fields({name: data[name] for name in cloud.fields}, 0.0, sensor="pcd", intensity=intensity)
    except ValueError as err:
        raise SourceError(f"{path}: {err}") from err


def read_ply_frame(path: Path, intensity: IntensityScale | None = None) -> Frame:
    require_file(path, "PLY file")
    require_module("open3d", f"{path}: reading PLY", "train")
    import open3d as o3d

    cloud = o3d.t.io.read_point_cloud(str(path))
    if "positions" not in cloud.point or len(cloud.point.positions) == 0:
        raise SourceError(f"{path}: no vertices could be read from this PLY file")
    xyz = cloud.point.positions.numpy()
    fields = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    for key in cloud.point:
        if key != "positions" and key not in ("colors", "normals"):
            fields[key] = cloud.point[key].numpy().reshape(len(xyz), -1)[:, 0]
    return frame_from_fields(fields, 0.0, sensor="ply", intensity=intensity)


def open_point_files(path: Path, suffix: str, intensity_scale: float | None = None) -> FileSequenceSource:
    """One file or a folder of them; the folder is one stream, so its files share one intensity scale."""
    read = read_pcd_frame if suffix == ".pcd" else read_ply_frame
    files = [path] if path.is_file() else sorted_files(path, suffix)
    scale = IntensityScale(intensity_scale)
    return FileSequenceSource(files, lambda file: read(file, scale), sensor=suffix.lstrip("."), rate_hz=None)


def write_pcd(path: Path, frame: Frame, labels: np.ndarray | None = None, colours: np.ndarray | None = None) -> None:
    """Binary PCD with x y z intensity [ring] [label] [rgb] fields; labels default to the frame's own, and
    `colours` ([N, 3] uint8) are packed into one float as PCL and RViz read them."""
    from pypcd4 import PointCloud

    labels = frame.labels if labels is None else labels
    arrays = [frame.points[:, 0], frame.points[:, 1], frame.points[:, 2], frame.points[:, 3]]
    names = ["x", "y", "z", "intensity"]
    types: list[type] = [np.float32] * 4
    if frame.ring is not None:
        arrays.append(frame.ring.astype(np.uint16))
        names.append("ring")
        types.append(np.uint16)
    if labels is not None:
        arrays.append(np.asarray(labels).astype(np.uint32))
        names.append("label")
        types.append(np.uint32)
    if colours is not None:
        arrays.append(pack_rgb(colours))
        names.append("rgb")
        types.append(np.float32)
    PointCloud.from_points(arrays, names, types).save(path)


def pack_rgb(colours: np.ndarray) -> np.ndarray:
    """[N, 3] uint8 -> [N] float32 holding 0x00RRGGBB, PCL's and RViz's rgb field."""
    rgb = np.asarray(colours, dtype=np.uint32)
    return ((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).view(np.float32)
