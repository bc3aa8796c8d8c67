"""A package's label set travels with its results: a network of your own trained for nuScenes' 16 classes
is written as .label (nuScenes' raw ids), PCD and Parquet (its training ids, the Parquet file naming the
set) and PointCloud2 (its palette, its class names filtered), never as SemanticKITTI's; and a manifest whose
label set and classes disagree, or whose fields are bad, is refused naming the field."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import sensors  # noqa: E402
from conftest import data_file  # noqa: E402
from runtimes.package import MANIFEST, PackageError, load_package, write_manifest  # noqa: E402
from sdk import ModelOptions, Pipeline, label_files  # noqa: E402
from sdk.apps.label_units import LABEL_SET_KEY  # noqa: E402
from sensors.labels import NUSCENES, SEMANTIC_KITTI  # noqa: E402
from user_networks import export_point_network  # noqa: E402

SCAN = "semantickitti/sequences/00/velodyne/000000.bin"


@pytest.fixture(scope="module")
def nuscenes_package(tmp_path_factory):
    """A per-point network with nuScenes' 16 classes, seeded random weights, exported in the split form."""
    return export_point_network(tmp_path_factory.mktemp("nuscenes_net"), {"classes": NUSCENES.num_classes},
                                {"rapid": False, "output": "point_logits", "label_set": "nuscenes"}, sim_frames=1)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """One SemanticKITTI sweep laid out as an archive (velodyne/000000.bin)."""
    root = tmp_path_factory.mktemp("archive")
    (root / "velodyne").mkdir()
    shutil.copy(data_file(SCAN), root / "velodyne" / "000000.bin")
    return root


@pytest.fixture(scope="module")
def expected(nuscenes_package):
    """What the package's pipeline says of the sweep: nuScenes training ids."""
    with Pipeline("rapid_seg", "onnxruntime-cpu", nuscenes_package.folder, model=ModelOptions(warmup=False)) as pipeline:
        result = pipeline(next(iter(sensors.open(data_file(SCAN)))))
    assert result.label_set == NUSCENES and 0 < result.labels.max() <= NUSCENES.num_classes
    return result.labels


def test_the_manifest_and_results_carry_the_package_label_set(nuscenes_package):
    assert nuscenes_package.manifest.label_set == NUSCENES
    document = json.loads((nuscenes_package.folder / MANIFEST).read_text())
    assert document["classes"] == list(NUSCENES.class_names)


def test_label_files_hold_nuscenes_raw_ids(nuscenes_package, archive, expected, tmp_path):
    summary = label_files([archive / "velodyne"], tmp_path, "kitti", "onnxruntime-cpu", nuscenes_package.folder)
    assert summary["labelled"] and not summary["failed"]
    written = np.fromfile(tmp_path / "labels" / "000000.label", dtype="<u4")
    np.testing.assert_array_equal(written, NUSCENES.to_raw(expected))
    assert not np.array_equal(written, SEMANTIC_KITTI.to_raw(expected))  # what the SDK used to write
    assert set(np.unique(written)) <= set(NUSCENES.inverse_map.values())


def test_pcd_and_parquet_hold_the_training_ids_and_parquet_names_the_set(nuscenes_package, archive, expected, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from pypcd4 import PointCloud

    label_files([archive / "velodyne"], tmp_path / "pcd", "pcd", "onnxruntime-cpu", nuscenes_package.folder)
    cloud = PointCloud.from_path(tmp_path / "pcd" / "velodyne" / "000000.pcd")
    np.testing.assert_array_equal(cloud.numpy(("label",))[:, 0], expected)
    label_files([archive / "velodyne"], tmp_path / "parquet", "parquet", "onnxruntime-cpu", nuscenes_package.folder)
    path = tmp_path / "parquet" / "velodyne" / "000000.bin.parquet"
    table = pq.read_table(path)
    np.testing.assert_array_equal(np.asarray(table["labels"][0].as_py()), expected)
    metadata = pq.read_schema(path).metadata
    assert metadata[LABEL_SET_KEY.encode()] == b"nuscenes"


def test_pointcloud2_outputs_use_the_package_palette_and_class_names(nuscenes_package, expected):
    from sdk.apps.ros2_core import MessageTypes, SegmentationCore, load_parameters
    from sensors.point_fields import layout_columns
    from sensors.ros_messages import pack_pointcloud2, pointcloud2_to_frame
    from sensors.rosbag import pointcloud2_types, typestore

    cloud_type, field_type, header, stamp = pointcloud2_types(typestore())
    frame = next(iter(sensors.open(data_file(SCAN))))
    message = pack_pointcloud2(layout_columns(frame, "XYZI"), cloud_type, field_type,
                               header(stamp=stamp(sec=1, nanosec=0), frame_id="lidar"))
    parameters = load_parameters({"filtered_classes": ["driveable_surface"]})
    with Pipeline("rapid_seg", "onnxruntime-cpu", nuscenes_package.folder, model=ModelOptions(warmup=False)) as pipeline:
        core = SegmentationCore(pipeline, parameters, MessageTypes(cloud_type, field_type))
        out = core.process(message, {"segmentation", "visualization", "filtered"})
    labels = pointcloud2_to_frame(out.messages["segmentation"]).labels
    np.testing.assert_array_equal(labels, expected)
    rgb = np.frombuffer(out.messages["visualization"].data.tobytes(),
                        dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])["rgb"]
    palette = np.array(NUSCENES.palette_rgb)
    np.testing.assert_array_equal(np.stack([rgb >> 16 & 255, rgb >> 8 & 255, rgb & 255], axis=1), palette[labels])
    surface = NUSCENES.class_names.index("driveable_surface")
    assert out.messages["filtered"].width == int((labels != surface).sum())


@pytest.mark.parametrize("edit, field", [
    (lambda m: m.update(label_set="cityscapes"), "field label_set: 'cityscapes' is not a label set"),
    (lambda m: m.update(classes=list(SEMANTIC_KITTI.class_names)), "field classes: not nuscenes's 17 classes"),
    (lambda m: m["palette"].pop(), "field palette: 16 colours for 17 classes"),
    (lambda m: m["palette"].__setitem__(1, [1, 2, 300]), "field palette/1/2: 300 is greater than the maximum of 255"),
    (lambda m: m.pop("palette"), "palette"),
    (lambda m: m["inputs"][0].update(dtype="float64"), "field inputs/0/dtype"),
    (lambda m: m["profiles"]["points"].pop("max"), "field profiles/points: 'max' is a required property"),
    (lambda m: m.update(form="fused"), "field form: 'fused' is not one of"),
    (lambda m: m.update(colour_map=[]), "Additional properties are not allowed \\('colour_map'"),
])
def test_a_bad_manifest_fails_naming_the_field(nuscenes_package, tmp_path, edit, field):
    folder = tmp_path / "package"
    shutil.copytree(nuscenes_package.folder, folder)
    document = json.loads((folder / MANIFEST).read_text())
    edit(document)
    write_manifest(folder, {k: v for k, v in document.items() if k not in ("format", "format_version", "files")})
    with pytest.raises(PackageError, match=field):
        load_package(folder)
