"""The ROS-free core of the ROS 2 node (examples/ros2_node), after Autoware's autoware_lidar_frnet: a
PointCloud2 in (any layout), the outputs a subscriber wants out, timings and a diagnostic against the
processing-time budget. It works on any message classes with ROS's attribute names: rclpy's on a
vehicle, rosbags' in the tests."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import sensors
from sensors.pointcloud_files import pack_rgb
from sensors.point_fields import IntensityScale
from sensors.ros_messages import pack_pointcloud2, pointcloud2_points, pointcloud2_to_frame

from sdk.apps.render import camera_overlay
from sdk.options import ModelOptions, PostprocessOptions
from sdk.pipeline import Pipeline
from sdk.segmentation.steps import STAGES

OUTPUTS = ("segmentation", "visualization", "filtered")
PROCESSING_TIME = "processing_time"
#: the node's ~/debug/<name>_ms topics: the pipeline's stages and the whole cloud's processing time
DEBUG_TIMINGS = (*STAGES, PROCESSING_TIME)
SCHEMA = Path(__file__).resolve().parent / "ros2_parameters.schema.json"
OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


@dataclass(frozen=True)
class NodeParameters:
    """The node's parameters; their defaults, types and ranges live in the schema (and its YAML), not here."""

    runtime: str
    package: str
    filtered_classes: tuple[str, ...]
    processing_time_budget_ms: float
    consecutive_over_budget_for_error: int
    neighbour_vote: bool
    camera_calibration: str
    camera_tolerance_s: float


def parameter_schema() -> dict[str, Any]:
    return json.loads(SCHEMA.read_text())


def load_parameters(values: dict[str, Any], source: str = "parameters") -> NodeParameters:
    """Validate a node's parameters (the `ros__parameters` mapping) against the schema, every key of it
    (unknown ones included), and fill the rest from the schema's defaults; the error names `source` and the key."""
    import jsonschema

    schema = parameter_schema()
    try:
        jsonschema.validate(values, schema)
    except jsonschema.ValidationError as err:
        where = ".".join(str(p) for p in err.absolute_path) or "parameters"
        raise ValueError(f"{source}: {where}: {err.message}") from None
    merged = {name: values.get(name, spec["default"]) for name, spec in schema["properties"].items()}
    return NodeParameters(**{**merged, "filtered_classes": tuple(merged["filtered_classes"]),
                             "processing_time_budget_ms": float(merged["processing_time_budget_ms"]),
                             "camera_tolerance_s": float(merged["camera_tolerance_s"])})


def parameters_from_yaml(path: Path, node: str = "rapid_seg") -> NodeParameters:
    """The node's section of a ROS 2 parameter file (`<node or /**>: ros__parameters: {...}`)."""
    import yaml

    document = yaml.safe_load(Path(path).read_text()) or {}
    section = document.get(node) or document.get(f"/{node}") or document.get("/**") or {}
    return load_parameters(section.get("ros__parameters", {}), str(path))


def open_pipeline(parameters: NodeParameters) -> Pipeline:
    """The pipeline the node runs, opened the same way by the node and by `rapid-edge ros2 check` (which thereby
    builds a TensorRT engine before the vehicle drives); it never exports a model."""
    return Pipeline("rapid_seg", parameters.runtime, parameters.package or None, model=ModelOptions(allow_export=False),
                    postprocess=PostprocessOptions(neighbour_vote=parameters.neighbour_vote)).open()


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
    """Messages for the wanted outputs only (None for the others), timings in ms, the diagnostic, and the
    segmentation they were built from (None when the cloud failed)."""

    messages: dict[str, Any]
    timings: dict[str, float]
    diagnostic: Diagnostic
    segmentation: Any = None


def excluded_classes(parameters: NodeParameters, label_set: sensors.LabelSet) -> np.ndarray:
    """Per training id of the package's label set, whether `filtered_classes` drops it; a name the set does not
    have fails naming it (the classes are the package's, known once it is open)."""
    classes = label_set.class_names[1:]
    unknown = [name for name in parameters.filtered_classes if name not in classes]
    if unknown:
        raise ValueError(f"filtered_classes: unknown class names {unknown}; the package's {label_set.name} classes "
                         f"are {sorted(classes)}")
    return np.array([name in parameters.filtered_classes for name in label_set.class_names])


def node_cameras(parameters: NodeParameters) -> dict[str, Any]:
    """The cameras of `camera_calibration` (none when empty); a bad file stops the node naming it."""
    if not parameters.camera_calibration:
        return {}
    from sensors.calibration import read_calibration_json

    return read_calibration_json(parameters.camera_calibration).cameras


class SegmentationCore:
    def __init__(self, pipeline: Pipeline, parameters: NodeParameters, types: MessageTypes,
                 cameras: dict[str, Any] | None = None) -> None:
        self.pipeline, self.parameters, self.types, self.cameras = pipeline, parameters, types, cameras or {}
        label_set = pipeline.steps.label_set
        self.excluded = excluded_classes(parameters, label_set)
        self.palette = np.array(label_set.palette_rgb, dtype=np.uint8)
        self.processed = self.failed = self.over_budget = self.consecutive_over_budget = 0
        self.intensity = IntensityScale()  # the input topic is one stream: its scale is chosen once

    def process(self, cloud: Any, wanted: set[str]) -> NodeOutputs:
        """One input cloud. A cloud that cannot be read or segmented gives no messages and an ERROR diagnostic."""
        start = time.perf_counter()
        try:
            frame = pointcloud2_to_frame(cloud, intensity=self.intensity)
            result = self.pipeline(frame)
        except Exception as err:  # a bad message never stops the node
            self.failed += 1
            return NodeOutputs({name: None for name in OUTPUTS}, {},
                               Diagnostic(ERROR, f"cloud skipped: {type(err).__name__}: {err}", self._counts()))
        builders = {"segmentation": self._segmentation, "visualization": self._visualization, "filtered": self._filtered}
        messages = {name: builders[name](cloud, result) if name in wanted else None for name in OUTPUTS}
        total = 1000 * (time.perf_counter() - start)
        self.processed += 1
        timings = {**result.timings, PROCESSING_TIME: total}
        return NodeOutputs(messages, timings, self._budget_diagnostic(total), result)

    def overlays(self, result, images: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per camera given an image, the labels drawn into it: after the label outputs are out, never before."""
        return {name: camera_overlay(image, self.cameras[name], result.frame.xyz, result.labels, self.palette)[0]
                for name, image in images.items()}

    def _budget_diagnostic(self, total_ms: float) -> Diagnostic:
        """OK within the budget; WARN over it; ERROR once `consecutive_over_budget_for_error` clouds in a row were
        over (one slow cloud is a hiccup, a run of them means the node cannot keep up), as Autoware's nodes do."""
        budget = self.parameters.processing_time_budget_ms
        if total_ms <= budget:
            self.consecutive_over_budget = 0
            return Diagnostic(OK, f"processing {total_ms:.1f} ms within {budget:g} ms", self._counts())
        self.over_budget += 1
        self.consecutive_over_budget += 1
        level = ERROR if self.consecutive_over_budget >= self.parameters.consecutive_over_budget_for_error else WARN
        return Diagnostic(level, f"processing took {total_ms:.1f} ms, over the {budget:g} ms budget "
                                 f"({self.consecutive_over_budget} in a row)", self._counts())

    def _counts(self) -> dict[str, str]:
        return {"processed": str(self.processed), "failed": str(self.failed), "over_budget": str(self.over_budget),
                "consecutive_over_budget": str(self.consecutive_over_budget), "runtime": self.pipeline.runner.name}

    def _pack(self, columns: list[tuple[str, np.ndarray]], header: Any) -> Any:
        return pack_pointcloud2(columns, self.types.cloud, self.types.field, header, self.types.data)

    def _segmentation(self, cloud: Any, result) -> Any:
        points = result.frame.points
        return self._pack([("x", points[:, 0]), ("y", points[:, 1]), ("z", points[:, 2]),
                           ("class_id", result.labels.astype(np.uint8))], cloud.header)

    def _visualization(self, cloud: Any, result) -> Any:
        """x y z rgb, rgb packed into a float32 as PCL and RViz read it."""
        packed = pack_rgb(self.palette[result.labels])
        points = result.frame.points
        return self._pack([("x", points[:, 0]), ("y", points[:, 1]), ("z", points[:, 2]), ("rgb", packed)], cloud.header)

    def _filtered(self, cloud: Any, result) -> Any:
        """The input's own layout and bytes, minus the points of the filtered classes."""
        kept = pointcloud2_points(cloud)[~self.excluded[result.labels]]
        return self.types.cloud(header=cloud.header, height=1, width=len(kept), fields=cloud.fields,
                                is_bigendian=cloud.is_bigendian, point_step=cloud.point_step,
                                row_step=cloud.point_step * len(kept), data=self.types.data(kept.tobytes()),
                                is_dense=cloud.is_dense)
