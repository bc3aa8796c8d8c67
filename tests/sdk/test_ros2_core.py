"""The ROS 2 node's ROS-free core on the real VLP-16 bag's rotations as Autoware-layout PointCloud2 messages
(rosbags' message classes) and its parameter validation; the rclpy node itself runs in tests/deployment."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sensors
from conftest import data_file
from sensors.point_fields import layout_columns
from sensors.ros_messages import pack_pointcloud2, pointcloud2_to_frame
from sensors.rosbag import pointcloud2_types, typestore

BAG = "ros2/velodyne_vlp16/1673400471837873222"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ros2_node"


@pytest.fixture(scope="module")
def clouds():
    """The bag's full rotations as XYZIRC clouds (Autoware's layout), stamped as the driver would."""
    cloud, field, header, time = pointcloud2_types(typestore())
    frames = [f for f in sensors.open(data_file(BAG)) if len(f) > 10_000]
    stamps = [divmod(round(f.timestamp * 1e9), 10**9) for f in frames]
    return [pack_pointcloud2(layout_columns(f, "XYZIRC"), cloud, field,
                             header(stamp=time(sec=s, nanosec=ns), frame_id="velodyne_top")) for f, (s, ns) in zip(frames, stamps)]


@pytest.fixture(scope="module")
def core(tmp_path_factory):
    from sdk import Pipeline
    from sdk.apps.ros2_core import MessageTypes, SegmentationCore, parameters_from_yaml

    cloud, field, _, _ = pointcloud2_types(typestore())
    parameters = parameters_from_yaml(EXAMPLE / "config" / "rapid_seg.param.yaml")
    pipeline = Pipeline("rapid_seg", runtime="pytorch")  # the reference backend: no export needed here
    yield SegmentationCore(pipeline, parameters, MessageTypes(cloud, field))
    pipeline.close()


def test_each_output_is_built_from_the_cloud(core, clouds):
    from sdk.apps.ros2_core import OUTPUTS

    for message in clouds:
        out = core.process(message, set(OUTPUTS))
        segmentation, visualization, filtered = (out.messages[name] for name in OUTPUTS)
        assert [f.name for f in segmentation.fields] == ["x", "y", "z", "class_id"]
        assert [f.name for f in visualization.fields] == ["x", "y", "z", "rgb"]
        assert segmentation.width == visualization.width == message.width
        assert segmentation.header.stamp == message.header.stamp and segmentation.header.frame_id == "velodyne_top"
        labels = pointcloud2_to_frame(segmentation).labels
        assert labels.min() >= 1 and labels.max() <= 19
        # colours are the SemanticKITTI palette of each point's class
        rgb = np.frombuffer(visualization.data.tobytes(), dtype=np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")]))["rgb"]
        palette = np.array(sensors.SEMANTIC_KITTI.palette_rgb)
        np.testing.assert_array_equal(rgb >> 16, palette[labels, 0])
        # filtered keeps the input layout and drops exactly the ground classes
        assert filtered.fields == message.fields and filtered.point_step == message.point_step
        ground = np.isin(labels, [sensors.SEMANTIC_KITTI.class_names.index(c) for c in core.parameters.filtered_classes])
        assert filtered.width == (~ground).sum()
        kept = pointcloud2_to_frame(filtered)
        np.testing.assert_array_equal(kept.points, pointcloud2_to_frame(message).points[~ground])
        assert set(out.timings) >= {"preprocess", "infer", "postprocess", "processing_time"}


def test_only_wanted_outputs_are_built(core, clouds):
    out = core.process(clouds[0], {"segmentation"})
    assert out.messages["segmentation"] is not None
    assert out.messages["visualization"] is None and out.messages["filtered"] is None


def test_diagnostics_follow_the_budget_and_bad_clouds(core, clouds):
    from dataclasses import replace

    from sdk.apps.ros2_core import ERROR, OK, WARN

    generous, tight = replace(core.parameters, processing_time_budget_ms=1e6), replace(core.parameters, processing_time_budget_ms=1e-3)
    core.parameters = generous
    assert core.process(clouds[0], {"segmentation"}).diagnostic.level == OK
    core.parameters = tight
    assert core.process(clouds[0], {"segmentation"}).diagnostic.level == WARN
    broken = type(clouds[0])(header=clouds[0].header, height=1, width=clouds[0].width, fields=clouds[0].fields,
                             is_bigendian=False, point_step=clouds[0].point_step, row_step=clouds[0].row_step,
                             data=clouds[0].data[:100], is_dense=True)
    failed = core.process(broken, {"segmentation"})
    assert failed.diagnostic.level == ERROR and "PointCloud2 data holds 100 B" in failed.diagnostic.message
    assert failed.messages["segmentation"] is None and failed.diagnostic.values["failed"] == "1"


def test_the_example_parameter_file_holds_the_schema_defaults():
    """Defaults live in the schema and its YAML (as Autoware keeps them), and the two agree."""
    import yaml

    from sdk.apps.ros2_core import load_parameters, parameter_schema

    document = yaml.safe_load((EXAMPLE / "config" / "rapid_seg.param.yaml").read_text())["/**"]["ros__parameters"]
    defaults = {name: spec["default"] for name, spec in parameter_schema()["properties"].items()}
    assert document == defaults
    assert load_parameters({}) == load_parameters(document)


def test_parameters_are_validated_against_the_schema():
    from sdk.apps.ros2_core import load_parameters

    with pytest.raises(ValueError, match="processing_time_budget_ms"):
        load_parameters({"processing_time_budget_ms": -1})
    with pytest.raises(ValueError, match="runtime"):
        load_parameters({"runtime": "cuda"})
    with pytest.raises(ValueError, match="node.yaml: parameters: Additional properties .*'budget'"):
        load_parameters({"budget": 3}, "node.yaml")
    with pytest.raises(ValueError, match="consecutive_over_budget_for_error"):
        load_parameters({"consecutive_over_budget_for_error": 0})
    assert load_parameters({"neighbour_vote": False}).neighbour_vote is False
    with pytest.raises(ValueError, match="neighbour_vote"):
        load_parameters({"neighbour_vote": "off"})
    integer_budget = load_parameters({"processing_time_budget_ms": 100, "filtered_classes": []})
    assert integer_budget.processing_time_budget_ms == 100.0 and isinstance(integer_budget.processing_time_budget_ms, float)
    assert integer_budget.filtered_classes == ()


def test_filtered_classes_are_checked_against_the_package_label_set():
    """Class names are the package's: a SemanticKITTI name is unknown to a nuScenes package and the reverse."""
    from sdk.apps.ros2_core import excluded_classes, load_parameters

    roads = load_parameters({"filtered_classes": ["roads"]})
    with pytest.raises(ValueError, match="unknown class names \\['roads'\\]; the package's semantickitti classes"):
        excluded_classes(roads, sensors.SEMANTIC_KITTI)
    surface = load_parameters({"filtered_classes": ["driveable_surface", "sidewalk"]})
    with pytest.raises(ValueError, match="\\['driveable_surface'\\]"):
        excluded_classes(surface, sensors.SEMANTIC_KITTI)
    excluded = excluded_classes(surface, sensors.NUSCENES)
    assert np.flatnonzero(excluded).tolist() == [sensors.NUSCENES.class_names.index(c) for c in ("driveable_surface", "sidewalk")]


def test_diagnostics_escalate_after_consecutive_clouds_over_budget(core, clouds):
    from dataclasses import replace

    from sdk.apps.ros2_core import ERROR, OK, WARN

    core.parameters = replace(core.parameters, processing_time_budget_ms=1e6, consecutive_over_budget_for_error=3)
    assert core.process(clouds[0], {"segmentation"}).diagnostic.level == OK  # a cloud within the budget ends any run
    core.parameters = replace(core.parameters, processing_time_budget_ms=1e-3)
    levels = [core.process(clouds[0], {"segmentation"}).diagnostic.level for _ in range(4)]
    assert levels == [WARN, WARN, ERROR, ERROR]
    core.parameters = replace(core.parameters, processing_time_budget_ms=1e6)
    assert core.process(clouds[0], {"segmentation"}).diagnostic.level == OK
    core.parameters = replace(core.parameters, processing_time_budget_ms=1e-3)
    assert core.process(clouds[0], {"segmentation"}).diagnostic.level == WARN  # the run starts again
