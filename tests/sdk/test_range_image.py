"""Projection of frames to range images: rows from rings, KITTI's firing order, or elevation; pixel sharing."""
from __future__ import annotations

import numpy as np

import sensors
from sdk.segmentation.range_image import project
from sensors.geometry import GEOMETRY

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"


def median_elevation_per_row(range_image, frame):
    elevation = np.arctan2(frame.points[:, 2], np.linalg.norm(frame.points[:, :2], axis=1))
    rows = range_image.row
    return np.array([np.median(elevation[rows == r]) for r in range(range_image.shape[0])])


def test_kitti_rings_come_from_the_firing_order(data):
    frame = next(iter(sensors.open(data(SCAN))))
    image = project(frame)
    assert image.row_source == "firing-order" and image.shape == (64, 2048)
    elevation = median_elevation_per_row(image, frame)
    assert (np.diff(elevation) < 0.002).all()  # row 0 is the top laser, elevations fall row by row
    filled = (np.abs(image.image[:3]).sum(axis=0) > 0).sum()
    assert 110_000 < filled < len(frame)  # ~2080 returns per laser share 2048 columns


def test_shuffled_points_fall_back_to_elevation_bins(data):
    frame = next(iter(sensors.open(data(SCAN))))
    order = np.random.default_rng(0).permutation(len(frame))
    shuffled = sensors.Frame(points=frame.points[order], timestamp=0.0, sensor="HDL-64E")
    image = project(shuffled)
    assert image.row_source == "elevation"
    assert (np.diff(median_elevation_per_row(image, shuffled)) < 0.01).all()


def test_a_sensor_with_another_laser_count_goes_to_elevation_bins_without_trying_the_firing_order(monkeypatch):
    from sdk.segmentation import range_image

    sweep = next(iter(sensors.open("sim://vlp16", frames=1)))  # 16 lasers, read into a 64-row model's image
    ringless = sensors.Frame(points=sweep.points, timestamp=0.0, sensor="VLP-16")
    tried = []
    monkeypatch.setattr(range_image, "rings_from_firing_order", lambda *args: tried.append(args))
    assert project(ringless, GEOMETRY["HDL-64E"]).row_source == "elevation" and not tried
    unknown = sensors.Frame(points=sweep.points, timestamp=0.0, sensor="unknown")
    assert project(unknown, GEOMETRY["HDL-64E"]).row_source == "elevation" and len(tried) == 1  # may fit: tried


def test_rings_of_the_source_are_used(data):
    frame = next(iter(sensors.open("sim://vlp16", frames=1)))
    image = project(frame)
    assert image.row_source == "ring" and image.shape == (GEOMETRY["VLP-16"].rows, GEOMETRY["VLP-16"].columns)
    np.testing.assert_array_equal(image.row, 15 - frame.ring)


def test_nearest_point_fills_a_shared_pixel_and_every_point_reads_its_pixel():
    points = np.array([[10.0, 0.0, 0.0, 0.1], [5.0, 0.0, 0.0, 0.2], [np.nan, 0.0, 0.0, 0.3]], dtype=np.float32)
    frame = sensors.Frame(points=points, timestamp=0.0, sensor="VLP-16", ring=np.array([3, 3, 3]))
    image = project(frame)
    assert image.row[0] == image.row[1] and image.column[0] == image.column[1]
    assert image.row[2] == -1  # NaN: no pixel
    assert image.image[0, image.row[0], image.column[0]] == 5.0  # the nearer return
    per_point = image.gather(np.arange(2 * 16 * 1024, dtype=np.float32).reshape(2, 16, 1024))
    np.testing.assert_array_equal(per_point[0], per_point[1])
    np.testing.assert_array_equal(per_point[2], [1.0, 1.0])


def test_column_zero_is_behind_and_columns_run_clockwise_seen_from_above():
    points = np.array([[-10, 0.01, 0, 0], [0, -10, 0, 0], [10, 0, 0, 0], [0, 10, 0, 0]], dtype=np.float32)
    image = project(sensors.Frame(points=points, timestamp=0.0, sensor="HDL-64E", ring=np.zeros(4)))
    assert image.column.tolist() == [0, 1536, 1024, 512]  # behind, right, front, left
