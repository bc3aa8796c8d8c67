"""Result sinks: bird's-eye views put each point where it lies with its class colour; label files round-trip."""
from __future__ import annotations

import numpy as np

import sensors
from sdk.segmentation import Segmentation
from sdk.sinks import BEV_RANGE_M, BEV_RESOLUTION_M, LabelWriter, bird_eye_view

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
    assert (image.reshape(-1, 3).any(axis=1)).sum() == 2


def test_label_files_round_trip_through_the_kitti_reader(tmp_path):
    frame = sensors.Frame(points=np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32), timestamp=0.0,
                          sensor="HDL-64E")
    labels = np.arange(50, dtype=np.int32) % 20
    LabelWriter(tmp_path, "kitti")(Segmentation(frame, labels, np.ones(50, np.float32), sensors.SEMANTIC_KITTI.class_names))
    read = next(iter(sensors.open(tmp_path)))
    np.testing.assert_array_equal(read.labels, labels)
    np.testing.assert_allclose(read.points, frame.points)
