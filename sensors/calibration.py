"""Cameras beside the LiDAR: intrinsics (pinhole, with OpenCV's distortion coefficients where a format gives
them), image size and the transform from the Frame's coordinates (x forward, y left, z up) to the camera's
(x right, y down, z forward). Readers for the calibration files of nuScenes and KITTI samples
(`calibration.json`), KITTI's `calib/*.txt` and ROS 2 CameraInfo plus a static transform. A bad calibration
fails at once naming the file and the problem."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .source import SourceError, require_file


class CalibrationError(SourceError):
    """A calibration cannot be used; the message names the file (or message) and the problem."""


class Projection(NamedTuple):
    """Where points land in one camera: pixel (u right, v down) [N, 2], depth along the optical axis [N],
    and `visible` [N]: in front of the camera and inside the image (`pixels, depth, visible = camera.project(xyz)`)."""

    pixels: np.ndarray
    depth: np.ndarray
    visible: np.ndarray


@dataclass(frozen=True)
class Camera:
    name: str
    intrinsics: np.ndarray          # K [3, 3]
    width: int
    height: int
    frame_to_camera: np.ndarray     # [4, 4]: the Frame's coordinates -> the camera's
    distortion: tuple[float, ...] = ()  # OpenCV's (k1, k2, p1, p2[, k3, ...]); empty: an ideal pinhole
    min_depth: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "intrinsics", _matrix(self.intrinsics, (3, 3), f"camera {self.name}: intrinsics"))
        object.__setattr__(self, "frame_to_camera", _transform(self.frame_to_camera, f"camera {self.name}: frame_to_camera"))
        if self.intrinsics[0, 0] <= 0 or self.intrinsics[1, 1] <= 0 or self.intrinsics[2, 2] != 1:
            raise CalibrationError(f"camera {self.name}: intrinsics need fx, fy > 0 and K[2, 2] = 1, got {self.intrinsics.tolist()}")
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise CalibrationError(f"camera {self.name}: image size {self.width} x {self.height} is not positive")
        if len(self.distortion) not in (0, 4, 5, 8, 12, 14):
            raise CalibrationError(f"camera {self.name}: {len(self.distortion)} distortion coefficients "
                                   "(OpenCV takes 4, 5, 8, 12 or 14)")

    def camera_points(self, xyz: np.ndarray) -> np.ndarray:
        """[N, 3] in the camera's coordinates."""
        xyz = np.asarray(xyz, dtype=np.float64)
        return xyz @ self.frame_to_camera[:3, :3].T + self.frame_to_camera[:3, 3]

    def project(self, xyz: np.ndarray) -> Projection:
        """[N, 3] points in the Frame's coordinates -> pixels, depth and the visible mask."""
        camera = self.camera_points(xyz)
        depth = camera[:, 2]
        in_front = np.isfinite(camera).all(axis=1) & (depth > self.min_depth)
        pixels = np.full((len(camera), 2), np.nan)
        if self.distortion and in_front.any():
            import cv2

            projected, _ = cv2.projectPoints(camera[in_front].reshape(-1, 1, 3), np.zeros(3), np.zeros(3),
                                             self.intrinsics, np.asarray(self.distortion, dtype=np.float64))
            pixels[in_front] = projected.reshape(-1, 2)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                normalised = camera[in_front, :2] / depth[in_front, None]
            pixels[in_front] = normalised @ self.intrinsics[:2, :2].T + self.intrinsics[:2, 2]
        inside = in_front & (pixels[:, 0] >= 0) & (pixels[:, 0] < self.width) & (pixels[:, 1] >= 0) & (pixels[:, 1] < self.height)
        return Projection(pixels, depth, inside)


@dataclass
class RigCalibration:
    """The cameras of a rig, where its sweep(s) and images are, and each image's time (None: unknown)."""

    source: Path
    cameras: dict[str, Camera]
    lidar: Path | None = None
    lidar_timestamp: float | None = None
    images: dict[str, Path] = field(default_factory=dict)
    image_timestamps: dict[str, float | None] = field(default_factory=dict)


def _matrix(values: Any, shape: tuple[int, int], what: str) -> np.ndarray:
    try:
        matrix = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise CalibrationError(f"{what}: not a numeric matrix ({err})") from None
    if matrix.shape != shape:
        raise CalibrationError(f"{what}: shape {matrix.shape}, expected {shape}")
    if not np.isfinite(matrix).all():
        raise CalibrationError(f"{what}: holds NaN or infinity")
    return matrix


def _transform(values: Any, what: str) -> np.ndarray:
    """A rigid 4 x 4 transform: invertible, bottom row 0 0 0 1, rotation orthonormal to 1e-3."""
    matrix = _matrix(values, (4, 4), what)
    if not np.allclose(matrix[3], [0, 0, 0, 1]):
        raise CalibrationError(f"{what}: bottom row {matrix[3].tolist()}, expected [0, 0, 0, 1]")
    rotation = matrix[:3, :3]
    if abs(np.linalg.det(rotation)) < 1e-6:
        raise CalibrationError(f"{what}: not invertible (rotation determinant {np.linalg.det(rotation):.3g})")
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-3):
        raise CalibrationError(f"{what}: the rotation part is not orthonormal")
    return matrix


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"named twice: {', '.join(repeated)}")
    return dict(pairs)


def read_calibration_json(path: str | Path, sized_by: dict[str, Path] | None = None) -> RigCalibration:
    """A rig's `calibration.json`, `{"cameras": {name: {...}}, "lidar": {"file": ...}}`, per camera either the
    SDK's own entry (`intrinsic_3x3`, `frame_to_camera_4x4` in the Frame's x-forward convention, `width`,
    `height`, optional OpenCV `distortion`), nuScenes-style (`intrinsic_3x3` and `lidar_to_camera_4x4` in
    nuScenes' LIDAR_TOP frame, rotated here into the Frame's) or KITTI-style (`projection_4x4` = P2 and
    `lidar_to_camera_4x4` = R0_rect x Tr_velo_to_cam). Image sizes not in the file are read from each camera's
    image (`sized_by[name]` where given: a folder's first image of that camera, else the entry's own)."""
    path = require_file(path, "calibration file")
    try:
        document = json.loads(path.read_text(), object_pairs_hook=_unique_keys)
    except ValueError as err:
        raise CalibrationError(f"{path}: {err}") from None
    entries = document.get("cameras") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise CalibrationError(f"{path}: no `cameras` mapping; not a rig calibration")
    lidar = document.get("lidar") or {}
    cameras, images, stamps = {}, {}, {}
    for name, entry in entries.items():
        where = f"{path}: camera {name}"
        try:
            if "frame_to_camera_4x4" in entry:  # the SDK's own: already in the Frame's convention
                intrinsics, frame_to_camera = entry["intrinsic_3x3"], entry["frame_to_camera_4x4"]
            elif "intrinsic_3x3" in entry:  # nuScenes: extrinsics in LIDAR_TOP's frame
                from .nuscenes import FRAME_FROM_LIDAR_TOP

                intrinsics = entry["intrinsic_3x3"]
                frame_to_camera = _transform(entry["lidar_to_camera_4x4"], f"{where}: lidar_to_camera_4x4") @ np.linalg.inv(FRAME_FROM_LIDAR_TOP)
            elif "projection_4x4" in entry:  # KITTI: P2 = K [I | t], rectified camera 0 -> camera 2
                intrinsics, offset = _split_projection(_matrix(entry["projection_4x4"], (4, 4), f"{where}: projection_4x4")[:3], where)
                frame_to_camera = offset @ _transform(entry["lidar_to_camera_4x4"], f"{where}: lidar_to_camera_4x4")
            else:
                raise CalibrationError(f"{where}: neither intrinsic_3x3 (nuScenes) nor projection_4x4 (KITTI)")
            image = path.parent / entry["image"] if entry.get("image") else None
            width, height = entry.get("width"), entry.get("height")
            sizing = (sized_by or {}).get(name, image)
            if (width is None or height is None) and sizing is not None:
                height, width = _image_size(sizing)
            if width is None or height is None:
                raise CalibrationError(f"{where}: no image size (width/height) and no image to read it from")
            cameras[name] = Camera(name, intrinsics, int(width), int(height), frame_to_camera, tuple(entry.get("distortion", ())))
        except KeyError as err:
            raise CalibrationError(f"{where}: missing {err}") from None
        except CalibrationError as err:
            raise CalibrationError(str(err) if str(err).startswith(str(path)) else f"{path}: {err}") from None
        if image is not None and image.is_file():
            images[name] = image
        stamps[name] = entry.get("timestamp")
    lidar_path = path.parent / lidar["file"] if lidar.get("file") else None
    return RigCalibration(path, cameras, lidar_path, lidar.get("timestamp"), images, stamps)


def _split_projection(projection: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """KITTI's P = K [I | t] -> K and the 4 x 4 translation t = K^-1 P[:, 3]."""
    intrinsics = projection[:, :3]
    if abs(intrinsics[0, 1]) > 1e-9 or abs(intrinsics[1, 0]) > 1e-9 or np.any(intrinsics[2] != [0, 0, 1]):
        raise CalibrationError(f"{where}: the projection's left 3 x 3 is not an upper-triangular K with K[2] = [0, 0, 1]")
    offset = np.eye(4)
    offset[:3, 3] = np.linalg.solve(intrinsics, projection[:, 3])
    return intrinsics, offset


def _image_size(image: Path) -> tuple[int, int]:
    import cv2

    require_file(image, "camera image")
    loaded = cv2.imread(str(image), cv2.IMREAD_UNCHANGED)
    if loaded is None:
        raise CalibrationError(f"{image}: OpenCV cannot read this image")
    return loaded.shape[0], loaded.shape[1]


def read_kitti_calib(path: str | Path, camera: str = "P2", width: int = 1242, height: int = 375) -> Camera:
    """KITTI's `calib/NNNNNN.txt` (P0..P3, R0_rect, Tr_velo_to_cam): the named camera (default P2, the left
    colour camera). KITTI images are about 1242 x 375; pass the exact size when it differs."""
    path = require_file(path, "KITTI calibration file")
    rows: dict[str, np.ndarray] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        key, _, values = line.partition(":")
        try:
            rows[key.strip()] = np.array([float(v) for v in values.split()])
        except ValueError:
            raise CalibrationError(f"{path}:{number}: {key.strip()} holds a value that is not a number") from None
    where = f"{path}"
    for key, count in ((camera, 12), ("R0_rect", 9), ("Tr_velo_to_cam", 12)):
        if key not in rows:
            raise CalibrationError(f"{where}: no {key} line")
        if rows[key].size != count:
            raise CalibrationError(f"{where}: {key} has {rows[key].size} values, expected {count}")
    intrinsics, offset = _split_projection(rows[camera].reshape(3, 4), f"{where}: {camera}")
    rectify = np.eye(4)
    rectify[:3, :3] = rows["R0_rect"].reshape(3, 3)
    velo_to_cam = np.vstack([rows["Tr_velo_to_cam"].reshape(3, 4), [0, 0, 0, 1]])
    try:
        return Camera(camera, intrinsics, width, height, offset @ _transform(rectify @ velo_to_cam, f"{where}: R0_rect x Tr_velo_to_cam"))
    except CalibrationError as err:
        raise CalibrationError(f"{where}: {err}") from None


def camera_from_camera_info(info: Any, frame_to_camera: np.ndarray, name: str | None = None) -> Camera:
    """A ROS 2 `sensor_msgs/CameraInfo` (k, d, width, height, distortion_model) and the static transform
    from the LiDAR frame to the camera's optical frame (4 x 4, as tf2 gives it)."""
    name = name or getattr(info.header, "frame_id", "") or "camera"
    model = getattr(info, "distortion_model", "") or "plumb_bob"
    if model not in ("plumb_bob", "rational_polynomial"):
        raise CalibrationError(f"CameraInfo {name}: distortion model {model!r} (supported: plumb_bob, rational_polynomial)")
    distortion = tuple(float(v) for v in info.d)
    if not any(distortion):
        distortion = ()
    return Camera(name, np.asarray(info.k, dtype=np.float64).reshape(3, 3), int(info.width), int(info.height),
                  frame_to_camera, distortion)
