"""Pictures of a segmented sweep that people can read: a bird's-eye view with a metric grid, a scale bar and
the sensor's position; a range-image view of the labels; the labels drawn into every camera image (near
points over far ones); a legend of the classes present with the palette; and one figure combining them."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runtimes.streaming import END_TO_END, PROCESSING

from sdk.segmentation.range_image import project
from sdk.segmentation.steps import Segmentation

#: bird's-eye view: metres each side of the sensor at most (a figure fits its view to the points, in steps of
#: BEV_STEP_M, so a room is not a dot), and metres per cell (figures use BEV_FIGURE_CELLS cells across, so a
#: sparse sweep's points stay visible at the size a figure is looked at)
BEV_RANGE_M = 50.0
BEV_STEP_M = 5.0
BEV_RESOLUTION_M = 0.1
BEV_FIGURE_CELLS = 400
BACKGROUND = (24, 24, 28)  # dark grey, not black: empty cells read as empty, not as a class
POINT_RADIUS_PX = 2


@dataclass(frozen=True)
class Palette:
    """Class names and their RGB colours (index = training id; 0 = ignore)."""

    names: tuple[str, ...]
    rgb: np.ndarray

    @classmethod
    def of(cls, label_set) -> Palette:
        return cls(tuple(label_set.class_names), np.array(label_set.palette_rgb, dtype=np.uint8))


def bev_range(points: np.ndarray) -> float:
    """Metres each side of the sensor a figure shows: 98 % of the points, rounded up to BEV_STEP_M, at most
    BEV_RANGE_M (a far outlier does not shrink the rest to a dot)."""
    finite = points[np.isfinite(points[:, :3]).all(axis=1)]
    if not len(finite):
        return BEV_RANGE_M
    reach = float(np.percentile(np.abs(finite[:, :2]).max(axis=1), 98))
    return float(min(BEV_RANGE_M, max(BEV_STEP_M, BEV_STEP_M * np.ceil(reach / BEV_STEP_M))))


def bird_eye_view(points: np.ndarray, labels: np.ndarray, palette: np.ndarray,
                  resolution: float = BEV_RESOLUTION_M, range_m: float = BEV_RANGE_M) -> np.ndarray:
    """[H, W, 3] uint8 top view `range_m` metres each side, x forward = up, y left = left; the highest point of
    a cell wins, so roofs and cars cover the road beneath them."""
    size = int(round(2 * range_m / resolution))
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = BACKGROUND
    finite = np.isfinite(points[:, :3]).all(axis=1)
    row = np.floor((range_m - points[:, 0]) / resolution)
    column = np.floor((range_m - points[:, 1]) / resolution)
    inside = finite & (row >= 0) & (row < size) & (column >= 0) & (column < size)
    order = np.argsort(points[inside, 2])  # drawn low to high
    rows, columns = row[inside][order].astype(np.int64), column[inside][order].astype(np.int64)
    image[rows, columns] = palette[labels[inside][order]]
    return image


def range_view(result: Segmentation, palette: np.ndarray) -> np.ndarray:
    """[rows, columns, 3] the labels in the sensor's own range image (nearest point per pixel, top row = the
    highest beam, the middle column looking forward)."""
    frame = result.frame
    image = project(frame)
    height, width = image.shape
    view = np.empty((height, width, 3), dtype=np.uint8)
    view[:] = BACKGROUND
    has = image.row >= 0
    distance = np.linalg.norm(frame.xyz, axis=1)
    order = np.flatnonzero(has)[np.argsort(-distance[has])]  # far first: the nearest point of a pixel is drawn last
    view[image.row[order], image.column[order]] = palette[result.labels[order]]
    return view


def camera_overlay(image: np.ndarray, camera, xyz: np.ndarray, labels: np.ndarray, palette: np.ndarray,
                   radius: int = POINT_RADIUS_PX) -> tuple[np.ndarray, int]:
    """The image with each visible point drawn as a small disc in its class colour; where discs overlap the
    nearest point wins (a depth test per pixel), so near points cover far ones. Returns the overlay and how
    many points it shows."""
    projection = camera.project(xyz)
    visible = np.flatnonzero(projection.visible)
    overlay = np.ascontiguousarray(image).copy()
    height, width = overlay.shape[:2]
    du, dv = (grid.ravel() for grid in np.mgrid[-radius:radius + 1, -radius:radius + 1])
    disc = du * du + dv * dv <= radius * radius
    u = np.floor(projection.pixels[visible, 0]).astype(np.int64)[:, None] + du[disc]
    v = np.floor(projection.pixels[visible, 1]).astype(np.int64)[:, None] + dv[disc]
    point = np.broadcast_to(visible[:, None], u.shape)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    pixel, point = (v * width + u)[inside], point[inside]
    order = np.lexsort((projection.depth[point], pixel))  # by pixel, nearest first
    pixel, point = pixel[order], point[order]
    first = np.flatnonzero(np.r_[True, pixel[1:] != pixel[:-1]])
    overlay.reshape(-1, overlay.shape[2])[pixel[first]] = palette[labels[point[first]]]
    return overlay, len(visible)


def legend_handles(labels: np.ndarray, palette: Palette):
    """One patch per class present (most points first), labelled with its name and point count."""
    from matplotlib.patches import Patch

    counts = np.bincount(labels, minlength=len(palette.names))
    order = [i for i in np.argsort(-counts) if counts[i] > 0]
    return [Patch(facecolor=palette.rgb[i] / 255, edgecolor="0.3",
                  label=f"{palette.names[i] if i else 'unlabelled'} ({counts[i]:,})") for i in order]


def overlay_figure(overlay: np.ndarray, name: str, seen_labels: np.ndarray, palette: Palette):
    """A camera's overlay with the legend of the classes it shows (points it sees, per class)."""
    from matplotlib import pyplot as plt

    height, width = overlay.shape[:2]
    figure = plt.figure(figsize=(width / 100 + 2.2, height / 100 + 0.4), layout="constrained")
    axis = figure.add_subplot()
    axis.imshow(overlay)
    axis.set(title=name, xticks=[], yticks=[])
    figure.legend(handles=legend_handles(seen_labels, palette), loc="outside right center", fontsize=8,
                  frameon=False, title="class (points seen)")
    return figure


def draw_class_counts(axis, labels: np.ndarray, palette: Palette, title: str) -> None:
    """Points per class present, most first, as bars in the classes' colours (a log scale: a few poles next to
    a road of thousands stay visible)."""
    counts = np.bincount(labels, minlength=len(palette.names))
    present = [i for i in np.argsort(-counts) if counts[i] > 0]
    axis.barh(range(len(present)), counts[present], color=palette.rgb[present] / 255, edgecolor="0.3")
    axis.set_yticks(range(len(present)), [palette.names[i] if i else "unlabelled" for i in present], fontsize=8)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set(xlabel="points", title=title)
    axis.title.set_fontsize(10)


def draw_bev(axis, result: Segmentation, palette: Palette) -> None:
    """The bird's-eye view fitted to the sweep (bev_range), with the sensor, a grid and a scale bar a fifth
    of the view wide."""
    reach = bev_range(result.frame.points)
    extent = (reach, -reach, -reach, reach)  # left = +y, top = +x
    axis.imshow(bird_eye_view(result.frame.points, result.labels, palette.rgb, 2 * reach / BEV_FIGURE_CELLS, reach),
                extent=extent, interpolation="nearest")
    marker = max(4.0, 11.0 * reach / BEV_RANGE_M)  # the sensor's marker shrinks with the view: it hides no room
    axis.plot(0, 0, marker=(3, 0, 0), markersize=marker, color="white", markeredgecolor="black")  # facing +x
    axis.annotate("sensor", (0, 0), xytext=(3, -6), textcoords="offset points", color="white", fontsize=8)
    axis.set(xlabel="y, metres (left +)", ylabel="x, metres (forward +)", title="bird's-eye view")
    axis.grid(color="white", alpha=0.15, linewidth=0.5)
    bar = reach / 5
    margin = reach / 10
    axis.plot([reach - margin, reach - margin - bar], [-reach + margin] * 2, color="white", linewidth=3)
    axis.text(reach - margin - bar / 2, -reach + 1.3 * margin, f"{bar:g} m", color="white", ha="center", fontsize=8)


def frame_figure(result: Segmentation, palette: Palette, overlays: dict[str, np.ndarray] | None = None,
                 caveat: str | None = None):
    """One figure per frame: BEV (left), range view (top right), the points per class below it (the frame and
    its timings in the title), camera overlays below (three to a row, one or two cameras share the row's
    width), and the legend of the classes present (right); `caveat` (demonstration weights) across the top."""
    from matplotlib import pyplot as plt

    overlays = overlays or {}
    grid_columns, per_row = 6, min(len(overlays), 3) or 1
    camera_rows = (len(overlays) + per_row - 1) // per_row
    figure = plt.figure(figsize=(16, 6 + 2.6 * camera_rows), layout="constrained")
    grid = figure.add_gridspec(2 + camera_rows, grid_columns + 1, height_ratios=[1, 2.2] + [1.6] * camera_rows,
                               width_ratios=[1] * grid_columns + [1.1])
    draw_bev(figure.add_subplot(grid[0:2, 0:2]), result, palette)
    rv = figure.add_subplot(grid[0, 2:grid_columns])
    view = range_view(result, palette.rgb)
    rv.imshow(view, aspect="auto", interpolation="nearest")
    rv.set(title=f"range view ({view.shape[0]} beams x {view.shape[1]} columns; centre = forward)",
           xticks=[], yticks=[])
    # the frame's own time in the pipeline; end to end is the stream's (queue waits included), not the frame's
    timings = ", ".join(f"{'per frame' if k == PROCESSING else k} {v:.0f} ms" for k, v in result.timings.items()
                        if k != END_TO_END)
    draw_class_counts(figure.add_subplot(grid[1, 2:grid_columns]), result.labels, palette,
                      f"frame {result.index} of {result.frame.sensor}: {len(result.frame):,} points"
                      + (f"\n{timings}" if timings else ""))
    if caveat:
        figure.suptitle(caveat, color="firebrick", fontsize=10)
    span = grid_columns // per_row
    for i, (name, overlay) in enumerate(overlays.items()):
        row, slot = divmod(i, per_row)
        axis = figure.add_subplot(grid[2 + row, slot * span:(slot + 1) * span])
        axis.imshow(overlay)
        axis.set(title=name, xticks=[], yticks=[])
    legend = figure.add_subplot(grid[:, grid_columns])
    legend.axis("off")
    legend.legend(handles=legend_handles(result.labels, palette), loc="upper left", fontsize=8, title="class (points)",
                  frameon=False)
    return figure
