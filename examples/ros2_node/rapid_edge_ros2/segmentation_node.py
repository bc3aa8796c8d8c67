"""rclpy shell around sdk.apps.ros2_core.SegmentationCore, with the topics of Autoware's autoware_lidar_frnet:

    ~/input/pointcloud                    sensor_msgs/PointCloud2 (any layout; sensor-data QoS)
    ~/output/pointcloud/segmentation      x y z class_id
    ~/output/pointcloud/visualization     x y z rgb
    ~/output/pointcloud/filtered          the input layout minus `filtered_classes`
    ~/debug/processing_time_ms, ~/debug/<stage>_ms   std_msgs/Float64
    /diagnostics                          against `processing_time_budget_ms`
    ~/input/<camera>/image -> ~/output/<camera>/overlay   sensor_msgs/Image (rgb8 or bgr8 in, rgb8 out), for
                                          each camera of `camera_calibration`: the labels drawn into the latest
                                          image not newer than the cloud (within `camera_tolerance_s`)

Only outputs with subscribers are computed; with none, the cloud is not segmented at all. Ctrl-C and
SIGTERM end the node cleanly (pipeline closed, node destroyed, exit code 0)."""
from __future__ import annotations

import sys
from array import array
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.impl.implementation_singleton import rclpy_implementation
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, PointCloud2, PointField
from std_msgs.msg import Float64

from sdk.apps.ros2_core import (DEBUG_TIMINGS, OUTPUTS, MessageTypes, NodeParameters, SegmentationCore,
                                load_parameters, node_cameras, open_pipeline, parameter_schema)
from sensors.rig import ImageHistory
from sensors.ros_messages import image_to_rgb, stamp_seconds

RCLError = rclpy_implementation.RCLError

NAME = "rapid_seg"


class RapidSegNode(Node):
    def __init__(self) -> None:
        super().__init__(NAME)
        parameters = self._validated_parameters()  # a bad parameter file stops the node here, naming the key
        cameras = node_cameras(parameters)
        self.pipeline = open_pipeline(parameters)
        try:  # filtered classes the package does not have stop the node, the runtime released first
            self.core = SegmentationCore(self.pipeline, parameters,
                                         MessageTypes(PointCloud2, PointField, lambda raw: array("B", raw)), cameras)
        except ValueError:
            self.pipeline.close()
            raise
        self.images = {name: ImageHistory() for name in cameras}
        self.overlays = {name: self.create_publisher(Image, f"~/output/{name}/overlay", qos_profile_sensor_data)
                         for name in cameras}
        for name in cameras:
            self.create_subscription(Image, f"~/input/{name}/image", lambda msg, name=name: self.on_image(name, msg),
                                     qos_profile_sensor_data)
        self.outputs = {name: self.create_publisher(PointCloud2, f"~/output/pointcloud/{name}", qos_profile_sensor_data)
                        for name in OUTPUTS}
        self.debug = {stage: self.create_publisher(Float64, f"~/debug/{stage}_ms", 10) for stage in DEBUG_TIMINGS}
        self.diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(PointCloud2, "~/input/pointcloud", self.on_cloud, qos_profile_sensor_data)
        self.get_logger().info(f"rapid_seg on {self.pipeline.runner.name}: {self.pipeline.reason}")

    def _validated_parameters(self) -> NodeParameters:
        """Every parameter given to the node (a file or -p), checked against the schema before anything is
        declared: rclpy would otherwise ignore a misspelled key, reject an integer where the default is a float,
        and type an empty list as unset. ROS's own parameters (use_sim_time) are left to ROS."""
        given = {name: _value(override) for name, override in self._parameter_overrides.items()
                 if not self.has_parameter(name)}
        parameters = load_parameters(given, f"node {self.get_fully_qualified_name()}")
        schema = parameter_schema()["properties"]
        for name, value in vars(parameters).items():
            value = list(value) if isinstance(value, tuple) else value
            self.declare_parameter(name, value, ParameterDescriptor(description=schema[name]["description"], read_only=True,
                                                                    dynamic_typing=value == []), ignore_override=True)
        return parameters

    def on_image(self, name: str, message: Image) -> None:
        try:
            self.images[name].add(stamp_seconds(message.header.stamp), image_to_rgb(message))
        except ValueError as err:  # a bad image is skipped, never stops the node
            self.get_logger().warning(f"camera {name}: image skipped: {err}", throttle_duration_sec=5.0)

    def on_cloud(self, cloud: PointCloud2) -> None:
        wanted = {name for name, publisher in self.outputs.items() if publisher.get_subscription_count() > 0}
        drawn = {name for name, publisher in self.overlays.items() if publisher.get_subscription_count() > 0}
        if not wanted and not drawn:
            return
        result = self.core.process(cloud, wanted)
        for name in wanted:
            if result.messages[name] is not None:
                self.outputs[name].publish(result.messages[name])
        for stage, publisher in self.debug.items():
            if stage in result.timings and publisher.get_subscription_count() > 0:
                publisher.publish(Float64(data=float(result.timings[stage])))
        status = DiagnosticStatus(level=bytes([result.diagnostic.level]), name="rapid_seg: processing time",
                                  message=result.diagnostic.message, hardware_id=cloud.header.frame_id,
                                  values=[KeyValue(key=k, value=v) for k, v in result.diagnostic.values.items()])
        self.diagnostics.publish(DiagnosticArray(header=cloud.header, status=[status]))
        if result.segmentation is None or not drawn:
            return
        stamp = stamp_seconds(cloud.header.stamp)
        images = {name: image for name in drawn
                  if (image := self.images[name].latest_not_newer(stamp, self.core.parameters.camera_tolerance_s)) is not None}
        for name, overlay in self.core.overlays(result.segmentation, images).items():
            self.overlays[name].publish(Image(header=cloud.header, height=overlay.shape[0], width=overlay.shape[1],
                                              encoding="rgb8", is_bigendian=0, step=overlay.shape[1] * 3,
                                              data=array("B", overlay.tobytes())))

    def close(self) -> None:
        """After a signal the context is already shut down: the last line goes to the console, not /rosout."""
        self.pipeline.close()
        self.destroy_node()
        rclpy.logging.get_logger(NAME).info("pipeline closed, node destroyed")


def _value(override) -> Any:
    """A parameter override's value; an empty YAML list arrives as 'not set' and means []."""
    return [] if override.type_ == override.Type.NOT_SET else override.value


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    try:
        node = RapidSegNode()
    except ValueError as err:  # a bad parameter, package or runtime: one line naming it, no traceback
        print(f"rapid_seg: {err}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass  # Ctrl-C, SIGTERM or a shutdown from elsewhere: a normal end
    except RCLError:
        # rclpy's signal thread can shut the context down between spin's ok() check and its wait set: still a
        # normal end when the context is gone; any other rcl failure is a real error.
        if rclpy.ok():
            raise
    finally:
        node.close()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
