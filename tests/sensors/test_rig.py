"""Rigs: sweeps with the camera images nearest in time, from the real samples, nuScenes- and KITTI-style
folders and live sources; late or missing images counted, never holding the sweep back; point colours."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import sensors
from sensors.calibration import read_calibration_json
from sensors.camera import NO_POINTS
from sensors.rig import LiveRig, nearest, point_colours
from sensors.source import Source

NUSCENES = "nuscenes_cameras/calibration.json"
KITTI = "kitti_object_000008/calibration.json"


def test_the_nuscenes_sample_opens_as_a_rig(data):
    source = sensors.open(data(NUSCENES))
    frame = next(iter(source))
    assert len(frame) == 34_688 and frame.sensor == "HDL-32E"
    assert set(frame.images) == set(frame.cameras) == {"CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK",
                                                      "CAM_BACK_LEFT", "CAM_BACK_RIGHT"}
    assert all(image.shape == (900, 1600, 3) and image.dtype == np.uint8 for image in frame.images.values())
    assert not source.stats.missing_images


def test_an_image_too_far_in_time_is_counted_and_the_sweep_kept(data):
    stamps = {name: entry["timestamp"] for name, entry in json.loads(data(NUSCENES).read_text())["cameras"].items()}
    sweep = 1532402927.647951
    source = sensors.open(data(NUSCENES), tolerance=0.02)
    frame = next(iter(source))
    late = {name for name, stamp in stamps.items() if abs(stamp - sweep) > 0.02}
    assert late and set(frame.images) == set(stamps) - late
    assert dict(source.stats.missing_images) == dict.fromkeys(late, 1) and len(frame) == 34_688


def test_a_nuscenes_style_folder_is_a_rig(data, tmp_path):
    calibration = read_calibration_json(data(NUSCENES))
    (tmp_path / "samples" / "LIDAR_TOP").mkdir(parents=True)
    (tmp_path / "samples" / "LIDAR_TOP" / calibration.lidar.name).symlink_to(calibration.lidar)
    for name, image in calibration.images.items():
        (tmp_path / "samples" / name).mkdir()
        (tmp_path / "samples" / name / image.name).symlink_to(image)
    (tmp_path / "calibration.json").write_text(data(NUSCENES).read_text())
    frame = next(iter(sensors.open(tmp_path)))
    expected = next(iter(sensors.open(data(NUSCENES))))
    assert set(frame.images) == set(expected.images)
    np.testing.assert_array_equal(frame.images["CAM_BACK"], expected.images["CAM_BACK"])


def test_a_kitti_style_folder_is_a_rig(data, tmp_path):
    entry = json.loads(data(KITTI).read_text())["cameras"]["CAM2"]
    for sub in ("velodyne", "image_2", "calib"):
        (tmp_path / sub).mkdir()
    (tmp_path / "velodyne" / "000008.bin").symlink_to(data("kitti_object_000008/000008.bin"))
    (tmp_path / "image_2" / "000008.png").symlink_to(data("kitti_object_000008/000008.png"))
    flat = lambda m: " ".join(f"{v:.12e}" for v in np.asarray(m).ravel())  # noqa: E731
    (tmp_path / "calib" / "000008.txt").write_text(
        f"P2: {flat(np.array(entry['projection_4x4'])[:3])}\nR0_rect: {flat(np.eye(3))}\n"
        f"Tr_velo_to_cam: {flat(np.array(entry['lidar_to_camera_4x4'])[:3])}\n")
    frame = next(iter(sensors.open(tmp_path)))
    assert frame.images["P2"].shape == (375, 1242, 3)
    assert frame.cameras["P2"].project(frame.xyz).visible.all()


def test_nearest_takes_the_closest_image_within_the_tolerance(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    assert nearest([(1.00, a), (1.08, b)], 1.05, 0.1) == b
    assert nearest([(1.00, a), (1.08, b)], 1.5, 0.1) is None
    assert nearest([(None, a)], 123.0, 0.1) == a  # a sample's one untimed image


class Scripted(Source):
    """Frames given in advance; `before` is waited for before the first one (to order threads, not to time them)."""

    def __init__(self, frames, before: threading.Event | None = None, after: threading.Event | None = None) -> None:
        super().__init__()
        self.frames, self.before, self.after = frames, before, after

    def _frames(self):
        if self.before is not None:
            self.before.wait(10)
        yield from self.frames
        if self.after is not None:
            self.after.set()


def test_a_live_rig_takes_the_latest_image_not_newer_than_the_sweep(data):
    calibration = read_calibration_json(data(KITTI))
    scan = next(iter(sensors.open(calibration.lidar)))
    sweeps = [sensors.Frame(points=scan.points, timestamp=t, sensor="HDL-64E") for t in (1.00, 1.10, 5.0)]
    images = [sensors.Frame(points=NO_POINTS, timestamp=t, sensor="camera", image=np.full((375, 1242, 3), i, np.uint8))
              for i, t in enumerate((0.95, 1.02, 1.07, 1.12))]
    cameras_done = threading.Event()
    rig = LiveRig(Scripted(sweeps, before=cameras_done), {"CAM2": Scripted(images, after=cameras_done)},
                  calibration.cameras, tolerance=0.1)
    frames = list(rig)
    assert [int(f.images["CAM2"][0, 0, 0]) for f in frames[:2]] == [0, 2]  # 0.95 for 1.00; 1.07 for 1.10, never 1.12
    assert "CAM2" not in frames[2].images and rig.stats.missing_images["CAM2"] == 1  # 5.0 s: nothing recent enough
    assert all(f.cameras["CAM2"] is calibration.cameras["CAM2"] for f in frames)


def test_point_colours_come_from_the_pixel_each_point_projects_to(data):
    frame = next(iter(sensors.open(data(KITTI))))
    colours, seen = point_colours(frame)
    lidar_to_image = np.array(json.loads(data(KITTI).read_text())["cameras"]["CAM2"]["lidar_to_image_4x4"])
    uvw = np.c_[frame.xyz, np.ones(len(frame))] @ lidar_to_image.T
    u, v = (uvw[:, 0] / uvw[:, 2]).astype(int), (uvw[:, 1] / uvw[:, 2]).astype(int)
    assert seen.all()
    np.testing.assert_array_equal(colours, frame.images["CAM2"][v, u])


def test_points_no_camera_sees_get_no_colour(data):
    frame = next(iter(sensors.open(data(NUSCENES))))
    colours, seen = point_colours(frame)
    union = np.any([camera.project(frame.xyz).visible for camera in frame.cameras.values()], axis=0)
    np.testing.assert_array_equal(seen, union)
    assert 0 < seen.sum() < len(frame) and not colours[~seen].any()


def test_image_history_keeps_order_and_never_gives_a_newer_image():
    from sensors.rig import ImageHistory

    history = ImageHistory(size=3)
    for stamp in (1.0, 2.0, 1.5, 3.0):  # 1.5 arrives late: dropped, the history stays sorted
        history.add(stamp, np.full((1, 1, 3), int(stamp * 10), np.uint8))
    assert history.latest_not_newer(2.9, 1.0)[0, 0, 0] == 20
    assert history.latest_not_newer(0.5, 1.0) is None
    assert history.latest_not_newer(9.0, 1.0) is None  # 6 s after the newest: too old


def test_image_messages_become_rgb(tmp_path):
    from types import SimpleNamespace

    from sensors.ros_messages import image_to_rgb

    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = np.zeros((2, 12), np.uint8)
    padded[:, :9] = rgb[..., ::-1].reshape(2, 9)  # bgr8 rows padded to a step of 12 bytes
    message = SimpleNamespace(encoding="bgr8", height=2, width=3, step=12, data=padded.tobytes())
    np.testing.assert_array_equal(image_to_rgb(message), rgb)
    with pytest.raises(ValueError, match="encoding 'mono16'"):
        image_to_rgb(SimpleNamespace(**{**vars(message), "encoding": "mono16"}))
    with pytest.raises(ValueError, match="holds 20 B"):
        image_to_rgb(SimpleNamespace(**{**vars(message), "data": bytes(20)}))


def test_a_live_rig_opens_from_sources_and_a_calibration_file(data):
    from sensors.calibration import CalibrationError
    from sensors.opener import open_live_rig

    calibration = data(KITTI)
    scan = next(iter(sensors.open(data("kitti_object_000008/000008.bin"))))
    done = threading.Event()
    camera = Scripted([sensors.Frame(points=NO_POINTS, timestamp=0.98, sensor="camera", image=np.zeros((375, 1242, 3), np.uint8))],
                      after=done)
    rig = open_live_rig(Scripted([sensors.Frame(points=scan.points, timestamp=1.0, sensor="HDL-64E")], before=done),
                        {"CAM2": camera}, calibration)
    frame = next(iter(rig))
    assert set(frame.images) == {"CAM2"} and frame.cameras["CAM2"].width == 1242
    with pytest.raises(CalibrationError, match=r"no calibration for camera\(s\) \['front'\]; it has \['CAM2'\]"):
        open_live_rig(Scripted([]), {"front": Scripted([])}, calibration)
