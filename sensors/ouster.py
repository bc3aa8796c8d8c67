"""Ouster captures (.pcap + metadata .json) through ouster-sdk (the `ouster` extra), LEGACY and
low-data-rate profiles alike: ouster-sdk parses packets, assembles frames and owns the beam geometry."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .frame import Frame
from .point_fields import EIGHT_BIT
from .source import Source, SourceError, require_file


def _ouster():
    try:
        from ouster.sdk import core, open_source
    except ImportError as err:
        raise SourceError("Ouster captures need ouster-sdk: pip install 'rapid-edge-sdk[ouster]'") from err
    return core, open_source


#: keys only an Ouster sensor metadata file has (the legacy layout and the one since firmware 2.4)
METADATA_KEYS = frozenset({"beam_altitude_angles", "beam_intrinsics", "lidar_data_format", "sensor_info"})


def is_metadata(path: Path) -> bool:
    """Whether `path` is an Ouster sensor metadata JSON (what a capture needs beside it, not a source)."""
    import json

    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and bool(METADATA_KEYS & set(document))


def metadata_for(pcap: Path) -> Path | None:
    """The sensor metadata beside a capture: same stem with .json."""
    candidate = pcap.with_suffix(".json")
    return candidate if candidate.is_file() else None


class OusterPcapSource(Source):
    """Frames of an Ouster capture; pixels without a return are not points."""

    live = False

    def __init__(self, path: Path, metadata: Path | None = None) -> None:
        super().__init__()
        self.path = require_file(path, "pcap capture")
        metadata = metadata or metadata_for(self.path)
        if metadata is None:
            raise SourceError(f"{self.path}: Ouster captures need their metadata .json (pass metadata=)")
        self.metadata = require_file(metadata, "Ouster metadata JSON")
        core, open_source = _ouster()
        try:
            probe = open_source(str(self.path), meta=[str(self.metadata)], sensor_idx=0)
            self.info = probe.sensor_info[0]
            probe.close()
        except Exception as err:  # ouster-sdk raises RuntimeError/ValueError variants
            raise SourceError(f"{self.path}: ouster-sdk cannot read it with {self.metadata.name} ({err})") from err
        self.sensor = self.info.prod_line
        self.rate_hz = float(str(self.info.config.lidar_mode).split("x")[-1])
        self._lut = core.XYZLut(self.info)

    def _frames(self) -> Iterator[Frame]:
        core, open_source = _ouster()
        source = open_source(str(self.path), meta=[str(self.metadata)], sensor_idx=0)
        try:
            for frame_set in source:
                for lidar_frame in frame_set.valid_frames():
                    yield self._to_frame(core, lidar_frame)
        finally:
            source.close()

    def _to_frame(self, core, lidar_frame) -> Frame:
        rng = lidar_frame.field(core.ChanField.RANGE)
        valid = rng > 0
        xyz = self._lut(lidar_frame)[valid]
        reflectivity = lidar_frame.field(core.ChanField.REFLECTIVITY)[valid].astype(np.float32)
        rows = np.broadcast_to(np.arange(lidar_frame.h)[:, None], rng.shape)[valid]
        column_ns = np.broadcast_to(np.asarray(lidar_frame.timestamp, dtype=np.int64)[None, :], rng.shape)[valid]
        start_ns = int(column_ns.min()) if column_ns.size else 0
        # calibrated reflectivity, 8-bit by Ouster's definition (0..100 diffuse, above: retroreflectors); a
        # legacy 16-bit field's values beyond 255 read full scale, as a Frame's intensity is 0..1
        points = np.column_stack([xyz, np.clip(reflectivity / EIGHT_BIT, 0.0, 1.0)])
        return Frame(
            points=points,
            timestamp=start_ns * 1e-9,
            sensor=self.sensor,
            # Ouster's row 0 is the top beam; Frame.ring counts from the lowest beam
            ring=(lidar_frame.h - 1 - rows).astype(np.int16),
            time=((column_ns - start_ns) * 1e-9).astype(np.float32),
            meta={"frame_id": int(lidar_frame.frame_id), "columns": int(lidar_frame.w)},
        )
