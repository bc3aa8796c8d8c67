"""Velodyne packets -> one Frame per rotation, split at the firing block where the azimuth wraps.

velodyne-decoder does the decoding (calibration, laser geometry, dual-return merging). Its own scan
assembly cuts at a fixed angle and refuses packets whose model byte disagrees with the configured
model, so the splitting is ours: VeloView and the ROS driver start a rotation at the block whose
azimuth is smaller than the one before it.
"""
from __future__ import annotations

from collections.abc import Iterator
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..frame import Frame
from ..source import SourceError, SourceStats
from .models import BLOCK_SIZE, BLOCKS_PER_PACKET, PACKET_SIZE, VALID_FLAGS, VelodyneModel

#: (flag, azimuth) of each of the 12 firing blocks; struct beats numpy on arrays this small
BLOCK_HEADERS = struct.Struct("<" + "HH96x" * BLOCKS_PER_PACKET)
VALID_FLAG_SET = frozenset(VALID_FLAGS)


@dataclass(frozen=True)
class DecodeOptions:
    """How packets become points. Returns closer than min_range are not points (zero distance never is)."""

    min_range: float = 0.001
    max_range: float = 1000.0
    calibration: str | None = None
    drop_partial: bool = False


def load_calibration(path: str | Path):
    """A velodyne-decoder Calibration from a ROS-driver YAML table, failing with the file's name."""
    import velodyne_decoder as vd

    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: calibration file not found")
    try:
        return vd.Calibration.read(str(path))
    except Exception as err:  # the decoder raises RuntimeError variants for bad YAML
        raise SourceError(f"{path}: not a Velodyne calibration file ({err})") from err


def decoder_config(decoder_model: str, options: DecodeOptions, calibration=None):
    """velodyne-decoder's Config; `calibration` (a Calibration object) wins over options.calibration."""
    import velodyne_decoder as vd

    if calibration is None and options.calibration is not None:
        calibration = load_calibration(options.calibration)
    config = vd.Config(model=getattr(vd.Model, decoder_model), calibration=calibration,
                       min_range=options.min_range, max_range=options.max_range)
    vd.ScanDecoder(config)  # fails now, not mid-stream, when the model has no table
    return config


def check_packet(packet: bytes) -> str | None:
    """Why a data packet cannot be decoded, or None when it can."""
    if len(packet) != PACKET_SIZE:
        return f"data packet of {len(packet)} B (expected {PACKET_SIZE} B)"
    if not VALID_FLAG_SET.issuperset(BLOCK_HEADERS.unpack_from(packet)[0::2]):
        return "bad firing-block flag (expected 0xFFEE/DD/CC/BB)"
    return None


class RotationAssembler:
    """Feed packets in arrival order; rotations come out as Frames (partial first/last ones too, by option)."""

    def __init__(self, model: VelodyneModel, dual_return: bool, config, stats: SourceStats,
                 drop_partial: bool = False) -> None:
        import velodyne_decoder as vd

        self.model = model
        self.drop_partial = drop_partial
        self.stats = stats
        self.blocks_per_group = model.banks * (2 if dual_return else 1)
        self.groups_per_packet = BLOCKS_PER_PACKET // self.blocks_per_group
        self.decoder = vd.ScanDecoder(config)
        self.pending: list[tuple[float, bytes]] = []
        self.start_group = 0
        self.last_azimuth = -1  # no wrap before the first block
        self.rotations = 0
        self.complete_start = False  # the rotation being filled began at a wrap

    def push(self, stamp: float, packet: bytes) -> Iterator[Frame]:
        problem = check_packet(packet)
        if problem is not None:
            self.stats.skip_packet(problem)
            return
        self.stats.packets += 1
        if self.model.model_byte is not None and packet[-1] != self.model.model_byte:
            packet = packet[:-1] + bytes((self.model.model_byte,))  # the decoder trusts this byte; we do not
        self.pending.append((stamp, packet))
        previous = self.last_azimuth
        azimuths = BLOCK_HEADERS.unpack_from(packet)[1 :: 2 * self.blocks_per_group]
        for group, azimuth in enumerate(azimuths):
            if azimuth < previous:
                frame = self._emit(end_group=group, complete=self.complete_start)
                self.pending = [(stamp, packet)]
                self.start_group = group
                self.complete_start = True
                if frame is not None:
                    yield frame
            previous = azimuth
        self.last_azimuth = previous

    def finish(self) -> Iterator[Frame]:
        """The last, partial rotation."""
        if self.pending:
            frame = self._emit(end_group=self.groups_per_packet, complete=False)
            self.pending = []
            if frame is not None:
                yield frame

    def _emit(self, end_group: int, complete: bool) -> Frame | None:
        if not complete and self.drop_partial:
            return None
        packets = list(self.pending)
        end_block = end_group * self.blocks_per_group
        start_block = self.start_group * self.blocks_per_group
        if len(packets) == 1:
            if end_block <= start_block:
                return None
            packets[0] = (packets[0][0], silence_blocks(packets[0][1], start_block, end_block))
        else:
            packets[0] = (packets[0][0], silence_blocks(packets[0][1], start_block, BLOCKS_PER_PACKET))
            if end_block == 0:
                packets.pop()
            else:
                packets[-1] = (packets[-1][0], silence_blocks(packets[-1][1], 0, end_block))
        frame = self._decode(packets)
        frame.meta["partial"] = not complete
        frame.meta["rotation"] = self.rotations
        self.rotations += 1
        return frame

    def _decode(self, packets: list[tuple[float, bytes]]) -> Frame:
        import velodyne_decoder as vd

        batch = vd.PacketVector()
        for stamp, data in packets:
            batch.append(vd.VelodynePacket(stamp, data))
        stamp, cloud = self.decoder.decode(batch, as_pcl_structs=True)
        absolute = stamp.host + cloud["time"].astype(np.float64)
        start = float(absolute.min()) if len(cloud) else packets[0][0]
        points = np.empty((len(cloud), 4), dtype=np.float32)
        for column, name in enumerate(("x", "y", "z", "intensity")):
            points[:, column] = cloud[name]
        points[:, 3] *= 1.0 / 255.0
        return Frame(points=points, timestamp=start, sensor=self.model.name,
                     ring=cloud["ring"], time=(absolute - start).astype(np.float32))


def silence_blocks(packet: bytes, keep_from: int, keep_to: int) -> bytes:
    """A copy of the packet whose returns outside blocks [keep_from, keep_to) read zero distance.

    Zero-distance returns are not points, so the decoder yields exactly the kept blocks' points while
    still seeing every azimuth (it interpolates the second firing of a block from its neighbour)."""
    if keep_from == 0 and keep_to == BLOCKS_PER_PACKET:
        return packet
    blocks = np.frombuffer(packet, dtype=np.uint8, count=BLOCKS_PER_PACKET * BLOCK_SIZE).reshape(BLOCKS_PER_PACKET, BLOCK_SIZE).copy()
    blocks[:keep_from, 4:] = 0
    blocks[keep_to:, 4:] = 0
    return blocks.tobytes() + packet[BLOCKS_PER_PACKET * BLOCK_SIZE:]
