"""Renders: the bird's-eye view puts each point where it lies with its class colour; camera overlays draw
near points over far ones; the figure of a frame holds every view and a legend."""
from __future__ import annotations

import numpy as np

import sensors
from sdk.apps.render import BACKGROUND, BEV_RANGE_M, BEV_RESOLUTION_M, bev_range, bird_eye_view, camera_overlay
from sensors.calibration import Camera

PALETTE = np.array(sensors.SEMANTIC_KITTI.palette_rgb, dtype=np.uint8)


def pixel(x: float, y: float) -> tuple[int, int]:
    return int((BEV_RANGE_M - x) / BEV_RESOLUTION_M), int((BEV_RANGE_M - y) / BEV_RESOLUTION_M)


def test_points_land_forward_up_left_left_and_the_highest_wins():
    points = np.array([[10.0, 0.0, -1.7, 0.1],    # road ahead
                       [10.0, 0.0, 0.5, 0.1],     # a car roof above it: drawn over the road
                       [0.0, 20.0, 1.0, 0.1],     # building to the left
                       [np.nan, 0.0, 0.0, 0.0],   # no coordinates: not drawn
                       [80.0, 0.0, 0.0, 0.0]], dtype=np.float32)  # beyond the view: not drawn
    labels = np.array([9, 1, 13, 0, 15])
    image = bird_eye_view(points, labels, PALETTE)
    assert image.shape == (1000, 1000, 3)
    np.testing.assert_array_equal(image[pixel(10.0, 0.0)], PALETTE[1])
    np.testing.assert_array_equal(image[pixel(0.0, 20.0)], PALETTE[13])
    assert pixel(0.0, 20.0)[1] < 500 and pixel(10.0, 0.0)[0] < 500  # left is left, forward is up
    assert (image.reshape(-1, 3) != BACKGROUND).any(axis=1).sum() == 2


def test_the_view_fits_the_sweep():
    """A room seen by a VLP-16 (points within 6 m) is shown 10 m each side, not as a dot in +-50 m; a street
    sweep keeps the full view; one far outlier among many does not widen it."""
    rng = np.random.default_rng(0)
    room = np.c_[rng.uniform(-6, 6, (5000, 2)), rng.uniform(-1, 2, (5000, 2))]
    assert bev_range(room) == 10.0
    street = np.c_[rng.uniform(-70, 70, (5000, 2)), np.zeros((5000, 2))]
    assert bev_range(street) == BEV_RANGE_M
    assert bev_range(np.r_[room, [[45.0, 0.0, 0.0, 0.0]]]) == 10.0
    image = bird_eye_view(room, np.ones(len(room), dtype=np.int64), PALETTE, resolution=0.05, range_m=10.0)
    drawn = (image.reshape(-1, 3) != BACKGROUND).any(axis=1).sum()
    assert image.shape == (400, 400, 3) and drawn > 0.9 * len(room)  # nearly a cell each: the room is legible


def forward_camera(width: int = 200, height: int = 100) -> Camera:
    """A camera at the sensor looking along +x: camera x = -frame y, camera y = -frame z, camera z = frame x."""
    to_camera = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    return Camera("front", [[100, 0, width / 2], [0, 100, height / 2], [0, 0, 1]], width, height, to_camera)


def test_near_points_cover_far_ones_in_a_camera_overlay():
    camera = forward_camera()
    xyz = np.array([[5.0, 0.0, 0.0], [20.0, 0.0, 0.0], [-5.0, 0.0, 0.0]])  # near and far on the axis; one behind
    labels = np.array([1, 9, 13])  # car near, road far, building behind the camera
    overlay, shown = camera_overlay(np.zeros((100, 200, 3), np.uint8), camera, xyz, labels, PALETTE)
    assert shown == 2
    np.testing.assert_array_equal(overlay[50, 100], PALETTE[1])
    reversed_overlay, _ = camera_overlay(np.zeros((100, 200, 3), np.uint8), camera, xyz[::-1].copy(), labels[::-1].copy(), PALETTE)
    np.testing.assert_array_equal(reversed_overlay[50, 100], PALETTE[1])  # the order of the points does not matter


def test_the_frame_figure_shows_the_points_per_class_in_their_colours():
    """The space below the range view holds one bar per class present, most points first, in its colour."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from sdk.apps.render import Palette, frame_figure
    from sdk.segmentation.steps import Segmentation

    rng = np.random.default_rng(1)
    frame = sensors.Frame(points=np.c_[rng.uniform(-20, 20, (300, 2)), rng.uniform(-2, 2, (300, 1)),
                                       rng.uniform(0, 1, (300, 1))].astype(np.float32), timestamp=0.0, sensor="HDL-64E")
    labels = np.r_[np.full(200, 9), np.full(90, 1), np.full(10, 18)]
    result = Segmentation(frame, labels, np.ones(300, np.float32), sensors.SEMANTIC_KITTI, {"infer": 5.0})
    figure = frame_figure(result, Palette.of(sensors.SEMANTIC_KITTI))
    (counts,) = [axis for axis in figure.axes if axis.get_xlabel() == "points"]
    bars = counts.patches
    assert [bar.get_width() for bar in bars] == [200, 90, 10]
    assert [np.round(np.array(bar.get_facecolor()[:3]) * 255).astype(int).tolist() for bar in bars] == \
        [PALETTE[9].tolist(), PALETTE[1].tolist(), PALETTE[18].tolist()] and "infer 5 ms" in counts.get_title()
    plt.close(figure)


def test_a_camera_overlay_carries_the_legend_of_what_it_shows():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from sdk.apps.render import Palette, overlay_figure

    seen = np.r_[np.full(30, 1), np.full(5, 13)]  # cars and a building in view
    figure = overlay_figure(np.zeros((100, 200, 3), np.uint8), "front", seen, Palette.of(sensors.SEMANTIC_KITTI))
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == ["car (30)", "building (5)"]
    assert figure.axes[0].get_title() == "front"
    plt.close(figure)
