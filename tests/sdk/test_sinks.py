"""Result sinks: label files round-trip, with the rig's colours as PCD's rgb field; the renderer writes every view."""
from __future__ import annotations

import numpy as np

import sensors
from sdk.segmentation.steps import Segmentation
from sdk.apps.sinks import LabelWriter


def test_label_files_round_trip_through_the_kitti_reader(tmp_path):
    frame = sensors.Frame(points=np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32), timestamp=0.0,
                          sensor="HDL-64E")
    labels = np.arange(50, dtype=np.int32) % 20
    LabelWriter(tmp_path, "kitti")(Segmentation(frame, labels, np.ones(50, np.float32), sensors.SEMANTIC_KITTI))
    read = next(iter(sensors.open(tmp_path)))
    np.testing.assert_array_equal(read.labels, labels)
    np.testing.assert_allclose(read.points, frame.points)


def test_colours_are_written_as_pcd_rgb(tmp_path):
    frame = sensors.Frame(points=np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32), timestamp=0.0,
                          sensor="HDL-64E")
    colours = np.random.default_rng(2).integers(0, 256, size=(20, 3), dtype=np.uint8)
    result = Segmentation(frame, np.arange(20) % 20, np.ones(20, np.float32), sensors.SEMANTIC_KITTI,
                          colours=colours, coloured=np.ones(20, bool))
    LabelWriter(tmp_path, "pcd")(result)
    from pypcd4 import PointCloud

    cloud = PointCloud.from_path(tmp_path / "000000.pcd")
    assert cloud.fields[-1] == "rgb"
    rgb = cloud.numpy(("rgb",))[:, 0].astype(np.float32).view(np.uint32)
    np.testing.assert_array_equal(np.stack([rgb >> 16 & 255, rgb >> 8 & 255, rgb & 255], axis=1), colours)
