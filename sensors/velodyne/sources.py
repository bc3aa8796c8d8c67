"""Velodyne sources: a pcap capture, a live UDP socket, or any iterable of (stamp, packet) pairs."""
from __future__ import annotations

import ipaddress
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..frame import Frame
from ..latest import put_latest
from ..pcap import pcap_contents, udp_datagrams
from ..source import Source, SourceError, SourceStats
from .assembler import DecodeOptions, RotationAssembler, check_packet, decoder_config
from .models import DUAL_RETURN, PACKET_SIZE, VelodyneModel, fingerprint, identify, model_by_name

log = logging.getLogger("sensors.velodyne")

DATA_PORT = 2368
POSITION_PORT = 8308
POSITION_PACKET_SIZE = 512
IDENTIFY_PACKETS = 64

Packet = tuple[float, bytes]


class NoVelodynePackets(SourceError):
    """Nothing in the stream decodes as Velodyne; a capture says what it holds instead (pcap_contents)."""


class VelodynePacketSource(Source):
    """Frames from Velodyne data packets. The model comes from `model=` or from the packets themselves.

    `open_packets(stats)` yields (stamp, payload) pairs; it is called again when the source is iterated again.
    """

    def __init__(self, open_packets: Callable[[SourceStats], Iterable[Packet]], origin: str,
                 model: str | None = None, options: DecodeOptions = DecodeOptions(), live: bool = False,
                 embedded_calibration: Callable[[], tuple] | None = None) -> None:
        super().__init__()
        self.origin = origin
        self.options = options
        self.live = live
        self._open_packets = open_packets
        # identification reads ahead. A file is then closed and read again from the start when iterated, so
        # the frames may be read on another thread (sqlite, under a bag, refuses to cross threads); a socket
        # cannot be read twice, so a live source keeps its read-ahead packets and goes on from them.
        packets = iter(open_packets(self.stats if live else SourceStats()))
        self._head = self._read_head(packets)
        self._packets: Iterator[Packet] | None = packets if live else None
        if not live and hasattr(packets, "close"):
            packets.close()
        self.model, self.identified_by = self._choose_model(model)
        self.sensor = self.model.name
        observed = fingerprint([p for _, p in self._head if check_packet(p) is None])
        self.dual_return = observed.dual_return
        self.rate_hz = observed.rotation_hz
        self.decoder_config = self._configure(embedded_calibration)
        log.info("%s: %s (%s)", origin, self.model.name, self.identified_by)

    def _read_head(self, packets: Iterator[Packet]) -> list[Packet]:
        head: list[Packet] = []
        good = 0
        for stamp, data in packets:
            head.append((stamp, data))
            good += check_packet(data) is None
            if good >= IDENTIFY_PACKETS:
                break
        if not good:
            raise NoVelodynePackets(f"{self.origin}: no Velodyne data packets ({PACKET_SIZE} B with firing-block flags)")
        return head

    def _choose_model(self, requested: str | None) -> tuple[VelodyneModel, str]:
        if requested is not None:
            try:
                return model_by_name(requested), "model= option"
            except ValueError as err:
                raise SourceError(f"{self.origin}: {err}") from err
        good = [p for _, p in self._head if check_packet(p) is None]
        try:
            return identify(good)
        except ValueError as err:
            raise SourceError(f"{self.origin}: {err}; name it with model=") from err

    def _configure(self, embedded_calibration: Callable[[], tuple] | None):
        """The decoder's configuration. An HDL-64E has no generic table: its calibration comes from
        calibration= or from the status bytes of its own packets (velodyne-decoder reads those from a pcap)."""
        if self.model.name != "HDL-64E" or self.options.calibration is not None:
            return decoder_config(self.model.decoder_model, self.options)
        model, calibration = embedded_calibration() if embedded_calibration else (None, None)
        if calibration is None:
            raise SourceError(f"{self.origin}: HDL-64E packets need calibration= (a ROS-driver YAML table); "
                              "none is embedded in these packets")
        return decoder_config(model.name, self.options, calibration)

    def _frames(self) -> Iterator[Frame]:
        assembler = RotationAssembler(self.model, self.dual_return, self.decoder_config, self.stats,
                                      self.options.drop_partial)
        for stamp, packet in self._all_packets():
            yield from assembler.push(stamp, packet)
        yield from assembler.finish()

    def _all_packets(self) -> Iterator[Packet]:
        """A live source's first pass: the packets read ahead, then the rest. Otherwise from the start."""
        packets = self._packets
        self._packets = None
        if packets is None:
            yield from self._open_packets(self.stats)
            return
        yield from self._head
        yield from packets


def pcap_packets(path: Path, stats: SourceStats, port: int | None = DATA_PORT) -> Iterator[Packet]:
    """Velodyne data packets of a capture; position packets and other ports are counted, not decoded."""
    for datagram in udp_datagrams(path, stats):
        if datagram.dst_port == POSITION_PORT or len(datagram.payload) == POSITION_PACKET_SIZE:
            stats.other_packets["position packet"] += 1
        elif port is not None and datagram.dst_port != port:
            stats.other_packets[f"UDP port {datagram.dst_port}"] += 1
        else:
            yield datagram.stamp, datagram.payload


def open_velodyne_pcap(path: Path, model: str | None = None, port: int | None = DATA_PORT,
                       options: DecodeOptions = DecodeOptions()) -> VelodynePacketSource:
    """A Velodyne capture file; never drops a frame. Filters on the destination port (some captures send from 443)."""
    path = Path(path)

    def embedded_calibration() -> tuple:
        import velodyne_decoder as vd

        try:
            return vd.hdl64e.read_calibration_from_pcap(str(path))
        except ValueError as err:
            raise SourceError(f"{path}: HDL-64E calibration in the packets is unreadable ({err})") from err

    try:
        return VelodynePacketSource(lambda stats: pcap_packets(path, stats, port), str(path), model, options,
                                    embedded_calibration=embedded_calibration)
    except NoVelodynePackets as err:
        raise NoVelodynePackets(f"{err}; {pcap_contents(path)}") from None


class VelodyneUdpSource(VelodynePacketSource):
    """A live sensor on a UDP port. Frames wait in a short queue; when the consumer falls behind, the
    oldest waiting frame is dropped and counted so latency stays bounded. `device_ip` (as the ROS velodyne
    driver's parameter) accepts packets from that sender only; others are counted as rejected, never decoded."""

    def __init__(self, host: str = "0.0.0.0", port: int = DATA_PORT, model: str | None = None,
                 options: DecodeOptions = DecodeOptions(), idle_timeout: float = 5.0, queue_size: int = 2,
                 device_ip: str | None = None) -> None:
        try:
            self.device_ip = str(ipaddress.IPv4Address(device_ip)) if device_ip else None
        except ValueError as err:
            raise SourceError(f"udp://{host}:{port}: device_ip {device_ip!r} is not an IPv4 address") from err
        self.address = (host, port)
        self.idle_timeout = idle_timeout
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self._socket.bind(self.address)
        except OSError as err:
            self._socket.close()
            raise SourceError(f"udp://{host}:{port}: cannot bind ({err.strerror}); is another process using the port?") from err
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        self._socket.settimeout(idle_timeout)
        self._queue: queue.Queue[Frame | None] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self.timed_out = False
        try:
            super().__init__(lambda stats: self._receive(), f"udp://{host}:{port}", model, options, live=True)
        except SourceError:
            self.close()
            raise

    def _receive(self) -> Iterator[Packet]:
        buffer = bytearray(2048)
        while not self._stop.is_set():
            try:
                size, (sender, _) = self._socket.recvfrom_into(buffer)
            except socket.timeout:
                self.timed_out = True
                log.warning("%s: no packets for %.1f s", self.origin, self.idle_timeout)
                return
            except OSError:
                return  # socket closed by close()
            if self.device_ip is not None and sender != self.device_ip:
                self.stats.other_packets[f"rejected: not from device_ip {self.device_ip}"] += 1
                continue
            if size == POSITION_PACKET_SIZE:
                self.stats.other_packets["position packet"] += 1
                continue
            yield time.time(), bytes(buffer[:size])

    def _frames(self) -> Iterator[Frame]:
        worker = threading.Thread(target=self._assemble, name="velodyne-udp", daemon=True)
        worker.start()
        try:
            while (frame := self._queue.get()) is not None:
                yield frame
        finally:
            self.close()
            worker.join(timeout=2.0)

    def _assemble(self) -> None:
        try:
            for frame in super()._frames():
                self._offer(frame)
        finally:
            self._offer(None)

    def _offer(self, frame: Frame | None) -> None:
        """The newest frame (or the end marker, offered last) goes in; each older frame it displaces is counted."""
        for _ in range(put_latest(self._queue, frame)):
            self.stats.skip_frame("consumer too slow (live source drops the oldest frame)")

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
