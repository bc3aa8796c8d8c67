"""The ROS-free core of the ROS 2 node (examples/ros2_node), after Autoware's autoware_lidar_frnet: a
PointCloud2 in (any layout), the outputs a subscriber wants out, timings and a diagnostic against the
processing-time budget. It works on any message classes with ROS's attribute names: rclpy's on a
vehicle, rosbags' in the tests."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import sensors
from sensors.ros_messages import pack_pointcloud2, pointcloud2_points, pointcloud2_to_frame

from .pipeline import Pipeline

OUTPUTS = ("segmentation", "visualization", "filtered")
SCHEMA = Path(__file__).resolve().parent / "ros2_parameters.schema.json"
OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


@dataclass(frozen=True)
class NodeParameters:
    runtime: str = "auto"
    package: str = ""
    #: classes left out of ~/output/pointcloud/filtered (default: the ground, as a ground filter would)
    filtered_classes: tuple[str, ...] = ("road", "parking", "sidewalk", "other-ground", "terrain")
    #: processing time per cloud above which /diagnostics warns, milliseconds (10 Hz sensor: 100)
    processing_time_budget_ms: float = 100.0
    #: the neighbour vote after the argmax (false: the network's labels alone, ~9 ms sooner on 2 cores)
    neighbour_vote: bool = True


def load_parameters(values: dict[str, Any]) -> NodeParameters:
    """Validate a node's parameters (the `ros__parameters` mapping) against the schema; the error names the key."""
    import json

    import jsonschema

    try:
        jsonschema.validate(values, json.loads(SCHEMA.read_text()))
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "parameters"
        raise ValueError(f"{where}: {err.message}") from None
    classes = set(sensors.SEMANTIC_KITTI.class_names[1:])
    unknown = [name for name in values.get("filtered_classes", ()) if name not in classes]
    if unknown:
        raise ValueError(f"filtered_classes: unknown class names {unknown}; known: {sorted(classes)}")
    return NodeParameters(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def parameters_from_yaml(path: Path, node: str = "rapid_seg") -> NodeParameters:
    """The node's section of a ROS 2 parameter file (`<node or /**>: ros__parameters: {...}`)."""
    import yaml

    document = yaml.safe_load(Path(path).read_text()) or {}
    section = document.get(node) or document.get("/**") or {}
    return load_parameters(section.get("ros__parameters", {}))


@dataclass
class MessageTypes:
    """The message classes to build outputs with, and how their `data` field wants its bytes."""

    cloud: type
    field: type
    data: Callable[[bytes], Any] = lambda raw: np.frombuffer(raw, dtype=np.uint8)


@dataclass
class Diagnostic:
    level: int
    message: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class NodeOutputs:
    """Messages for the wanted outputs only (None for the others), timings in ms, and the diagnostic."""

    messages: dict[str, Any]
    timings: dict[str, float]
    diagnostic: Diagnostic


class SegmentationCore:
    def __init__(self, pipeline: Pipeline, parameters: NodeParameters, types: MessageTypes) -> None:
        self.pipeline, self.parameters, self.types = pipeline, parameters, types
        names = sensors.SEMANTIC_KITTI.class_names
        self.excluded = np.array([name in parameters.filtered_classes for name in names])
        self.palette = np.array(sensors.SEMANTIC_KITTI.palette_rgb, dtype=np.uint32)
        self.processed = self.failed = self.over_budget = 0

    def process(self, cloud: Any, wanted: set[str]) -> NodeOutputs:
        """One input cloud. A cloud that cannot be read or segmented gives no messages and an ERROR diagnostic."""
        start = time.perf_counter()
        try:
            frame = pointcloud2_to_frame(cloud)
            result = self.pipeline(frame)
        except Exception as err:  # a bad message never stops the node
            self.failed += 1
            return NodeOutputs({name: None for name in OUTPUTS}, {},
                               Diagnostic(ERROR, f"cloud skipped: {type(err).__name__}: {err}", self._counts()))
        builders = {"segmentation": self._segmentation, "visualization": self._visualization, "filtered": self._filtered}
        messages = {name: builders[name](cloud, result) if name in wanted else None for name in OUTPUTS}
        total = 1000 * (time.perf_counter() - start)
        self.processed += 1
        timings = {**result.timings, "processing_time": total}
        budget = self.parameters.processing_time_budget_ms
        if total > budget:
            self.over_budget += 1
            diagnostic = Diagnostic(WARN, f"processing took {total:.1f} ms, over the {budget:g} ms budget", self._counts())
        else:
            diagnostic = Diagnostic(OK, f"processing {total:.1f} ms within {budget:g} ms", self._counts())
        return NodeOutputs(messages, timings, diagnostic)

    def _counts(self) -> dict[str, str]:
        return {"processed": str(self.processed), "failed": str(self.failed), "over_budget": str(self.over_budget),
                "runtime": self.pipeline.runner.name}

    def _pack(self, columns: list[tuple[str, np.ndarray]], header: Any) -> Any:
        return pack_pointcloud2(columns, self.types.cloud, self.types.field, header, self.types.data)

    def _segmentation(self, cloud: Any, result) -> Any:
        points = result.frame.points
        return self._pack([("x", points[:, 0]), ("y", points[:, 1]), ("z", points[:, 2]),
                           ("class_id", result.labels.astype(np.uint8))], cloud.header)

    def _visualization(self, cloud: Any, result) -> Any:
        """x y z rgb, rgb packed into a float32 as PCL and RViz read it."""
        rgb = self.palette[result.labels]
        packed = ((rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32).view(np.float32)
        points = result.frame.points
        return self._pack([("x", points[:, 0]), ("y", points[:, 1]), ("z", points[:, 2]), ("rgb", packed)], cloud.header)

    def _filtered(self, cloud: Any, result) -> Any:
        """The input's own layout and bytes, minus the points of the filtered classes."""
        kept = pointcloud2_points(cloud)[~self.excluded[result.labels]]
        return self.types.cloud(header=cloud.header, height=1, width=len(kept), fields=cloud.fields,
                                is_bigendian=cloud.is_bigendian, point_step=cloud.point_step,
                                row_step=cloud.point_step * len(kept), data=self.types.data(kept.tobytes()),
                                is_dense=cloud.is_dense)
