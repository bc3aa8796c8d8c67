"""Where results go: label files (SemanticKITTI .label beside KITTI .bin, or PCD with a label field) and
pictures (bird's-eye views coloured by class, and a latency plot at the end). Each sink is a callable
for `Pipeline.run(on_result=...)` and a context manager that flushes on exit."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import sensors
from sensors.writers import write_frame

from .segmentation import Segmentation

#: bird's-eye view: metres each side of the sensor, and metres per pixel
BEV_RANGE_M = 50.0
BEV_RESOLUTION_M = 0.1


class LabelWriter:
    def __init__(self, folder: Path, fmt: str = "kitti") -> None:
        self.folder, self.fmt = Path(folder), fmt
        self.written = 0

    def __call__(self, result: Segmentation) -> None:
        write_frame(result.frame, self.folder, self.fmt, labels=result.labels)
        self.written += 1

    def __enter__(self) -> LabelWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # every frame is written whole when it arrives


def bird_eye_view(points: np.ndarray, labels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 top view, x forward = up; the highest point of a cell wins, so roofs and cars
    cover the road beneath them."""
    size = int(2 * BEV_RANGE_M / BEV_RESOLUTION_M)
    image = np.zeros((size, size, 3), dtype=np.uint8)
    finite = np.isfinite(points[:, :3]).all(axis=1)
    row = np.floor((BEV_RANGE_M - points[:, 0]) / BEV_RESOLUTION_M)
    column = np.floor((BEV_RANGE_M - points[:, 1]) / BEV_RESOLUTION_M)
    inside = finite & (row >= 0) & (row < size) & (column >= 0) & (column < size)
    order = np.argsort(points[inside, 2])  # drawn low to high
    rows, columns = row[inside][order].astype(np.int64), column[inside][order].astype(np.int64)
    image[rows, columns] = palette[labels[inside][order]]
    return image


class Renderer:
    """Bird's-eye PNGs per frame and, on exit, latency.png (per-stage timings over the run) + timings.json."""

    def __init__(self, folder: Path, label_set: sensors.LabelSet = sensors.SEMANTIC_KITTI) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.palette = np.array(label_set.palette_rgb, dtype=np.uint8)
        self.timings: list[dict[str, float]] = []

    def __call__(self, result: Segmentation) -> None:
        import matplotlib.image

        self.timings.append({"frame": result.index, **result.timings})  # first: a Ctrl-C while writing keeps it
        matplotlib.image.imsave(self.folder / f"bev_{result.index:06d}.png",
                                bird_eye_view(result.frame.points, result.labels, self.palette))

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.timings:
            return
        (self.folder / "timings.json").write_text(json.dumps(self.timings, indent=1) + "\n")
        plot_latency(self.timings, self.folder / "latency.png")


def plot_latency(timings: list[dict[str, float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frames = [t["frame"] for t in timings]
    figure, axis = plt.subplots(figsize=(9, 4))
    for stage in [k for k in timings[0] if k != "frame"]:
        axis.plot(frames, [t.get(stage, np.nan) for t in timings], label=stage, linewidth=1.5 if stage == "end_to_end" else 1)
    axis.set(xlabel="frame", ylabel="milliseconds", title="rapid_seg latency per stage")
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
