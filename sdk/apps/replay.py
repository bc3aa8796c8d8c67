"""`rapid-edge replay`: a ROS 2 bag in, a bag of labelled PointCloud2 messages (x y z intensity label) out,
written through rosbags. PointCloud2 input keeps each message's header stamp and frame id; VelodyneScan
input is assembled into rotations, each stamped with its first packet's time and the scans' frame id (as
the ROS velodyne driver stamps its clouds)."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

import sensors
from sensors.pointcloud_files import pack_rgb
from sensors.ros_messages import frame_to_pointcloud2
from sensors.rosbag import POINTCLOUD2, BagMessages, pointcloud2_types, typestore, write_messages

from sdk.pipeline import Pipeline

DEFAULT_TOPIC_OUT = "/rapid_edge/segmentation"


def replay(in_bag: Path, out_bag: Path, pipeline: Pipeline, topic: str | None = None,
           topic_out: str = DEFAULT_TOPIC_OUT, storage: str = "sqlite3",
           source_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Segment every frame of the bag's LiDAR topic; returns counts and the stream summary. `source_options`:
    what sensors.open takes for a bag (a VelodyneScan topic's model=, calibration=, min_range=, ...)."""
    out_bag = Path(out_bag)
    if out_bag.exists():
        raise FileExistsError(f"{out_bag}: exists; a replay writes a new bag")
    if "topic" in (source_options or {}):
        raise ValueError("the input topic is replay's own argument (--topic), not a source option")
    messages = BagMessages(Path(in_bag), topic)
    frame_id = _first_frame_id(messages)
    source = sensors.open(Path(in_bag), topic=messages.topic, **(source_options or {}))
    cloud, field, header, time = pointcloud2_types(typestore())

    run = pipeline.run(source)

    def labelled() -> Iterator[tuple[int, Any]]:
        for result in run:
            frame = result.frame
            stamp = frame.meta.get("stamp_ns", round(frame.timestamp * 1e9))
            head = header(stamp=time(sec=stamp // 10**9, nanosec=stamp % 10**9), frame_id=frame.meta.get("frame_id", frame_id))
            extra = {"label": result.labels.astype(np.uint32)}
            if result.colours is not None:
                extra["rgb"] = pack_rgb(result.colours)
            yield stamp, frame_to_pointcloud2(frame, cloud, field, head, extra)

    written = write_messages(out_bag, topic_out, POINTCLOUD2, labelled(), storage)
    summary = run.summary()
    return {"in": str(in_bag), "topic": messages.topic, "out": str(out_bag), "topic_out": topic_out,
            "messages_written": written, "source": source.stats.as_dict(),
            "stream": summary.as_dict() if summary else None}


def _first_frame_id(messages: BagMessages) -> str:
    with contextlib.closing(iter(messages)) as items:  # closes the bag here, in this thread (sqlite insists)
        first = next(items, None)
    return first[1].header.frame_id if first else ""
