"""The rapid_seg ROS 2 node run the way a vehicle runs it: its own process (in the core-only environment
where the install made one), the real VLP-16 bag's rotations published to it from another process, every
output checked against the pipeline on the same clouds, then stopped with SIGINT and with SIGTERM. Every
process runs in a loopback-only network namespace with loopback discovery (benchmarks/loopback.py)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sensors
from conftest import REPO, data_file
from sensors.point_fields import layout_columns
from sensors.ros_messages import pack_pointcloud2, pointcloud2_to_frame
from sensors.rosbag import pointcloud2_types, typestore
from test_runtime_only_install import RUNTIME_PYTHON

sys.path.insert(0, str(REPO / "benchmarks"))
from loopback import LOOPBACK_ENV, loopback_only  # noqa: E402

pytestmark = [pytest.mark.ros2, pytest.mark.slow,
              pytest.mark.skipif(importlib.util.find_spec("rclpy") is None, reason="ROS 2 (rclpy) is not installed")]

BAG = "ros2/velodyne_vlp16/1673400471837873222"
HARNESS = REPO / "benchmarks" / "ros2_node_harness.py"
PROFILE = REPO / "examples" / "ros2_node" / "config" / "fastdds_large_clouds.xml"
PARAMS = REPO / "examples" / "ros2_node" / "config" / "rapid_seg.param.yaml"
CLOUD_DTYPE = {"segmentation": [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("class_id", "u1")],
               "visualization": [("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")]}


def node_python() -> str:
    """The core-only environment's Python when it has ROS 2 (a vehicle's install), else this one."""
    if RUNTIME_PYTHON.is_file() and subprocess.run([str(RUNTIME_PYTHON), "-c", "import rclpy"]).returncode == 0:
        return str(RUNTIME_PYTHON)
    return sys.executable


def run_node(out: Path, *options: str) -> tuple[dict, dict]:
    command = [sys.executable, str(HARNESS), "--bag", str(data_file(BAG)), "--out", str(out),
               "--node-python", node_python(), *options]
    env = {**os.environ, **LOOPBACK_ENV, "FASTDDS_DEFAULT_PROFILES_FILE": str(PROFILE)}
    harness = subprocess.run(loopback_only(command), capture_output=True, text=True, env=env, timeout=600)
    assert harness.returncode == 0, harness.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    with np.load(out / "outputs.npz") as outputs:
        return run, {name: outputs[name] for name in outputs.files}


def expected_clouds():
    """The same clouds as the harness publishes (rosbags' message classes, same packing) and the pipeline's labels."""
    from sdk import Pipeline

    cloud, field, header, time = pointcloud2_types(typestore())
    frames = [f for f in sensors.open(data_file(BAG)) if len(f) > 10_000]
    messages = []
    for frame in frames:
        seconds, nanoseconds = divmod(round(frame.timestamp * 1e9), 10**9)
        messages.append(pack_pointcloud2(layout_columns(frame, "XYZIRC"), cloud, field,
                                         header(stamp=time(sec=seconds, nanosec=nanoseconds), frame_id="velodyne_top")))
    with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        labels = [pipeline(pointcloud2_to_frame(m)).labels for m in messages]
    return messages, labels


@pytest.fixture(scope="module")
def stopped_by_sigint(tmp_path_factory):
    return run_node(tmp_path_factory.mktemp("sigint"), "--signal", "SIGINT")


def test_every_output_matches_the_pipeline_on_the_same_cloud(stopped_by_sigint):
    run, outputs = stopped_by_sigint
    messages, labels = expected_clouds()
    assert [c["stamp"] for c in run["clouds"]] == [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in messages]
    assert all(c["complete"] for c in run["clouds"]), run["clouds"]
    ground = [sensors.SEMANTIC_KITTI.class_names.index(c) for c in ("road", "parking", "sidewalk", "other-ground", "terrain")]
    palette = np.array(sensors.SEMANTIC_KITTI.palette_rgb)
    for cloud, message, expected in zip(run["clouds"], messages, labels):
        key = cloud["stamp"]
        for name in ("segmentation", "visualization", "filtered"):
            assert str(outputs[f"{name}/{key}/frame_id"]) == "velodyne_top"
        segmentation = np.frombuffer(outputs[f"segmentation/{key}"].tobytes(), dtype=CLOUD_DTYPE["segmentation"])
        assert list(outputs[f"segmentation/{key}/fields"]) == ["x:0:7:1", "y:4:7:1", "z:8:7:1", "class_id:12:2:1"]
        np.testing.assert_array_equal(segmentation["class_id"], expected)
        source = np.frombuffer(bytes(message.data), dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rest", "V4")])
        np.testing.assert_array_equal(segmentation["x"], source["x"])
        visualization = np.frombuffer(outputs[f"visualization/{key}"].tobytes(), dtype=CLOUD_DTYPE["visualization"])
        rgb = visualization["rgb"]
        np.testing.assert_array_equal(np.stack([rgb >> 16 & 255, rgb >> 8 & 255, rgb & 255], axis=1), palette[expected])
        kept = np.frombuffer(bytes(message.data), dtype=np.dtype((np.void, message.point_step)))[~np.isin(expected, ground)]
        assert outputs[f"filtered/{key}"].tobytes() == kept.tobytes()
        assert list(outputs[f"filtered/{key}/fields"]) == [f"{f.name}:{f.offset}:{f.datatype}:{f.count}" for f in message.fields]


def test_debug_topics_and_diagnostics_describe_every_cloud(stopped_by_sigint):
    run, _ = stopped_by_sigint
    clouds = len(run["clouds"])
    assert {stage: len(values) for stage, values in run["debug_ms"].items()} == dict.fromkeys(run["debug_ms"], clouds)
    for i in range(clouds):
        stages = sum(run["debug_ms"][stage][i] for stage in ("preprocess", "infer", "postprocess"))
        assert 0 < stages <= run["debug_ms"]["processing_time"][i]
    statuses = [run["diagnostics"][str(c["stamp"])] for c in run["clouds"]]
    assert [int(s["values"]["processed"]) for s in statuses] == list(range(1, clouds + 1))
    for status, total in zip(statuses, run["debug_ms"]["processing_time"]):
        assert status["hardware_id"] == "velodyne_top" and status["values"]["failed"] == "0"
        assert status["level"] == (0 if total <= 100.0 else status["level"]) and status["level"] in (0, 1, 2)


def test_sigint_ends_the_node_cleanly(stopped_by_sigint):
    run, _ = stopped_by_sigint
    assert run["exit_code"] == 0, run["log"]
    assert "pipeline closed, node destroyed" in run["log"] and "Traceback" not in run["log"]


def test_sigterm_ends_the_node_cleanly(tmp_path):
    run, _ = run_node(tmp_path, "--signal", "SIGTERM", "--clouds", "1")
    assert run["started"] and run["clouds"][0]["complete"]
    assert run["exit_code"] == 0, run["log"]
    assert "pipeline closed, node destroyed" in run["log"] and "Traceback" not in run["log"]


def test_an_integer_budget_and_an_empty_class_list_are_accepted(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n    processing_time_budget_ms: 100\n    filtered_classes: []\n")
    run, outputs = run_node(tmp_path / "out", "--params", str(params), "--clouds", "1")
    assert run["started"] and run["exit_code"] == 0, run["log"]
    messages, _ = expected_clouds()
    assert outputs[f"filtered/{run['clouds'][0]['stamp']}"].tobytes() == bytes(messages[0].data)


@pytest.mark.parametrize("section, named", [("procesing_time_budget_ms: 80.0", "procesing_time_budget_ms"),
                                            ("runtime: cuda", "runtime"),
                                            ("filtered_classes: [roads]", "roads")])
def test_a_bad_parameter_file_stops_the_node_naming_the_key(tmp_path, section, named):
    params = tmp_path / "params.yaml"
    params.write_text(f"/**:\n  ros__parameters:\n    {section}\n")
    run, _ = run_node(tmp_path / "out", "--params", str(params), "--clouds", "1")
    assert not run["started"] and run["exit_code"] == 2
    assert named in run["log"] and "Traceback" not in run["log"]


def test_labels_are_drawn_into_each_camera_image(tmp_path):
    import cv2

    from sdk.apps.render import camera_overlay
    from sensors.calibration import read_calibration_json

    forward = [[0, -1, 0, 0], [0, 0, -1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]  # looking along the sensor's +x
    calibration = tmp_path / "calibration.json"
    calibration.write_text(json.dumps({"cameras": {"front": {"intrinsic_3x3": [[300, 0, 320], [0, 300, 240], [0, 0, 1]],
                                                              "frame_to_camera_4x4": forward, "width": 640, "height": 480}}}))
    image = np.full((480, 640, 3), 90, np.uint8)
    image[:, :320] = 160  # two halves, so a flipped or shifted overlay shows
    cv2.imwrite(str(tmp_path / "camera.png"), image[..., ::-1])
    params = tmp_path / "params.yaml"
    params.write_text(f"/**:\n  ros__parameters:\n    camera_calibration: {calibration}\n")
    run, outputs = run_node(tmp_path / "out", "--params", str(params), "--clouds", "2", "--camera-image", str(tmp_path / "camera.png"))
    assert run["started"] and all(c["complete"] for c in run["clouds"]), run["log"]
    messages, labels = expected_clouds()
    camera = read_calibration_json(calibration).cameras["front"]
    palette = np.array(sensors.SEMANTIC_KITTI.palette_rgb, dtype=np.uint8)
    for cloud, message, expected in zip(run["clouds"], messages, labels):
        drawn, shown = camera_overlay(image, camera, pointcloud2_to_frame(message).xyz, expected, palette)
        assert shown > 1000
        np.testing.assert_array_equal(outputs[f"overlay/front/{cloud['stamp']}"], drawn)
