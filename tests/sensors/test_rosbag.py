"""ROS 2 bags: VelodyneScan against nebula's reference decode, PointCloud2 layouts, and bad bags.

Runs under whichever rosbags is installed; test_rosbags_versions.py runs it again under the other line."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

import sensors
from sensors.point_fields import LAYOUTS
from sensors.ros_messages import pack_pointcloud2
from sensors.rosbag import POINTCLOUD2, bag_writer, pointcloud2_types, typestore, write_messages

from sensors.point_fields import layout_columns

BAG = "ros2/velodyne_vlp16/1673400471837873222"
NEBULA_PCD = "ros2/velodyne_vlp16/1673400472138016708.pcd"
NEBULA_SETTINGS = {"min_range": 0.3, "max_range": 300.0}


def test_velodyne_scan_bag_matches_nebula_reference_decode(data):
    reference = next(iter(sensors.open(data(NEBULA_PCD))))
    source = sensors.open(data(BAG), calibration=str(data("velodyne/calibration/nebula_VLP16.yaml")),
                          **NEBULA_SETTINGS)
    frames = list(source)
    assert source.sensor == "VLP-16" and source.dual_return
    # nebula decoded the fourth message; its rotation is our fourth frame (the bag starts mid-rotation)
    frame = frames[3]
    assert abs(len(frame) - len(reference)) <= 0.01 * len(reference)
    distances, _ = cKDTree(frame.xyz).query(reference.xyz)
    assert np.median(distances) < 0.01
    assert reference.meta["layout"] == "XYZIRCAEDT"


def test_velodyne_scan_bag_without_calibration_still_close_to_nebula(data):
    reference = next(iter(sensors.open(data(NEBULA_PCD))))
    frame = list(sensors.open(data(BAG), **NEBULA_SETTINGS))[3]
    distances, _ = cKDTree(frame.xyz).query(reference.xyz)
    assert np.median(distances) < 0.01  # velodyne-decoder's own VLP-16 table differs by millimetres


def test_bag_can_be_opened_by_its_db3_file(data):
    db3 = data(BAG) / "1673400471837873222_0.db3"
    assert len(list(sensors.open(db3))) == 5


def write_pointcloud_bag(path: Path, frames, layout: str, storage: str = "sqlite3", topic="/points") -> Path:
    cloud_type, field_type, header_type, time_type = pointcloud2_types(typestore())

    def messages():
        for frame in frames:
            sec, nanosec = divmod(int(round(frame.timestamp * 1e9)), 1_000_000_000)
            header = header_type(stamp=time_type(sec=sec, nanosec=nanosec), frame_id="velodyne")
            yield int(frame.timestamp * 1e9), pack_pointcloud2(layout_columns(frame, layout), cloud_type, field_type, header)

    write_messages(path, topic, POINTCLOUD2, messages(), storage)
    return path


@pytest.fixture(scope="module")
def hdl32_frames():
    from conftest import data_file

    return list(sensors.open(data_file("velodyne/hdl32e/mrpt_sample_velodyne_hdl32.pcap")))[:2]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_pointcloud2_layouts_are_detected_and_read(tmp_path, hdl32_frames, layout):
    bag = write_pointcloud_bag(tmp_path / "bag", hdl32_frames, layout)
    source = sensors.open(bag)
    frames = list(source)
    assert len(frames) == 2
    for original, frame in zip(hdl32_frames, frames):
        assert frame.meta["layout"] == layout
        assert frame.meta["frame_id"] == "velodyne"
        np.testing.assert_allclose(frame.xyz, original.xyz)
        np.testing.assert_allclose(frame.intensity, original.intensity, atol=1 / 255)
        assert frame.timestamp == pytest.approx(original.timestamp, abs=1e-6)
        if layout != "XYZI":
            np.testing.assert_array_equal(frame.ring, original.ring)
        if layout in ("XYZIRADRT", "XYZIRCAEDT"):
            np.testing.assert_allclose(frame.time, original.time, atol=2e-6)


def test_mcap_bags_are_read(tmp_path, hdl32_frames):
    try:
        bag = write_pointcloud_bag(tmp_path / "bag", hdl32_frames, "XYZI", storage="mcap")
    except sensors.SourceError as err:
        pytest.skip(f"this rosbags cannot write MCAP to make the fixture: {err}")
    assert (bag / "bag_0.mcap").exists() or list(bag.glob("*.mcap"))
    frames = list(sensors.open(bag))
    assert [len(f) for f in frames] == [len(f) for f in hdl32_frames]


def test_missing_topic_fails_naming_the_topics(tmp_path, hdl32_frames):
    bag = write_pointcloud_bag(tmp_path / "bag", hdl32_frames, "XYZI", topic="/lidar/points")
    with pytest.raises(sensors.SourceError, match=r"no topic '/velodyne_points'.*'/lidar/points'"):
        sensors.open(bag, topic="/velodyne_points")


def test_unsupported_message_type_fails(tmp_path):
    store = typestore()
    string_type = store.types["std_msgs/msg/String"]
    write_messages(tmp_path / "bag", "/chatter", "std_msgs/msg/String", iter([(1, string_type(data="hi"))]))
    with pytest.raises(sensors.SourceError, match="no VelodyneScan or PointCloud2 topic"):
        sensors.open(tmp_path / "bag")
    with pytest.raises(sensors.SourceError, match="carries std_msgs/msg/String"):
        sensors.open(tmp_path / "bag", topic="/chatter")


def test_damaged_pointcloud2_message_is_counted_and_skipped(tmp_path, hdl32_frames):
    cloud_type, field_type, header_type, time_type = pointcloud2_types(typestore())
    good = pack_pointcloud2(layout_columns(hdl32_frames[0], "XYZI"), cloud_type, field_type,
                            header_type(stamp=time_type(sec=1, nanosec=0), frame_id="v"))
    bad = cloud_type(header=good.header, height=1, width=good.width + 10, fields=good.fields, is_bigendian=False,
                     point_step=good.point_step, row_step=good.row_step + 10 * good.point_step, data=good.data,
                     is_dense=True)
    columns = layout_columns(hdl32_frames[0], "XYZI")
    columns[0][1][:5] = np.nan  # a non-dense cloud: NaN points stay, counted
    holey = pack_pointcloud2(columns, cloud_type, field_type, good.header)
    write_messages(tmp_path / "bag", "/points", POINTCLOUD2, iter([(1, good), (2, bad), (3, holey)]))
    source = sensors.open(tmp_path / "bag")
    frames = list(source)
    assert len(frames) == 2 and len(frames[1]) == len(frames[0])
    assert sum(source.stats.skipped_frames.values()) == 1
    assert frames[1].meta["invalid_points"] == 5 and source.stats.invalid_points == 5


def test_folder_without_metadata_is_not_a_bag(tmp_path):
    (tmp_path / "x.db3").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(sensors.SourceError, match="not a ROS 2 bag"):
        sensors.open(tmp_path / "x.db3")


def test_writer_matches_installed_rosbags(tmp_path):
    writer = bag_writer(tmp_path / "w")
    assert hasattr(writer, "add_connection")


def test_a_bag_recorded_with_an_empty_serialization_format_reads_as_cdr(tmp_path, data):
    source = data("ros2/velodyne_vlp16/1673400471837873222")
    bag = tmp_path / "old_recorder"
    bag.mkdir()
    for item in source.iterdir():
        if item.name == "metadata.yaml":
            (bag / item.name).write_text(item.read_text().replace("serialization_format: cdr", "serialization_format: ''"))
        else:
            (bag / item.name).symlink_to(item)
    assert "serialization_format: ''" in (bag / "metadata.yaml").read_text()
    expected = [len(f) for f in sensors.open(source)]
    assert [len(f) for f in sensors.open(bag)] == expected and len(expected) > 3
