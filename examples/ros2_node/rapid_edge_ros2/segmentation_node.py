"""rclpy shell around sdk.ros2_core.SegmentationCore, with the topics of Autoware's autoware_lidar_frnet:

    ~/input/pointcloud                    sensor_msgs/PointCloud2 (any layout; sensor-data QoS)
    ~/output/pointcloud/segmentation      x y z class_id
    ~/output/pointcloud/visualization     x y z rgb
    ~/output/pointcloud/filtered          the input layout minus `filtered_classes`
    ~/debug/processing_time_ms, ~/debug/<stage>_ms   std_msgs/Float64
    /diagnostics                          against `processing_time_budget_ms`

Only outputs with subscribers are computed; with none, the cloud is not segmented at all."""
from __future__ import annotations

from array import array

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import PointCloud2, PointField
from std_msgs.msg import Float64

from sdk import Pipeline
from sdk.ros2_core import OUTPUTS, MessageTypes, NodeParameters, SegmentationCore, load_parameters

STAGES = ("preprocess", "infer", "postprocess", "processing_time")


class RapidSegNode(Node):
    def __init__(self) -> None:
        super().__init__("rapid_seg")
        defaults = NodeParameters()
        values = {name: self.declare_parameter(name, list(default) if isinstance(default, tuple) else default).value
                  for name, default in vars(defaults).items()}
        parameters = load_parameters(values)  # a bad parameter file stops the node here, naming the key
        pipeline = Pipeline("rapid_seg", parameters.runtime, parameters.package or None,
                            neighbour_vote=parameters.neighbour_vote)
        self.core = SegmentationCore(pipeline, parameters, MessageTypes(PointCloud2, PointField, lambda raw: array("B", raw)))
        self.outputs = {name: self.create_publisher(PointCloud2, f"~/output/pointcloud/{name}", qos_profile_sensor_data)
                        for name in OUTPUTS}
        self.debug = {stage: self.create_publisher(Float64, f"~/debug/{stage}_ms", 10) for stage in STAGES}
        self.diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_subscription(PointCloud2, "~/input/pointcloud", self.on_cloud, qos_profile_sensor_data)
        self.get_logger().info(f"rapid_seg on {pipeline.runner.name}: {pipeline.reason}")

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


def main() -> None:
    rclpy.init()
    node = RapidSegNode()
    try:
        rclpy.spin(node)
    except KeyboardInterrupt:
        pass
    finally:
        node.core.pipeline.close()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
