"""Where results go: label files (.label beside KITTI .bin in the package's dataset ids, or PCD with label and,
from a rig, rgb fields) and pictures (sdk/apps/render.py's views per frame, and a latency plot at the end). Each sink is a callable
for `Pipeline.run_all(stream, on_result)` and a context manager that flushes on exit."""
from __future__ import annotations

import json
import os
import pickle
import shutil
import time
from pathlib import Path

import numpy as np

from runtimes.streaming import END_TO_END, PROCESSING
from sensors.writers import write_frame

from sdk.apps.render import Palette, camera_overlay, draw_bev, frame_figure, legend_handles, overlay_figure
from sdk.segmentation.steps import Segmentation


class LabelWriter:
    def __init__(self, folder: Path, fmt: str = "kitti") -> None:
        self.folder, self.fmt = Path(folder), fmt
        self.written = 0

    def __call__(self, result: Segmentation) -> None:
        write_frame(result.frame, self.folder, self.fmt, labels=result.labels, label_set=result.label_set,
                    colours=result.colours)
        self.written += 1

    def __enter__(self) -> LabelWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # every frame is written whole when it arrives


class Renderer:
    """Per frame: frame_N.png (bird's-eye view, range view, camera overlays and a class legend in one
    figure), bev_N.png, and for a rig each camera's overlay <camera>_N.png; on exit latency.png and
    timings.json (per-stage timings, and the cost of projecting and drawing into each camera). `live`: the
    stream's end-to-end time is a latency and is plotted; from files frames queue by design and it is not.

    Drawing takes several times a frame's processing: during a run each result is only kept (written to a
    pending folder, milliseconds) and the pictures are drawn when the renderer is left, after the run, so
    they never slow the run they show; `rendered` and `render_seconds` say what that cost."""

    def __init__(self, folder: Path, live: bool = False, caveat: str | None = None) -> None:
        self.folder, self.live, self.caveat = Path(folder), live, caveat
        self.pending = self.folder / ".pending"
        self.pending.mkdir(parents=True, exist_ok=True)
        self.timings: list[dict[str, float]] = []
        self.rendered, self.render_seconds = 0, 0.0

    def __call__(self, result: Segmentation) -> None:
        self.timings.append({"frame": result.index, **result.timings})
        kept = self.pending / f"{len(self.timings) - 1:06d}.pickle"
        staging = kept.with_suffix(".partial")  # renamed when whole: a Ctrl-C mid-write leaves nothing to read back
        with staging.open("wb") as handle:
            pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)  # this run's own results, read back below
        os.replace(staging, kept)

    def draw(self, result: Segmentation, record: dict[str, float]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt

        palette = Palette.of(result.label_set)
        overlays = {}
        for name, image in result.frame.images.items():
            start = time.perf_counter()
            overlays[name], shown = camera_overlay(image, result.frame.cameras[name], result.frame.xyz, result.labels,
                                                   palette.rgb)
            record[f"overlay_{name}_ms"] = 1000 * (time.perf_counter() - start)
            record[f"points_in_{name}"] = shown
            seen = result.labels[result.frame.cameras[name].project(result.frame.xyz).visible]
            figure = overlay_figure(overlays[name], name, seen, palette)
            figure.savefig(self.folder / f"{name}_{result.index:06d}.png", dpi=100)
            plt.close(figure)
        figure = frame_figure(result, palette, overlays, self.caveat)
        figure.savefig(self.folder / f"frame_{result.index:06d}.png", dpi=90)
        plt.close(figure)
        figure, axis = plt.subplots(figsize=(9, 7), layout="constrained")
        draw_bev(axis, result, palette)
        # "outside" places the legend in the layout, so neither it nor the axis label is cut off
        figure.legend(handles=legend_handles(result.labels, palette), loc="outside right center", fontsize=8,
                      frameon=False)
        figure.savefig(self.folder / f"bev_{result.index:06d}.png", dpi=100)
        plt.close(figure)

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        start = time.perf_counter()
        for path in sorted(self.pending.glob("*.pickle")):
            with path.open("rb") as handle:
                result = pickle.load(handle)
            self.draw(result, self.timings[int(path.stem)])
            path.unlink()
            self.rendered += 1
        shutil.rmtree(self.pending)  # with any .partial a Ctrl-C left
        self.render_seconds = time.perf_counter() - start
        if not self.timings:
            return
        (self.folder / "timings.json").write_text(json.dumps(self.timings, indent=1) + "\n")
        plot_latency(self.timings, self.folder / "latency.png", self.live)


def plot_latency(timings: list[dict[str, float]], path: Path, live: bool) -> None:
    """Per-stage milliseconds over the frames; with few frames each is marked, so one frame still shows."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    frames = [t["frame"] for t in timings]
    stages = [k for k in timings[0] if k != "frame" and not k.startswith(("overlay_", "points_in_"))
              and (live or k != END_TO_END)]
    figure, axis = plt.subplots(figsize=(9, 4))
    marker = "o" if len(frames) < 20 else None
    for stage in stages:
        axis.plot(frames, [t.get(stage, np.nan) for t in timings], label="per frame" if stage == PROCESSING else stage,
                  marker=marker, linewidth=1.5 if stage in (END_TO_END, PROCESSING) else 1)
    axis.set(xlabel="frame", ylabel="milliseconds", title="time per stage" + (" and end to end" if live else ""))
    if len(frames) == 1:
        axis.set_xlim(frames[0] - 1, frames[0] + 1)
    from matplotlib.ticker import MaxNLocator

    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
