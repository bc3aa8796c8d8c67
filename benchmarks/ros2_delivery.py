"""Best-effort PointCloud2 delivery between two processes through Fast DDS, one role per process:

    python benchmarks/ros2_delivery.py publish --bytes 2000000 --count 50
    python benchmarks/ros2_delivery.py receive --seconds 12      # prints a JSON line

The publisher waits for the subscriber, then sends `count` clouds at 10 Hz (the sensor-data QoS the node
uses); the receiver counts what arrives and how long each took (the publisher's stamp against the receive
time, one clock: both run on this machine). Run by benchmarks/ros2_node.py inside a loopback-only namespace."""
from __future__ import annotations

import argparse
import json
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import PointCloud2

TOPIC = "/rapid_edge/delivery_check"
POINT_STEP = 16  # XYZIRC


def publish(size: int, count: int, period: float) -> None:
    node = Node("delivery_publisher")
    publisher = node.create_publisher(PointCloud2, TOPIC, qos_profile_sensor_data)
    deadline = time.monotonic() + 30
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # let the subscriber's side of discovery finish too
    message = PointCloud2(height=1, width=size // POINT_STEP, point_step=POINT_STEP, row_step=size, data=bytes(size))
    for _ in range(count):
        now = time.time_ns()
        message.header.stamp.sec, message.header.stamp.nanosec = divmod(now, 10**9)
        publisher.publish(message)
        time.sleep(period)
    node.destroy_node()


def receive(seconds: float) -> dict:
    node = Node("delivery_receiver")
    latencies: list[float] = []
    sizes: set[int] = set()

    def on_cloud(message: PointCloud2) -> None:
        sent = message.header.stamp.sec * 10**9 + message.header.stamp.nanosec
        latencies.append((time.time_ns() - sent) / 1e6)
        sizes.add(len(message.data))

    node.create_subscription(PointCloud2, TOPIC, on_cloud, qos_profile_sensor_data)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    return {"received": len(latencies), "latency_ms": latencies, "sizes": sorted(sizes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=("publish", "receive"))
    parser.add_argument("--bytes", type=int, default=2_000_000)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--period", type=float, default=0.1)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    rclpy.init()
    try:
        if args.role == "publish":
            publish(args.bytes, args.count, args.period)
        else:
            print(json.dumps(receive(args.seconds)))
    finally:
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
