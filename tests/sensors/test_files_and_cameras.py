"""PCD (pypcd4), PLY (open3d), videos and image folders (OpenCV), Ouster captures (ouster-sdk)."""
from __future__ import annotations

import numpy as np
import pytest

import sensors

NEBULA_PCD = "ros2/velodyne_vlp16/1673400472138016708.pcd"


def test_nebula_pcd_is_read_with_its_layout(data):
    frame = next(iter(sensors.open(data(NEBULA_PCD))))
    assert len(frame) == 14_831 and frame.meta["layout"] == "XYZIRCAEDT"
    distance = np.linalg.norm(frame.xyz, axis=1)
    assert distance.min() == pytest.approx(0.50, abs=0.01) and distance.max() == pytest.approx(14.62, abs=0.01)
    assert frame.ring.max() == 15 and frame.time.max() < 0.11


def test_pcd_with_labels_round_trips(tmp_path, data):
    frame = next(iter(sensors.open(data("semantickitti/sequences/00/velodyne/000000.bin"))))
    (path,) = sensors.write_frame(frame, tmp_path, "pcd")
    back = next(iter(sensors.open(path)))
    np.testing.assert_array_equal(back.points, frame.points)
    np.testing.assert_array_equal(back.labels, frame.labels)


def test_ply_is_read_through_open3d(tmp_path, data):
    import open3d as o3d

    frame = next(iter(sensors.open(data(NEBULA_PCD))))
    cloud = o3d.t.geometry.PointCloud()
    cloud.point.positions = o3d.core.Tensor(frame.xyz)
    cloud.point.intensity = o3d.core.Tensor(frame.intensity[:, None])
    path = tmp_path / "cloud.ply"
    assert o3d.t.io.write_point_cloud(str(path), cloud)
    back = next(iter(sensors.open(path)))
    np.testing.assert_allclose(back.xyz, frame.xyz)
    np.testing.assert_allclose(back.intensity, frame.intensity)


@pytest.mark.parametrize("content", [b"", b"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\n", b"garbage\x00\x01"])
def test_damaged_pcd_fails_naming_the_file(tmp_path, content):
    path = tmp_path / "bad.pcd"
    path.write_bytes(content)
    with pytest.raises(sensors.SourceError, match="bad.pcd"):
        sensors.open(path)


def test_truncated_pcd_body_fails(tmp_path, data):
    path = tmp_path / "cut.pcd"
    whole = data(NEBULA_PCD).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(sensors.SourceError, match="cut.pcd"):
        sensors.open(path)


def test_damaged_ply_fails(tmp_path):
    path = tmp_path / "bad.ply"
    path.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 3\nend_header\n")
    with pytest.raises(sensors.SourceError, match="bad.ply"):
        sensors.open(path)


def write_video(path, count: int = 12):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(count):
        image = np.zeros((48, 64, 3), dtype=np.uint8)
        image[:, :, 2] = 20 * i  # red rises frame by frame (BGR order on disk)
        writer.write(image)
    writer.release()
    return path


def test_video_file_frames_carry_rgb_images(tmp_path):
    source = sensors.open(write_video(tmp_path / "clip.avi"))
    frames = list(source)
    assert len(frames) == 12 and not source.live and source.rate_hz == pytest.approx(10.0)
    assert frames[5].image.shape == (48, 64, 3) and len(frames[5]) == 0
    assert frames[5].image[..., 0].mean() == pytest.approx(100, abs=4)  # red channel first: RGB
    assert frames[5].timestamp == pytest.approx(0.5, abs=0.01)


def test_image_folder_skips_unreadable_images(tmp_path):
    import cv2

    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), np.full((8, 8, 3), 40 * i, dtype=np.uint8))
    (tmp_path / "0001.png").write_bytes(b"not a png")
    source = sensors.open(tmp_path)
    frames = list(source)
    assert len(frames) == 2
    assert sum(source.stats.skipped_frames.values()) == 1


def test_missing_camera_device_fails():
    with pytest.raises(sensors.SourceError, match="camera device"):
        sensors.open("camera://97")
    with pytest.raises(sensors.SourceError, match="must be an index"):
        sensors.open("camera://front")


def test_unreadable_video_fails(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"\x00" * 1000)
    with pytest.raises(sensors.SourceError, match="broken.mp4"):
        sensors.open(path)


OUSTER = [
    ("ouster/OS-1-32-G_v2.1.1_1024x10", "OS-1-32-G", 32, 0.833, (2.4, 204.3), 13.1),
    ("ouster/OS-0-128-U1_v2.3.0_1024x10", "OS-0-128", 128, 0.742, (0.2, 128.6), 7.5),
]


@pytest.mark.ouster
@pytest.mark.parametrize("stem, model, rows, fill, span, median", OUSTER)
def test_ouster_captures(data, stem, model, rows, fill, span, median):
    pytest.importorskip("ouster.sdk", reason="the ouster extra (ouster-sdk) is not installed")
    source = sensors.open(data(stem + ".pcap"))
    frames = list(source)
    assert source.sensor == model and source.rate_hz == 10.0
    assert len(frames) == 1
    frame = frames[0]
    assert len(frame) / (rows * 1024) == pytest.approx(fill, abs=0.001)
    distance = np.linalg.norm(frame.xyz, axis=1)
    assert span[0] - 0.05 < distance.min() and distance.max() < span[1] + 0.05
    assert np.median(distance) == pytest.approx(median, abs=0.1)
    assert set(np.unique(frame.ring)) == set(range(rows))
    assert 0.09 < frame.time.max() < 0.1
    # the lowest ring looks down, the highest up
    elevation = frame.points[:, 2] / distance
    assert np.median(elevation[frame.ring == 0]) < np.median(elevation[frame.ring == rows - 1])


@pytest.mark.ouster
def test_ouster_capture_without_metadata_fails(tmp_path, data):
    pytest.importorskip("ouster.sdk", reason="the ouster extra (ouster-sdk) is not installed")
    copy = tmp_path / "capture.pcap"
    copy.write_bytes(data("ouster/OS-1-32-G_v2.1.1_1024x10.pcap").read_bytes())
    # without a .json beside it the capture is taken for Velodyne, which finds no packets of its own
    with pytest.raises(sensors.SourceError, match="capture.pcap"):
        sensors.open(copy)
    wrong = tmp_path / "wrong.json"
    wrong.write_text("{}")
    with pytest.raises(sensors.SourceError, match="capture.pcap"):
        sensors.open(copy, metadata=str(wrong))
