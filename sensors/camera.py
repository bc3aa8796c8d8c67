"""Cameras through OpenCV: a video file, a device index, or a folder of images. Frames carry `image` (RGB)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .file_sequence import sorted_files
from .frame import Frame
from .source import Source, SourceError, require_file

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm")
NO_POINTS = np.zeros((0, 4), dtype=np.float32)


def _camera_frame(image_bgr: np.ndarray, timestamp: float, sensor: str, **meta: object) -> Frame:
    import cv2

    return Frame(points=NO_POINTS, timestamp=timestamp, sensor=sensor,
                 image=cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB), meta=dict(meta))


class VideoSource(Source):
    """A video file (never drops) or a live device (`live`); an unreadable frame is counted and skipped."""

    def __init__(self, target: str | int, live: bool, max_failures: int = 30) -> None:
        import cv2

        super().__init__()
        self.target = target
        self.live = live
        self.sensor = f"camera:{target}" if live else "video"
        self.max_failures = max_failures
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise SourceError(f"{target}: OpenCV cannot open this {'camera device' if live else 'video file'}")
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.rate_hz = float(fps) if fps and fps > 0 else None
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) if not live else None

    def _frames(self) -> Iterator[Frame]:
        import cv2

        failures = 0
        while failures < self.max_failures:
            ok, image = self._capture.read()
            if ok and image is not None:
                failures = 0
                stamp = time.time() if self.live else self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                yield _camera_frame(image, stamp, self.sensor)
                continue
            position = int(self._capture.get(cv2.CAP_PROP_POS_FRAMES))
            if not self.live and (self.frame_count is None or position >= self.frame_count):
                return  # the end of the file
            failures += 1
            self.stats.skip_frame("no image could be decoded")
            if not self.live:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, position + 1)

    def close(self) -> None:
        self._capture.release()


class ImageFolderSource(Source):
    """Images in name order; an unreadable image is counted and skipped."""

    live = False

    def __init__(self, folder: Path, rate_hz: float = 10.0) -> None:
        super().__init__()
        self.files = [p for p in sorted_files(folder, "") if p.suffix.lower() in IMAGE_SUFFIXES]
        if not self.files:
            raise SourceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
        self.rate_hz = rate_hz
        self.sensor = "images"

    def _frames(self) -> Iterator[Frame]:
        import cv2

        for i, path in enumerate(self.files):
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                self.stats.skip_frame(f"unreadable image {path.name}")
                continue
            yield _camera_frame(image, i / self.rate_hz, self.sensor, path=str(path))


def open_video(path: Path) -> VideoSource:
    require_file(path, "video file")
    return VideoSource(str(path), live=False)
