"""Camera calibration on the real samples: projection against an independent computation of the same
matrices, the pinhole model, the six nuScenes cameras' fields of view, and bad calibrations named."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

import sensors
from sensors.calibration import (Camera, CalibrationError, camera_from_camera_info, read_calibration_json,
                                 read_kitti_calib)

NUSCENES = "nuscenes_cameras/calibration.json"
KITTI = "kitti_object_000008/calibration.json"
#: points of the nuScenes sweep inside each 1600 x 900 image with positive depth (SOURCES.md, section 7)
NUSCENES_VISIBLE = {"CAM_FRONT": 3067, "CAM_BACK": 4826}


def raw_nuscenes_points(calibration) -> np.ndarray:
    """The sweep as stored (nuScenes' LIDAR_TOP frame), read without the SDK."""
    return np.fromfile(calibration.lidar, dtype=np.float32).reshape(-1, 5)[:, :3].astype(np.float64)


def test_nuscenes_projection_matches_the_raw_matrices(data):
    calibration = read_calibration_json(data(NUSCENES))
    document = json.loads(data(NUSCENES).read_text())
    frame = next(iter(sensors.open(calibration.lidar)))
    raw = raw_nuscenes_points(calibration)
    for name, camera in calibration.cameras.items():
        entry = document["cameras"][name]
        in_camera = np.c_[raw, np.ones(len(raw))] @ np.array(entry["lidar_to_camera_4x4"]).T
        uvw = in_camera[:, :3] @ np.array(entry["intrinsic_3x3"]).T
        front = in_camera[:, 2] > 0.1
        expected = uvw[front, :2] / uvw[front, 2:3]
        inside = (expected[:, 0] >= 0) & (expected[:, 0] < 1600) & (expected[:, 1] >= 0) & (expected[:, 1] < 900)
        projection = camera.project(frame.xyz)
        np.testing.assert_allclose(projection.pixels[front], expected, atol=1e-3)
        assert projection.visible.sum() == inside.sum()
        if name in NUSCENES_VISIBLE:
            assert projection.visible.sum() == NUSCENES_VISIBLE[name]


def test_kitti_projection_matches_lidar_to_image(data):
    calibration = read_calibration_json(data(KITTI))
    frame = next(iter(sensors.open(calibration.lidar)))
    lidar_to_image = np.array(json.loads(data(KITTI).read_text())["cameras"]["CAM2"]["lidar_to_image_4x4"])
    uvw = np.c_[frame.xyz, np.ones(len(frame))] @ lidar_to_image.T
    pixels, depth, visible = calibration.cameras["CAM2"].project(frame.xyz)
    np.testing.assert_allclose(pixels, uvw[:, :2] / uvw[:, 2:3], atol=1e-6)
    np.testing.assert_allclose(depth, uvw[:, 2], atol=1e-6)  # P2 = K [I | t]: w is the depth in camera 2
    assert visible.all() and len(frame) == 17_238


def test_a_point_moved_1m_moves_its_pixel_as_the_pinhole_model_says(data):
    camera = read_calibration_json(data(NUSCENES)).cameras["CAM_FRONT"]
    (fx, _, cx), (_, fy, cy) = camera.intrinsics[:2]
    to_frame = np.linalg.inv(camera.frame_to_camera)

    def in_frame(x: float, y: float, z: float) -> np.ndarray:
        return (to_frame @ [x, y, z, 1.0])[:3][None]

    on_axis = camera.project(in_frame(0, 0, 10)).pixels[0]
    np.testing.assert_allclose(on_axis, [cx, cy], atol=1e-9)
    np.testing.assert_allclose(camera.project(in_frame(0, 0, 11)).pixels[0], [cx, cy], atol=1e-9)  # along the axis: still
    np.testing.assert_allclose(camera.project(in_frame(1, 0, 10)).pixels[0], [cx + fx / 10, cy], atol=1e-9)
    np.testing.assert_allclose(camera.project(in_frame(0, 1, 10)).pixels[0], [cx, cy + fy / 10], atol=1e-9)
    np.testing.assert_allclose(camera.project(in_frame(1, 0, 11)).pixels[0], [cx + fx / 11, cy], atol=1e-9)


def test_the_six_cameras_see_what_they_should(data):
    calibration = read_calibration_json(data(NUSCENES))
    frame = next(iter(sensors.open(calibration.lidar)))
    visible = {name: camera.project(frame.xyz).visible for name, camera in calibration.cameras.items()}
    assert not (visible["CAM_FRONT"] & visible["CAM_BACK"]).any()
    assert (frame.xyz[visible["CAM_FRONT"], 0] > 0).all() and (frame.xyz[visible["CAM_BACK"], 0] < 0).all()
    for name, camera in calibration.cameras.items():  # inside each camera's horizontal field of view
        in_camera = camera.camera_points(frame.xyz[visible[name]])
        (fx, _, cx) = camera.intrinsics[0]
        angle = np.arctan2(in_camera[:, 0], in_camera[:, 2])
        assert (angle >= np.arctan2(-cx, fx) - 1e-9).all() and (angle <= np.arctan2(camera.width - cx, fx) + 1e-9).all()
    seen = np.any(list(visible.values()), axis=0)
    azimuth = np.degrees(np.arctan2(frame.xyz[seen, 1], frame.xyz[seen, 0]))
    assert np.unique(np.floor(azimuth / 10)).size == 36  # together they see every 10-degree sector around the car


def test_kitti_calib_text_gives_the_same_camera_as_the_sample_json(data, tmp_path):
    entry = json.loads(data(KITTI).read_text())["cameras"]["CAM2"]
    flat = lambda m: " ".join(f"{v:.12e}" for v in np.asarray(m).ravel())  # noqa: E731
    text = tmp_path / "000008.txt"
    text.write_text(f"P0: {flat(np.eye(3, 4))}\nP2: {flat(np.array(entry['projection_4x4'])[:3])}\n"
                    f"R0_rect: {flat(np.eye(3))}\nTr_velo_to_cam: {flat(np.array(entry['lidar_to_camera_4x4'])[:3])}\n")
    from_text = read_kitti_calib(text)
    from_json = read_calibration_json(data(KITTI)).cameras["CAM2"]
    np.testing.assert_allclose(from_text.frame_to_camera, from_json.frame_to_camera, atol=1e-9)
    np.testing.assert_allclose(from_text.intrinsics, from_json.intrinsics)
    text.write_text(text.read_text().replace("R0_rect", "R1_rect"))
    with pytest.raises(CalibrationError, match="000008.txt: no R0_rect line"):
        read_kitti_calib(text)


def test_camera_info_with_distortion_goes_through_opencv():
    info = SimpleNamespace(k=[500.0, 0, 320, 0, 500, 240, 0, 0, 1], d=[0.2, 0.0, 0.0, 0.0, 0.0], width=640, height=480,
                           distortion_model="plumb_bob", header=SimpleNamespace(frame_id="front_optical"))
    to_camera = np.array([[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    distorted = camera_from_camera_info(info, to_camera)
    ideal = camera_from_camera_info(SimpleNamespace(**{**vars(info), "d": [0.0] * 5}), to_camera)
    assert distorted.name == "front_optical" and ideal.distortion == ()
    point = np.array([[10.0, -3.0, 0.0]])  # 3 m right of the axis at 10 m
    u_ideal, u_distorted = ideal.project(point).pixels[0, 0], distorted.project(point).pixels[0, 0]
    radius = 0.3  # normalised image radius
    assert u_ideal == pytest.approx(320 + 500 * radius)
    assert u_distorted == pytest.approx(320 + 500 * radius * (1 + 0.2 * radius**2))
    with pytest.raises(CalibrationError, match="distortion model 'fisheye'"):
        camera_from_camera_info(SimpleNamespace(**{**vars(info), "distortion_model": "fisheye"}), to_camera)


def broken(data, tmp_path, change) -> str:
    document = json.loads(data(NUSCENES).read_text())
    for entry in document["cameras"].values():
        (tmp_path / entry["image"]).symlink_to(data(NUSCENES).parent / entry["image"])
    change(document)
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d["cameras"]["CAM_FRONT"]["lidar_to_camera_4x4"][0].__setitem__(0, 0.0), "CAM_FRONT: lidar_to_camera_4x4: .*"),
    (lambda d: d["cameras"]["CAM_BACK"].__setitem__("intrinsic_3x3", [[1, 0], [0, 1]]), r"CAM_BACK: intrinsics: shape \(2, 2\)"),
    (lambda d: d["cameras"]["CAM_BACK"]["lidar_to_camera_4x4"].__setitem__(3, [0, 0, 1, 1]), "bottom row"),
    (lambda d: d["cameras"]["CAM_FRONT"].pop("lidar_to_camera_4x4"), "CAM_FRONT: missing 'lidar_to_camera_4x4'"),
    (lambda d: d["cameras"]["CAM_FRONT"]["intrinsic_3x3"][0].__setitem__(0, float("nan")), "NaN"),
    (lambda d: d.pop("cameras"), "no `cameras` mapping"),
])
def test_a_bad_calibration_fails_naming_the_file_and_the_problem(data, tmp_path, change, message):
    path = broken(data, tmp_path, change)
    with pytest.raises(CalibrationError, match=f"{path}: .*{message}" if not message.startswith("no") else message):
        read_calibration_json(path)


def test_a_camera_named_twice_is_refused(data, tmp_path):
    text = data(NUSCENES).read_text()
    cameras = json.loads(text)["cameras"]
    front = json.dumps(cameras["CAM_FRONT"])
    path = tmp_path / "calibration.json"
    path.write_text(text.replace('"cameras": {', f'"cameras": {{"CAM_BACK": {front}, ', 1))
    with pytest.raises(CalibrationError, match="named twice: CAM_BACK"):
        read_calibration_json(path)


def test_cameras_check_their_own_values():
    with pytest.raises(CalibrationError, match="image size 0 x 10"):
        Camera("c", np.eye(3), 0, 10, np.eye(4))
    with pytest.raises(CalibrationError, match="3 distortion coefficients"):
        Camera("c", np.eye(3), 10, 10, np.eye(4), (0.1, 0.0, 0.0))
    with pytest.raises(CalibrationError, match="not invertible"):
        Camera("c", np.eye(3), 10, 10, np.diag([1.0, 1.0, 0.0, 1.0]))


def test_the_sdks_own_format_is_in_the_frames_convention(tmp_path):
    forward = [[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"cameras": {"front": {"intrinsic_3x3": [[300, 0, 320], [0, 300, 240], [0, 0, 1]],
                                                       "frame_to_camera_4x4": forward, "width": 640, "height": 480,
                                                       "distortion": [0.0, 0.0, 0.0, 0.0, 0.0]}}}))
    camera = read_calibration_json(path).cameras["front"]
    projection = camera.project(np.array([[10.0, 1.0, 0.5], [-10.0, 0.0, 0.0]]))  # ahead, a bit left and up; behind
    np.testing.assert_allclose(projection.pixels[0], [320 - 30, 240 - 15])
    assert projection.visible.tolist() == [True, False]
