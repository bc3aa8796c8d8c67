"""rclpy shell around sdk.ros2_core.SegmentationCore, with the topics of Autoware's autoware_lidar_frnet:

    ~/input/pointcloud                    sensor_msgs/PointCloud2 (any layout; sensor-data QoS)
    ~/output/pointcloud/segmentation      x y z class_id
    ~/output/pointcloud/visualization     x y z rgb
    ~/output/pointcloud/filtered          the input layout minus `filtered_classes`
    ~/debug/processing_time_ms, ~/debug/<stage>_ms   std_msgs/Float64
    /diagnostics                          against `processing_time_budget_ms`

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
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Float64

from sdk.ros2_core import OUTPUTS, MessageTypes, NodeParameters, SegmentationCore, load_parameters, open_pipeline, parameter_schema

STAGES = ("preprocess", "infer", "postprocess", "processing_time")
NAME = "rapid_seg"


class RapidSegNode(Node):
    def __init__(self) -> None:
        super().__init__(NAME)
        parameters = self._validated_parameters()  # a bad parameter file stops the node here, naming the key
        self.pipeline = open_pipeline(parameters)
        self.core = SegmentationCore(self.pipeline, parameters, MessageTypes(PointCloud2, PointField, lambda raw: array("B", raw)))
        self.outputs = {name: self.create_publisher(PointCloud2, f"~/output/pointcloud/{name}", qos_profile_sensor_data)
                        for name in OUTPUTS}
        self.debug = {stage: self.create_publisher(Float64, f"~/debug/{stage}_ms", 10) for stage in STAGES}
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

    def on_cloud(self, cloud: PointCloud2) -> None:
        wanted = {name for name, publisher in self.outputs.items() if publisher.get_subscription_count() > 0}
        if not wanted:
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
    finally:
        node.close()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
