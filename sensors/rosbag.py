"""ROS 2 bags (sqlite3 or MCAP) through rosbags: VelodyneScan packet messages and PointCloud2 clouds.

Works with rosbags 0.9.23 (what ouster-sdk pins) and 0.11.x: only APIs present in both are used here,
and bag writing goes through `bag_writer`, which papers over the one signature that changed.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from .frame import Frame
from .point_fields import IntensityScale
from .ros_messages import VELODYNE_PACKET_MSG, VELODYNE_SCAN_MSG, pointcloud2_to_frame, stamp_seconds
from .source import Source, SourceError, SourceStats
from .velodyne import DecodeOptions, VelodynePacketSource

VELODYNE_SCAN = "velodyne_msgs/msg/VelodyneScan"
POINTCLOUD2 = "sensor_msgs/msg/PointCloud2"
SUPPORTED = (VELODYNE_SCAN, POINTCLOUD2)


@cache
def typestore() -> Any:
    """ROS 2 Humble's message types plus velodyne_msgs, which no bundled store has (built once: it is slow)."""
    from rosbags.typesys import Stores, get_typestore, get_types_from_msg

    store = get_typestore(Stores.ROS2_HUMBLE)
    types = {}
    types.update(get_types_from_msg(VELODYNE_PACKET_MSG, "velodyne_msgs/msg/VelodynePacket"))
    types.update(get_types_from_msg(VELODYNE_SCAN_MSG, VELODYNE_SCAN))
    store.register(types)
    return store


def bag_directory(path: Path) -> Path:
    """A bag is a folder with metadata.yaml; a .db3/.mcap file stands for the folder holding it."""
    folder = path if path.is_dir() else path.parent
    if not (folder / "metadata.yaml").is_file():
        raise SourceError(f"{path}: not a ROS 2 bag (no metadata.yaml in {folder})")
    return folder


def readable_bag(folder: Path, workspace: Path) -> Path:
    """The bag as rosbags can read it: older rosbag2 recorders wrote an empty serialization format, which
    `ros2 bag` reads as CDR and rosbags refuses; such a bag is read through a copy of its metadata (in
    `workspace`) that says cdr, beside links to its own storage files."""
    import yaml

    metadata = yaml.safe_load((folder / "metadata.yaml").read_text()) or {}
    topics = (metadata.get("rosbag2_bagfile_information") or {}).get("topics_with_message_count") or []
    empty = [t for t in topics if isinstance(t, dict) and (t.get("topic_metadata") or {}).get("serialization_format") == ""]
    if not empty:
        return folder
    for topic in empty:
        topic["topic_metadata"]["serialization_format"] = "cdr"
    (workspace / "metadata.yaml").write_text(yaml.safe_dump(metadata))
    for storage in folder.iterdir():
        if storage.name != "metadata.yaml":
            (workspace / storage.name).symlink_to(storage.resolve())
    return workspace


def bag_writer(path: Path, storage: str = "sqlite3") -> Any:
    """A rosbags Writer for either rosbags line (0.11 needs the bag version and takes a storage plugin)."""
    import inspect

    from rosbags.rosbag2 import Writer

    parameters = inspect.signature(Writer.__init__).parameters
    if "version" not in parameters:
        if storage != "sqlite3":
            raise SourceError(f"rosbags {_rosbags_version()} writes sqlite3 bags only; MCAP needs rosbags >= 0.10")
        return Writer(path)
    from rosbags.rosbag2 import StoragePlugin

    plugin = {"sqlite3": StoragePlugin.SQLITE3, "mcap": StoragePlugin.MCAP}[storage]
    return Writer(path, version=Writer.VERSION_LATEST, storage_plugin=plugin)


def _rosbags_version() -> str:
    from importlib.metadata import version

    return version("rosbags")


class BagMessages:
    """Deserialised messages of one topic, re-readable; chooses the topic when none is named."""

    def __init__(self, path: Path, topic: str | None) -> None:
        import tempfile

        from rosbags.rosbag2 import Reader

        self._workspace = tempfile.TemporaryDirectory(prefix="rapid-edge-bag-")  # removed with this object
        self.folder = readable_bag(bag_directory(path), Path(self._workspace.name))
        self.store = typestore()
        try:
            with Reader(self.folder) as reader:
                connections = {c.topic: c.msgtype for c in reader.connections}
        except Exception as err:  # rosbags raises its own error types for damaged bags
            raise SourceError(f"{self.folder}: cannot read the bag ({err})") from err
        if topic is None:
            topic = next((t for t, kind in connections.items() if kind in SUPPORTED), None)
            if topic is None:
                raise SourceError(f"{self.folder}: no VelodyneScan or PointCloud2 topic; it has {connections}")
        elif topic not in connections:
            raise SourceError(f"{self.folder}: no topic {topic!r}; it has {sorted(connections)}")
        self.topic = topic
        self.msgtype = connections[topic]
        if self.msgtype not in SUPPORTED:
            raise SourceError(f"{self.folder}: topic {topic} carries {self.msgtype}; supported: {', '.join(SUPPORTED)}")

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        from rosbags.rosbag2 import Reader

        # rosbag2's Reader with one shared typestore: AnyReader rebuilds its types on every open (~0.25 s)
        with Reader(self.folder) as reader:
            connections = [c for c in reader.connections if c.topic == self.topic]
            for connection, bag_time, raw in reader.messages(connections=connections):
                yield bag_time, self.store.deserialize_cdr(raw, connection.msgtype)


def velodyne_scan_packets(messages: BagMessages, stats: SourceStats) -> Iterator[tuple[float, bytes]]:
    for _, scan in messages:
        for packet in scan.packets:
            yield stamp_seconds(packet.stamp), packet.data.tobytes()


class PointCloud2BagSource(Source):
    """One frame per PointCloud2 message; a message that cannot be read is counted and skipped."""

    def __init__(self, messages: BagMessages, intensity_scale: float | None = None) -> None:
        super().__init__()
        self.messages = messages
        self.sensor = "pointcloud2"
        self.intensity = IntensityScale(intensity_scale)

    def _frames(self) -> Iterator[Frame]:
        for _, msg in self.messages:
            self.stats.packets += 1
            try:
                frame = pointcloud2_to_frame(msg, intensity=self.intensity)
            except ValueError as err:
                self.stats.skip_frame(f"PointCloud2: {err}")
                continue
            frame.meta["topic"] = self.messages.topic
            yield frame


def open_bag(path: Path, topic: str | None = None, model: str | None = None,
             options: DecodeOptions = DecodeOptions(), intensity_scale: float | None = None) -> Source:
    messages = BagMessages(path, topic)
    if messages.msgtype == VELODYNE_SCAN:
        if intensity_scale is not None:
            raise SourceError(f"{messages.folder}: intensity_scale is for PointCloud2 topics; Velodyne packets carry 8-bit intensity")
        return VelodynePacketSource(lambda stats: velodyne_scan_packets(messages, stats),
                                    f"{messages.folder}:{messages.topic}", model, options)
    return PointCloud2BagSource(messages, intensity_scale)


def pointcloud2_types(store: Any) -> tuple[type, type, type, type]:
    """PointCloud2, PointField, Header and Time classes of a typestore."""
    types = store.types
    return (types[POINTCLOUD2], types["sensor_msgs/msg/PointField"], types["std_msgs/msg/Header"],
            types["builtin_interfaces/msg/Time"])


def write_messages(path: Path, topic: str, msgtype: str, messages: Iterator[tuple[int, Any]],
                   storage: str = "sqlite3") -> int:
    """Write (bag time ns, message) pairs of one topic to a new bag; returns the message count."""
    store = typestore()
    writer = bag_writer(path, storage)
    writer.open()
    count = 0
    try:
        connection = writer.add_connection(topic, msgtype, typestore=store)
        for bag_time, message in messages:
            writer.write(connection, bag_time, store.serialize_cdr(message, msgtype))
            count += 1
    finally:
        writer.close()
    return count
