"""ROS message <-> Frame conversion, free of any ROS installation (works on rosbags' message classes and
on rclpy's alike, since both expose the same attribute names)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .frame import Frame
from .point_fields import IntensityScale, frame_from_fields

# sensor_msgs/PointField datatype codes
POINT_FIELD_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
DTYPE_CODES = {np.dtype(v).str[1:]: k for k, v in POINT_FIELD_DTYPES.items()}

VELODYNE_PACKET_MSG = "builtin_interfaces/Time stamp\nuint8[1206] data\n"
VELODYNE_SCAN_MSG = "std_msgs/Header header\nvelodyne_msgs/VelodynePacket[] packets\n"


def stamp_seconds(stamp: Any) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def image_to_rgb(message: Any) -> np.ndarray:
    """sensor_msgs/Image (rgb8 or bgr8, any row padding) -> [H, W, 3] uint8 RGB; anything else fails naming it."""
    if message.encoding not in ("rgb8", "bgr8"):
        raise ValueError(f"image encoding {message.encoding!r}: rgb8 or bgr8 expected")
    rows = np.frombuffer(bytes(message.data), dtype=np.uint8)
    if rows.size != message.step * message.height or message.step < message.width * 3:
        raise ValueError(f"image data holds {rows.size} B, {message.height} rows of step {message.step} expected")
    image = rows.reshape(message.height, message.step)[:, : message.width * 3].reshape(message.height, message.width, 3)
    return np.ascontiguousarray(image[..., ::-1] if message.encoding == "bgr8" else image)


def pointcloud2_dtype(msg: Any) -> np.dtype:
    """The numpy record type of a PointCloud2's points (offsets and padding honoured)."""
    endian = ">" if msg.is_bigendian else "<"
    names, formats, offsets = [], [], []
    for field in msg.fields:
        if field.datatype not in POINT_FIELD_DTYPES:
            raise ValueError(f"PointField {field.name!r} has unknown datatype {field.datatype}")
        names.append(field.name)
        base = endian + POINT_FIELD_DTYPES[field.datatype]
        formats.append(base if field.count <= 1 else (base, field.count))
        offsets.append(field.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": msg.point_step})


def pointcloud2_to_frame(msg: Any, sensor: str = "pointcloud2", intensity: IntensityScale | None = None) -> Frame:
    """A Frame from a PointCloud2 message, the field layout detected from its fields; `intensity`: the
    stream's intensity scale (IntensityScale), so every message of a topic is read alike."""
    dtype = pointcloud2_dtype(msg)
    records = pointcloud2_points(msg).reshape(-1).view(dtype)
    fields = {name: records[name] for name in dtype.names}
    frame = frame_from_fields(fields, stamp_seconds(msg.header.stamp), sensor, intensity=intensity)
    frame.meta["frame_id"] = msg.header.frame_id
    frame.meta["stamp_ns"] = int(msg.header.stamp.sec) * 10**9 + int(msg.header.stamp.nanosec)  # exact, unlike float s
    return frame


def pointcloud2_points(msg: Any) -> np.ndarray:
    """The message's points as uint8 [N, point_step], row padding removed; checks the data's size."""
    data = np.asarray(msg.data, dtype=np.uint8)
    row_bytes = msg.width * msg.point_step
    if msg.row_step < row_bytes or len(data) < msg.row_step * msg.height:
        raise ValueError(f"PointCloud2 data holds {len(data)} B, its header promises "
                         f"{msg.height} rows of {msg.row_step} B ({row_bytes} B of points each)")
    rows = data[: msg.row_step * msg.height].reshape(msg.height, msg.row_step)[:, :row_bytes]
    return np.ascontiguousarray(rows).reshape(-1, msg.point_step)


def frame_to_pointcloud2(frame: Frame, message_type: type, field_type: type, header: Any,
                         extra: dict[str, np.ndarray] | None = None) -> Any:
    """A dense PointCloud2 with x y z intensity, then each `extra` per-point array as its own field."""
    columns: list[tuple[str, np.ndarray]] = [
        ("x", frame.points[:, 0]), ("y", frame.points[:, 1]), ("z", frame.points[:, 2]),
        ("intensity", frame.points[:, 3]),
    ]
    columns += list((extra or {}).items())
    return pack_pointcloud2(columns, message_type, field_type, header)


def pack_pointcloud2(columns: Sequence[tuple[str, np.ndarray]], message_type: type, field_type: type,
                     header: Any, data: Callable[[bytes], Any] = lambda raw: np.frombuffer(raw, dtype=np.uint8)) -> Any:
    """A dense PointCloud2 of the columns; `data` turns the packed bytes into what the message class's
    `data` field takes (rosbags: a uint8 array; rclpy: array('B'))."""
    dtype = np.dtype([(name, np.asarray(values).dtype.newbyteorder("<")) for name, values in columns])
    count = len(columns[0][1])
    records = np.empty(count, dtype=dtype)
    for name, values in columns:
        records[name] = values
    fields = [
        field_type(name=name, offset=dtype.fields[name][1], datatype=DTYPE_CODES[dtype.fields[name][0].str[1:]], count=1)
        for name in dtype.names
    ]
    return message_type(header=header, height=1, width=count, fields=fields, is_bigendian=False,
                        point_step=dtype.itemsize, row_step=dtype.itemsize * count,
                        data=data(records.tobytes()), is_dense=True)
