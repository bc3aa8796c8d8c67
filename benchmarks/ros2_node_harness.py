"""Drive the rapid_seg ROS 2 node as a vehicle runs it: the node in its own process, the real VLP-16 bag's
rotations published to it as Autoware XYZIRC PointCloud2 from this process, one cloud at a time, and every
output topic, debug timing topic and /diagnostics recorded; then the node is stopped with a signal and its
exit code and log kept. Run inside a loopback-only network namespace (benchmarks/loopback.py).

    python benchmarks/ros2_node_harness.py --bag BAG --out DIR [--node-python PY] [--signal SIGINT] [--clouds N]

Writes DIR/run.json (per cloud: end-to-end latency, what arrived; debug values; diagnostics; exit code)
and DIR/outputs.npz (each received output's bytes, for the test to compare with the pipeline's)."""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from array import array
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import Float64, Header

import sensors
from sdk.apps.ros2_core import DEBUG_TIMINGS, OUTPUTS, node_cameras, parameters_from_yaml
from sensors.point_fields import layout_columns
from sensors.rig import read_rgb
from sensors.ros_messages import pack_pointcloud2

REPO = Path(__file__).resolve().parent.parent
NODE_PACKAGE = REPO / "examples" / "ros2_node"
PARAMS = NODE_PACKAGE / "config" / "rapid_seg.param.yaml"
FRAME_ID = "velodyne_top"
MIN_ROTATION_POINTS = 10_000  # the bag's first and last rotations are partial


def bag_clouds(bag: Path, limit: int | None, repeat: int = 1) -> list[PointCloud2]:
    """The bag's full rotations as XYZIRC clouds, stamped with each rotation's time as a driver would;
    `repeat` plays them again, each pass stamped one bag length later (for latency statistics)."""
    frames = [f for f in sensors.open(bag) if len(f) > MIN_ROTATION_POINTS][:limit]
    span = frames[-1].timestamp - frames[0].timestamp + 0.1 if frames else 0.0
    clouds = []
    for cycle, frame in ((c, f) for c in range(repeat) for f in frames):
        seconds, nanoseconds = divmod(round((frame.timestamp + cycle * span) * 1e9), 10**9)
        header = Header(frame_id=FRAME_ID)
        header.stamp.sec, header.stamp.nanosec = seconds, nanoseconds
        clouds.append(pack_pointcloud2(layout_columns(frame, "XYZIRC"), PointCloud2, PointField, header,
                                       lambda raw: array("B", raw)))
    return clouds


def stamp_key(header) -> int:
    return header.stamp.sec * 10**9 + header.stamp.nanosec


class Recorder(Node):
    def __init__(self, cameras: tuple[str, ...] = ()) -> None:
        super().__init__("rapid_seg_harness")
        self.input = self.create_publisher(PointCloud2, "/rapid_seg/input/pointcloud", qos_profile_sensor_data)
        self.images = {name: self.create_publisher(Image, f"/rapid_seg/input/{name}/image", qos_profile_sensor_data)
                       for name in cameras}
        self.overlays: dict[str, dict[int, Image]] = {name: {} for name in cameras}
        self.overlay_subscriptions = [
            self.create_subscription(Image, f"/rapid_seg/output/{name}/overlay",
                                     lambda msg, name=name: self.overlays[name].__setitem__(stamp_key(msg.header), msg),
                                     qos_profile_sensor_data) for name in cameras]
        self.clouds: dict[str, dict[int, PointCloud2]] = {name: {} for name in OUTPUTS}
        self.arrival: dict[int, float] = {}
        self.output_subscriptions = [
            self.create_subscription(PointCloud2, f"/rapid_seg/output/pointcloud/{name}",
                                     lambda msg, name=name: self._on_cloud(name, msg), qos_profile_sensor_data)
            for name in OUTPUTS]
        self.debug: dict[str, list[float]] = {stage: [] for stage in DEBUG_TIMINGS}
        for stage in DEBUG_TIMINGS:
            self.create_subscription(Float64, f"/rapid_seg/debug/{stage}_ms",
                                     lambda msg, stage=stage: self.debug[stage].append(msg.data), 10)
        self.diagnostics: dict[int, dict] = {}
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)

    def _on_cloud(self, name: str, msg: PointCloud2) -> None:
        key = stamp_key(msg.header)
        self.clouds[name][key] = msg
        if name == "segmentation":
            self.arrival.setdefault(key, time.perf_counter())

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            self.diagnostics[stamp_key(msg.header)] = {
                "level": status.level[0] if isinstance(status.level, bytes) else int(status.level),
                "message": status.message, "hardware_id": status.hardware_id,
                "values": {kv.key: kv.value for kv in status.values}}

    def complete(self, key: int) -> bool:
        return (all(key in self.clouds[name] for name in OUTPUTS) and key in self.diagnostics
                and all(key in received for received in self.overlays.values()))

    def spin_until(self, done, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            rclpy.spin_once(self, timeout_sec=0.05)
        return done()


def start_node(python: str, params: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(NODE_PACKAGE), os.environ.get("PYTHONPATH")]))}
    command = [python, "-m", "rapid_edge_ros2.segmentation_node", "--ros-args", "--params-file", str(params)]
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=REPO)


def image_message(image: np.ndarray, header) -> Image:
    return Image(header=header, height=image.shape[0], width=image.shape[1], encoding="rgb8", is_bigendian=0,
                 step=image.shape[1] * 3, data=array("B", image.tobytes()))


def drive(recorder: Recorder, clouds: list[PointCloud2], per_cloud_timeout: float, attempts: int,
          camera_image: np.ndarray | None = None) -> list[dict]:
    """Publish each cloud once its predecessor's outputs are in, again (up to `attempts` times) while any is
    missing: the node computes only outputs whose subscribers it has discovered, and best-effort delivery may
    drop a message; `attempts` says how often that happened. With cameras, `camera_image` goes to each of them
    first, stamped as the cloud."""
    results = []
    for index, cloud in enumerate(clouds):
        key = stamp_key(cloud.header)
        for attempt in range(1, attempts + 1):
            for publisher in recorder.images.values():
                publisher.publish(image_message(camera_image, cloud.header))
            sent = time.perf_counter()
            recorder.input.publish(cloud)
            if recorder.spin_until(lambda: recorder.complete(key), per_cloud_timeout):
                break
        arrived = recorder.arrival.get(key)
        results.append({"stamp": key, "points": cloud.width, "bytes": len(cloud.data), "attempts": attempt,
                        "complete": recorder.complete(key),
                        "latency_ms": 1000 * (arrived - sent) if arrived is not None else None})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bag", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--node-python", default=sys.executable)
    parser.add_argument("--params", type=Path, default=PARAMS, help="the node's parameter file")
    parser.add_argument("--signal", choices=("SIGINT", "SIGTERM"), default="SIGINT")
    parser.add_argument("--clouds", type=int, default=None, help="the bag's first N full rotations (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="play the rotations this many times")
    parser.add_argument("--start-timeout", type=float, default=120.0)
    parser.add_argument("--per-cloud-timeout", type=float, default=5.0)
    parser.add_argument("--attempts", type=int, default=10)
    parser.add_argument("--camera-image", type=Path, default=None,
                        help="an image published to every camera of the parameters' camera_calibration before each cloud")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    clouds = bag_clouds(args.bag, args.clouds, args.repeat)

    cameras = tuple(node_cameras(parameters_from_yaml(args.params))) if args.camera_image else ()
    camera_image = read_rgb(args.camera_image) if args.camera_image else None

    rclpy.init()
    recorder = Recorder(cameras)
    node = start_node(args.node_python, args.params, args.out / "node.log")
    try:
        started = recorder.spin_until(lambda: node.poll() is not None or (
            recorder.input.get_subscription_count() > 0
            and all(s.get_publisher_count() > 0 for s in recorder.output_subscriptions + recorder.overlay_subscriptions)
            and all(p.get_subscription_count() > 0 for p in recorder.images.values())), args.start_timeout) \
            and node.poll() is None
        results = drive(recorder, clouds, args.per_cloud_timeout, args.attempts, camera_image) if started else []
        recorder.spin_until(lambda: all(len(v) >= len(results) for v in recorder.debug.values()), 5.0)
        node.send_signal(getattr(signal, args.signal))
        try:
            exit_code = node.wait(timeout=60)
        except subprocess.TimeoutExpired:
            node.kill()
            exit_code = None
    finally:
        if node.poll() is None:
            node.kill()
        recorder.destroy_node()
        rclpy.try_shutdown()

    arrays = {}
    for name, received in recorder.clouds.items():
        for key, msg in received.items():
            arrays[f"{name}/{key}"] = np.frombuffer(bytes(msg.data), dtype=np.uint8)
            arrays[f"{name}/{key}/fields"] = np.array([f"{f.name}:{f.offset}:{f.datatype}:{f.count}" for f in msg.fields])
            arrays[f"{name}/{key}/frame_id"] = np.array(msg.header.frame_id)
    for name, received in recorder.overlays.items():
        for key, msg in received.items():
            arrays[f"overlay/{name}/{key}"] = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
    np.savez(args.out / "outputs.npz", **arrays)
    (args.out / "run.json").write_text(json.dumps({
        "clouds": results, "debug_ms": recorder.debug,
        "diagnostics": {str(k): v for k, v in recorder.diagnostics.items()},
        "signal": args.signal, "exit_code": exit_code, "started": started, "node_python": args.node_python,
        "fastdds_profile": os.environ.get("FASTDDS_DEFAULT_PROFILES_FILE"),
        "log": (args.out / "node.log").read_text()}, indent=1))


if __name__ == "__main__":
    main()
