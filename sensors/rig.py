"""A calibrated LiDAR + cameras rig: each sweep with the camera images nearest in time (`frame.images`) and
the cameras that see it (`frame.cameras`). From files (a sample's `calibration.json`, a nuScenes-style
folder, a KITTI-style folder) and live (any LiDAR source plus camera sources, e.g. `camera://N`). An image
that is missing or too far from the sweep in time is counted per camera and left out; it never holds the
LiDAR back."""
from __future__ import annotations

import bisect
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calibration import Camera, CalibrationError, RigCalibration, read_calibration_json, read_kitti_calib
from .camera import IMAGE_SUFFIXES
from .frame import Frame
from .nuscenes import timestamp_from_name
from .source import Source, SourceError

#: how far from the sweep (seconds) an image may be taken; nuScenes' 12 Hz cameras sit within 43 ms of a sweep
DEFAULT_TOLERANCE_S = 0.1
LIVE_HISTORY = 8  # images kept per live camera: enough to find the latest one not newer than a sweep
#: opens a sweep file of any kind (sensors.open_source, handed in by the opener, which itself opens rigs)
OpenLidar = Callable[[Path], Source]


@dataclass
class RigSample:
    """One sweep file and, per camera, its calibration and candidate images [(timestamp or None, path)]."""

    lidar: Path
    cameras: dict[str, Camera]
    images: dict[str, list[tuple[float | None, Path]]]


def read_rgb(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"{path}: OpenCV cannot read this image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def nearest(candidates: list[tuple[float | None, Path]], timestamp: float, tolerance: float) -> Path | None:
    """The candidate nearest in time within `tolerance`; one untimed candidate is the sample's own image."""
    if len(candidates) == 1 and candidates[0][0] is None:
        return candidates[0][1]
    timed = [(abs(t - timestamp), path) for t, path in candidates if t is not None]
    best = min(timed, default=None, key=lambda pair: pair[0])
    return best[1] if best is not None and best[0] <= tolerance else None


class FileRig(Source):
    """Sweeps from files with the images nearest in time; a missing or far image is counted, the sweep kept."""

    live = False

    def __init__(self, samples: list[RigSample], open_lidar: OpenLidar, tolerance: float = DEFAULT_TOLERANCE_S,
                 origin: str = "rig") -> None:
        super().__init__()
        if not samples:
            raise SourceError(f"{origin}: no sweeps")
        self.samples, self.tolerance, self.origin = samples, float(tolerance), origin
        self._lidar = open_lidar
        first = self._lidar(samples[0].lidar)  # fail fast on a bad first sweep, and learn the sensor
        self.sensor, self.rate_hz = first.sensor, first.rate_hz

    def _frames(self) -> Iterator[Frame]:
        for sample in self.samples:
            try:
                frames = list(self._lidar(sample.lidar))
            except (SourceError, OSError) as err:
                self.stats.skip_frame(f"{sample.lidar.name}: {err}")
                continue
            for frame in frames:
                yield self._attach(frame, sample)

    def _attach(self, frame: Frame, sample: RigSample) -> Frame:
        frame.cameras = dict(sample.cameras)
        for name, candidates in sample.images.items():
            path = nearest(candidates, frame.timestamp, self.tolerance)
            image = None
            if path is not None:
                try:
                    image = read_rgb(path)
                except SourceError as err:
                    self.stats.skip_frame(f"camera {name}: {err}")
            if image is None:
                self.stats.missing_images[name] += 1
                continue
            frame.images[name] = image
        return frame


class ImageHistory:
    """The last few images of one live camera with their stamps (thread-safe): a sweep takes the latest one
    not newer than itself and within a tolerance, so a late camera is skipped rather than waited for."""

    def __init__(self, size: int = LIVE_HISTORY) -> None:
        self._images: deque[tuple[float, np.ndarray]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, timestamp: float, image: np.ndarray) -> None:
        with self._lock:
            if self._images and timestamp < self._images[-1][0]:
                return  # out of order: the history stays sorted
            self._images.append((timestamp, image))

    def latest_not_newer(self, timestamp: float, tolerance: float) -> np.ndarray | None:
        with self._lock:
            history = list(self._images)
        at = bisect.bisect_right([t for t, _ in history], timestamp) - 1
        if at < 0 or timestamp - history[at][0] > tolerance:
            return None
        return history[at][1]


class LiveRig(Source):
    """A live LiDAR source with live cameras: each camera is read on its own thread into a short history, and
    a sweep takes, per camera, the latest image not newer than the sweep and within `tolerance`; a camera
    that is late or silent is counted, never waited for."""

    def __init__(self, lidar: Source, cameras: Mapping[str, Source], calibration: Mapping[str, Camera],
                 tolerance: float = DEFAULT_TOLERANCE_S) -> None:
        super().__init__()
        unknown = set(cameras) - set(calibration)
        if unknown:
            raise CalibrationError(f"cameras without calibration: {sorted(unknown)}")
        self.lidar, self.camera_sources, self.calibration = lidar, dict(cameras), dict(calibration)
        self.tolerance, self.live = float(tolerance), lidar.live
        self.sensor, self.rate_hz = lidar.sensor, lidar.rate_hz
        self._history = {name: ImageHistory() for name in cameras}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _read_camera(self, name: str, source: Source) -> None:
        for image_frame in source:
            if self._stop.is_set():
                return
            if image_frame.image is not None:
                self._history[name].add(image_frame.timestamp, image_frame.image)

    def _frames(self) -> Iterator[Frame]:
        self._threads = [threading.Thread(target=self._read_camera, args=(name, source), name=f"camera-{name}", daemon=True)
                         for name, source in self.camera_sources.items()]
        for thread in self._threads:
            thread.start()
        try:
            for frame in self.lidar:
                frame.cameras = dict(self.calibration)
                for name in self.camera_sources:
                    image = self._history[name].latest_not_newer(frame.timestamp, self.tolerance)
                    if image is None:
                        self.stats.missing_images[name] += 1
                    else:
                        frame.images[name] = image
                yield frame
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        for source in (self.lidar, *self.camera_sources.values()):
            source.close()


def point_colours(frame: Frame) -> tuple[np.ndarray, np.ndarray]:
    """Each point's colour from the images that see it: [N, 3] uint8 and `seen` [N] (False: no camera sees it,
    colour 0). A point seen by two cameras takes the one where it lies nearer the image centre. Occlusion is
    not modelled: a point hidden from a camera behind a nearer object takes that object's colour."""
    colours = np.zeros((len(frame), 3), dtype=np.uint8)
    best = np.full(len(frame), np.inf)
    for name, image in frame.images.items():
        camera = frame.cameras[name]
        projection = camera.project(frame.xyz)
        visible = projection.visible
        u, v = projection.pixels[visible, 0], projection.pixels[visible, 1]
        off_centre = np.hypot((u - camera.width / 2) / camera.width, (v - camera.height / 2) / camera.height)
        index = np.flatnonzero(visible)
        better = off_centre < best[index]
        chosen = index[better]
        best[chosen] = off_centre[better]
        colours[chosen] = image[v[better].astype(np.int64), u[better].astype(np.int64)]
    return colours, np.isfinite(best)


def open_calibration_rig(path: Path, tolerance: float = DEFAULT_TOLERANCE_S, *, open_lidar: OpenLidar) -> FileRig:
    """A sample's calibration.json: its sweep with its cameras' images."""
    calibration = read_calibration_json(path)
    if calibration.lidar is None:
        raise CalibrationError(f"{path}: names no LiDAR file (lidar.file)")
    return FileRig([_sample_of(calibration)], open_lidar, tolerance, str(path))


def _sample_of(calibration: RigCalibration) -> RigSample:
    images = {name: [(calibration.image_timestamps.get(name), image)] for name, image in calibration.images.items()}
    return RigSample(calibration.lidar, calibration.cameras, images)


def open_nuscenes_rig(folder: Path, tolerance: float = DEFAULT_TOLERANCE_S, *, open_lidar: OpenLidar) -> FileRig:
    """A nuScenes-style folder: calibration.json (the cameras) beside samples/LIDAR_TOP/*.pcd.bin and
    samples/<camera>/*.jpg, each stamped in its name (<log>__<channel>__<microseconds>)."""
    try:  # the camera names, to find their images; read_calibration_json names any problem of the file
        names = list(json.loads((folder / "calibration.json").read_text()).get("cameras", {}))
    except (ValueError, AttributeError):
        names = []
    images = {}
    for name in names:
        channel = folder / "samples" / name
        files = sorted(p for p in channel.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if channel.is_dir() else []
        images[name] = [(timestamp_from_name(p), p) for p in files]
    calibration = read_calibration_json(folder / "calibration.json", {name: found[0][1] for name, found in images.items() if found})
    sweeps = sorted((folder / "samples" / "LIDAR_TOP").glob("*.pcd.bin"))
    if not sweeps:
        raise SourceError(f"{folder / 'samples' / 'LIDAR_TOP'}: no .pcd.bin sweeps")
    return FileRig([RigSample(sweep, calibration.cameras, images) for sweep in sweeps], open_lidar, tolerance,
                   str(folder))


def open_kitti_rig(folder: Path, camera: str = "P2", *, open_lidar: OpenLidar) -> FileRig:
    """A KITTI-style folder: velodyne/NNNNNN.bin with image_2/NNNNNN.png and calib/NNNNNN.txt (per sample)."""
    samples = []
    for sweep in sorted((folder / "velodyne").glob("*.bin")):
        calib, image = folder / "calib" / f"{sweep.stem}.txt", folder / "image_2" / f"{sweep.stem}.png"
        if not calib.is_file():
            raise CalibrationError(f"{calib}: missing (every KITTI sweep needs its calib file)")
        height, width = read_rgb(image).shape[:2] if image.is_file() else (375, 1242)
        cam = read_kitti_calib(calib, camera, width, height)
        samples.append(RigSample(sweep, {cam.name: cam}, {cam.name: [(None, image)] if image.is_file() else []}))
    return FileRig(samples, open_lidar, DEFAULT_TOLERANCE_S, str(folder))


def rig_folder_kind(folder: Path) -> str | None:
    if (folder / "calibration.json").is_file() and (folder / "samples" / "LIDAR_TOP").is_dir():
        return "rig-nuscenes"
    if all((folder / sub).is_dir() for sub in ("velodyne", "image_2", "calib")):
        return "rig-kitti"
    return None
