"""Live Velodyne over UDP on loopback: the real capture's packets replayed into the socket."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

import sensors
from sensors.source import SourceStats
from sensors.velodyne import pcap_packets

CAPTURE = "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_bound(port: int, timeout_s: float = 30.0) -> None:
    """Readiness, not a sleep: the kernel's table of UDP sockets lists the port once the source has bound it
    (read, never bound here, so the check cannot take the port from the source)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        rows = Path("/proc/net/udp").read_text().splitlines()[1:]
        if any(int(row.split()[1].split(":")[1], 16) == port for row in rows):
            return
        time.sleep(0.005)
    raise TimeoutError(f"nothing bound UDP port {port}")


def replay(packets, port: int, delay: float = 0.0005, sender_ip: str = "127.0.0.1",
           impostor_ip: str | None = None) -> threading.Thread:
    """Send the packets from a thread (from `sender_ip`, a loopback address), starting once the source under
    test has bound its port (it reads packets while it opens); an `impostor_ip` sends a copy of every packet too."""
    def send() -> None:
        wait_until_bound(port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender, \
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as impostor:
            sender.bind((sender_ip, 0))
            impostor.bind((impostor_ip or sender_ip, 0))
            for _, payload in packets:
                if impostor_ip:
                    impostor.sendto(payload, ("127.0.0.1", port))
                sender.sendto(payload, ("127.0.0.1", port))
                time.sleep(delay)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_live_udp_yields_the_same_rotations_as_the_capture(data):
    packets = list(pcap_packets(data(CAPTURE), SourceStats()))
    port = free_port()
    sender = replay(packets, port)
    source = sensors.open(f"udp://127.0.0.1:{port}", idle_timeout=1.0)
    assert source.live and source.sensor == "VLP-16"
    frames = list(source)
    sender.join()
    assert [len(f) for f in frames] == [14522, 18561, 18554, 18482, 3367]
    assert source.timed_out
    assert not source.stats.skipped_frames


def test_device_ip_accepts_the_sensor_only_and_counts_the_rest(data):
    packets = list(pcap_packets(data(CAPTURE), SourceStats()))
    port = free_port()
    sender = replay(packets, port, sender_ip="127.0.0.2", impostor_ip="127.0.0.3")
    source = sensors.open(f"udp://127.0.0.1:{port}?device_ip=127.0.0.2", idle_timeout=1.0)
    frames = list(source)
    sender.join()
    assert [len(f) for f in frames] == [14522, 18561, 18554, 18482, 3367]
    rejected = source.stats.other_packets["rejected: not from device_ip 127.0.0.2"]
    assert rejected == len(packets)


def test_a_bad_device_ip_fails_at_once():
    with pytest.raises(sensors.SourceError, match="device_ip 'sensor' is not an IPv4 address"):
        sensors.open(f"udp://127.0.0.1:{free_port()}?device_ip=sensor")


def test_live_source_drops_oldest_frames_when_the_consumer_is_slow(data):
    """The consumer takes one frame, then waits until the source has assembled the whole capture (its
    assembler thread has ended: an event, not a sleep). The four frames after the first met a queue of two
    that nobody emptied, so the oldest were dropped and counted, and the newest survived."""
    packets = list(pcap_packets(data(CAPTURE), SourceStats()))
    port = free_port()
    sender = replay(packets, port, delay=0.0)
    source = sensors.open(f"udp://127.0.0.1:{port}", idle_timeout=0.5)
    frames = iter(source)
    received = [next(frames)]
    for assembler in [t for t in threading.enumerate() if t.name == "velodyne-udp"]:
        assembler.join(timeout=60)
    received += list(frames)
    sender.join()
    dropped = sum(source.stats.skipped_frames.values())
    assert (len(received), dropped) == (2, 3)
    assert received[-1].meta["rotation"] == 4  # the newest frame survives, the oldest waiting ones go


def test_port_already_in_use_fails_at_once():
    port = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", port))
        with pytest.raises(sensors.SourceError, match=f"udp://127.0.0.1:{port}: cannot bind"):
            sensors.open(f"udp://127.0.0.1:{port}")


def test_silent_sensor_is_reported_not_waited_on_forever():
    port = free_port()
    started = time.monotonic()
    with pytest.raises(sensors.SourceError, match="no Velodyne data packets"):
        sensors.open(f"udp://127.0.0.1:{port}", idle_timeout=0.3)
    assert time.monotonic() - started < 5.0
