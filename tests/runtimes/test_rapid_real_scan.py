"""Every implementation of rapid::RapidFeatures against the NumPy reference on the real labelled scan,
and the windowed search's fidelity to the authors' exact in-ring kNN."""
from __future__ import annotations

import numpy as np
import pytest

import sensors
from runtimes.ops.rapid_exact_ring import exact_ring_neighbours, neighbour_recall
from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.ops.rapid_reference import (features_from_neighbours, rapid_features_reference, split_image,
                                          windowed_neighbours)
from runtimes.ops.rapid_spec import KITTI
from sdk.segmentation.range_image import project

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"
TOLERANCE = 1e-5
#: the guard on the windowed search (measured on this scan: recall 0.985, mean difference 0.0035)
MIN_RECALL = 0.98
MAX_MEAN_DIFFERENCE = 0.01


@pytest.fixture(scope="module")
def scan_image():
    from conftest import data_file

    frame = next(iter(sensors.open(data_file(SCAN))))
    return project(frame).image[None]


@pytest.fixture(scope="module")
def reference(scan_image):
    return rapid_features_reference(scan_image, KITTI)


def test_numba_matches_reference(scan_image, reference):
    np.testing.assert_allclose(rapid_features_numba(scan_image, KITTI), reference, atol=TOLERANCE, rtol=0)


def test_torch_matches_reference(scan_image, reference):
    import torch

    from export.rapid_op.torch_impl import rapid_features_torch

    with torch.no_grad():
        out = rapid_features_torch(torch.from_numpy(scan_image), KITTI).numpy()
    np.testing.assert_allclose(out, reference, atol=TOLERANCE, rtol=0)


def test_reference_features_are_informative(reference, scan_image):
    valid = np.abs(scan_image[0, :3]).sum(axis=0) > 0
    values = reference[0][:, valid]
    assert valid.sum() > 110_000
    assert 0.0 < np.median(values) < 0.5  # most neighbourhoods are small against the frame's largest gap
    assert (values < 1.0).mean() > 0.95


@pytest.mark.slow
def test_windowed_search_is_faithful_to_exact_in_ring_knn(scan_image):
    xyz, reflectivity, valid = split_image(scan_image[0])
    windowed = windowed_neighbours(xyz, reflectivity, valid, KITTI)
    exact = exact_ring_neighbours(xyz, reflectivity, valid, KITTI)
    assert neighbour_recall(windowed, exact) >= MIN_RECALL
    difference = np.abs(features_from_neighbours(windowed, xyz, reflectivity, valid, KITTI)
                        - features_from_neighbours(exact, xyz, reflectivity, valid, KITTI))
    assert difference[:, valid].mean() <= MAX_MEAN_DIFFERENCE


def test_features_per_point_through_the_public_api(data):
    import sdk

    frame = next(iter(sensors.open(data(SCAN))))
    per_point = sdk.rapid_features(frame, method="numba")
    assert per_point.shape == (124_668, 10) and per_point.dtype == np.float32
    range_image = sdk.project(frame)
    pixel = range_image.row[0], range_image.column[0]
    np.testing.assert_array_equal(per_point[0], rapid_features_numba(range_image.image[None], KITTI)[0][:, pixel[0], pixel[1]])
    with pytest.raises(ValueError, match="unknown RAPiD method"):
        sdk.rapid_features(frame, method="magic")


def test_default_config_follows_the_dataset(data):
    from sdk.segmentation.features import default_config

    nuscenes = next(iter(sensors.open(data("nuscenes/samples/LIDAR_TOP/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin"))))
    assert default_config(nuscenes).k_values == (8, 6, 3)
    features = __import__("sdk").rapid_features(nuscenes, method="numba")
    assert features.shape == (34_688, 8)
    # an HDL-32E that is not nuScenes' (one's own pcap) is not given nuScenes' values by its name
    own = sensors.Frame(points=nuscenes.points, timestamp=0.0, sensor="HDL-32E", ring=nuscenes.ring)
    assert default_config(own).k_values == (10, 7, 5)


@pytest.mark.parametrize("count", [0, 1])
def test_frames_with_no_or_one_point_through_the_public_api(count):
    import sdk

    points = np.array([[12.0, -3.0, -1.5, 0.4]] * count, dtype=np.float32).reshape(-1, 4)
    frame = sensors.Frame(points=points, timestamp=0.0, sensor="HDL-64E")
    features = sdk.rapid_features(frame, method="numba")
    assert features.shape == (count, 10) and (features == 1.0).all()


def test_nan_rows_read_nothing_near_and_the_rest_stays_defined(data):
    import sdk

    frame = next(iter(sensors.open(data(SCAN))))
    points = frame.points.copy()
    points[::1000, 0] = np.nan
    damaged = sensors.Frame(points=points, timestamp=0.0, sensor="HDL-64E")
    features = sdk.rapid_features(damaged, method="numba")
    assert np.isfinite(features).all()
    assert (features[::1000] == 1.0).all()
    assert (features[1::1000] < 1.0).mean() > 0.9
