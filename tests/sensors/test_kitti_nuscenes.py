"""KITTI/SemanticKITTI and nuScenes files: real scans, the learning maps, writing back, bad files."""
from __future__ import annotations

import numpy as np
import pytest

import sensors
from sensors.labels import NUSCENES, SEMANTIC_KITTI

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"
TINY = "semantickitti_tiny50/sequences/00/velodyne/000000.bin"
NUSCENES_SWEEP = "nuscenes/samples/LIDAR_TOP/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin"
NUSCENES_TINY = "nuscenes_lidarseg_tiny40/samples/LIDAR_TOP/n015-2018-08-02-17-16-37+0800__LIDAR_TOP__1533201470948018.pcd.bin"
NUSCENES_TINY_LABELS = "nuscenes_lidarseg_tiny40/lidarseg/v1.0-trainval/5f6c1e0a0c3b444b97e78d2aa3fa34d2_lidarseg.bin"


def train_histogram(frame) -> dict[str, int]:
    counts = np.bincount(frame.labels, minlength=len(SEMANTIC_KITTI.class_names))
    return {SEMANTIC_KITTI.class_names[i]: int(c) for i, c in enumerate(counts) if c}


def test_labelled_scan_and_learning_map(data):
    frame = next(iter(sensors.open(data(SCAN))))
    assert len(frame) == 124_668 and frame.sensor == "HDL-64E"
    assert frame.label_set == "semantickitti"
    histogram = train_histogram(frame)
    # SOURCES.md's raw histogram folded by semantic-kitti.yaml's learning map
    assert histogram["car"] == 4234
    assert histogram["road"] == 34228 + 1053  # lane-marking is road
    assert histogram["sidewalk"] == 26360 and histogram["building"] == 18268
    assert histogram["vegetation"] == 27123 and histogram["motorcyclist"] == 88  # moving folds onto static
    assert histogram["unlabeled"] == 2184 + 4 + 1471 + 1227  # unlabeled, outlier, other-structure, other-object
    assert np.median(frame.points[frame.labels == 9, 2]) == pytest.approx(-1.8, abs=0.1)


def test_sequence_folder_and_velodyne_folder(data):
    sequence = data("semantickitti/sequences/00")
    for target in (sequence, sequence / "velodyne"):
        source = sensors.open(target)
        frames = list(source)
        assert len(frames) == 1 and frames[0].labels is not None and source.rate_hz == 10.0


def test_unlabelled_sequence_has_five_scans_at_10hz(data):
    frames = list(sensors.open(data("kitti_odometry_seq00_unlabelled")))
    assert [len(f) for f in frames] == [124_605, 124_478, 124_167, 123_969, 123_924]
    assert all(f.labels is None for f in frames)
    assert [f.timestamp for f in frames] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_tiny_subset_is_the_full_scan_subset(data):
    tiny = next(iter(sensors.open(data(TINY))))
    full = next(iter(sensors.open(data(SCAN))))
    rows = {tuple(p): label for p, label in zip(full.points.tolist(), full.labels.tolist())}
    assert [rows[tuple(p)] for p in tiny.points.tolist()] == tiny.labels.tolist()


def test_write_kitti_and_read_back(tmp_path, data):
    frame = next(iter(sensors.open(data(SCAN))))
    written = sensors.write_frame(frame, tmp_path / "seq", "kitti")
    assert [p.name for p in written] == ["000000.bin", "000000.label"]
    back = next(iter(sensors.open(tmp_path / "seq")))
    np.testing.assert_array_equal(back.points, frame.points)
    np.testing.assert_array_equal(back.labels, frame.labels)
    raw = np.fromfile(written[1], dtype="<u4") & 0xFFFF
    assert set(np.unique(raw)) <= set(SEMANTIC_KITTI.inverse_map.values())


def test_bin_of_wrong_size_fails_naming_the_file(tmp_path):
    path = tmp_path / "odd.bin"
    path.write_bytes(b"\x00" * 18)
    with pytest.raises(sensors.SourceError, match="odd.bin: size 18 B is not a multiple of 16"):
        sensors.open(path)
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    with pytest.raises(sensors.SourceError, match="empty.bin: empty file"):
        sensors.open(empty)


def test_label_count_mismatch_fails(tmp_path, data):
    scan = tmp_path / "velodyne" / "000000.bin"
    scan.parent.mkdir()
    scan.write_bytes(data(TINY).read_bytes())
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "000000.label").write_bytes(b"\x00" * 4 * 49)
    with pytest.raises(sensors.SourceError, match="000000.label.*49 labels, the scan has 50 points"):
        sensors.open(scan)


def test_non_finite_points_are_kept_aligned_and_counted(tmp_path, data):
    points = np.fromfile(data(TINY), dtype="<f4").reshape(-1, 4).copy()
    points[3] = np.nan
    points[7, 0] = np.inf
    path = tmp_path / "nan.bin"
    points.tofile(path)
    frame = next(iter(sensors.open(path)))
    assert len(frame) == 50 and frame.meta["invalid_points"] == 2  # labels stay index-aligned
    all_bad = tmp_path / "allnan.bin"
    np.full((4, 4), np.nan, dtype="<f4").tofile(all_bad)
    with pytest.raises(sensors.SourceError, match="allnan.bin: every point"):
        sensors.open(all_bad)


def test_bad_scan_inside_a_folder_is_skipped_and_counted(tmp_path, data):
    folder = tmp_path / "velodyne"
    folder.mkdir()
    for name in ("000000.bin", "000002.bin"):
        (folder / name).write_bytes(data(TINY).read_bytes())
    (folder / "000001.bin").write_bytes(b"\x00" * 30)  # truncated
    source = sensors.open(folder)
    frames = list(source)
    assert len(frames) == 2
    assert [f.meta["path"].endswith(n) for f, n in zip(frames, ("000000.bin", "000002.bin"))] == [True, True]
    (cause, count), = source.stats.skipped_frames.items()
    assert count == 1 and "000001.bin" in cause


def test_nuscenes_sweep_has_rings_from_the_lowest_beam(data):
    source = sensors.open(data(NUSCENES_SWEEP))
    frame = next(iter(source))
    assert len(frame) == 34_688 and frame.sensor == "HDL-32E" and source.rate_hz == 20.0
    assert set(np.unique(frame.ring)) == set(range(32))
    elevation = np.degrees(np.arctan2(frame.points[:, 2], np.linalg.norm(frame.points[:, :2], axis=1)))
    assert np.median(elevation[frame.ring == 0]) < np.median(elevation[frame.ring == 31])
    assert 0.0 <= frame.intensity.min() and frame.intensity.max() <= 1.0
    assert frame.timestamp == pytest.approx(1532402927.647951)


def test_nuscenes_lidarseg_labels_use_the_16_class_map(data):
    frame = next(iter(sensors.open(data(NUSCENES_TINY), labels=data(NUSCENES_TINY_LABELS))))
    assert frame.label_set == "nuscenes"
    counts = {NUSCENES.class_names[i]: int(c) for i, c in enumerate(np.bincount(frame.labels)) if c}
    # SOURCES.md: car=2, driveable_surface=15, terrain=1, manmade=12, vegetation=1, ego=9 (ignored)
    assert counts == {"ignore": 9, "car": 2, "driveable_surface": 15, "terrain": 1, "manmade": 12, "vegetation": 1}


def test_nuscenes_bad_files(tmp_path, data):
    path = tmp_path / "x.pcd.bin"
    path.write_bytes(b"\x00" * 24)
    with pytest.raises(sensors.SourceError, match="multiple of 20"):
        sensors.open(path)
    with pytest.raises(sensors.SourceError, match="lidarseg.bin: 40 labels, the sweep"):
        sensors.open(data(NUSCENES_SWEEP), labels=data(NUSCENES_TINY_LABELS))
