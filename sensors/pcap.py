"""UDP payloads out of a libpcap/pcapng capture.

dpkt reads the capture records; the Ethernet/IPv4/UDP headers are read here by offset because dpkt's
full protocol decode costs four times the whole Velodyne decode, and only the port and payload matter.
"""
from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .source import SourceError, SourceStats, require_file

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_VLAN = 0x8100
LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
IP_PROTO_UDP = 17


@dataclass(frozen=True)
class UdpDatagram:
    stamp: float
    src_port: int
    dst_port: int
    payload: bytes


def open_capture(path: Path):
    """A dpkt reader for a pcap or pcapng file, failing with the file's name when it is neither."""
    import dpkt

    path = require_file(path, "pcap capture")
    handle = path.open("rb")
    magic = handle.read(4)
    handle.seek(0)
    try:
        if magic == b"\x0a\x0d\x0d\x0a":
            return dpkt.pcapng.Reader(handle)
        return dpkt.pcap.Reader(handle)
    except (ValueError, dpkt.dpkt.NeedData, dpkt.dpkt.UnpackError) as err:
        handle.close()
        raise SourceError(f"{path}: not a pcap/pcapng capture ({err})") from err


def udp_datagrams(path: Path, stats: SourceStats) -> Iterator[UdpDatagram]:
    """Every IPv4/UDP datagram in the capture; other traffic is counted, truncated records are skipped."""
    import dpkt

    reader = open_capture(path)
    linktype = reader.datalink()
    if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL):
        raise SourceError(f"{path}: link type {linktype} is not Ethernet or Linux cooked capture")
    header = 14 if linktype == LINKTYPE_ETHERNET else 16
    try:
        for stamp, frame in reader:
            datagram = _parse(stamp, bytes(frame), header)
            if datagram is None:
                stats.other_packets["not IPv4/UDP"] += 1
            elif isinstance(datagram, str):
                stats.skip_packet(datagram)
            else:
                yield datagram
    except (dpkt.dpkt.NeedData, ValueError, struct.error):
        stats.skip_packet("truncated capture record at the end of the file")


def _parse(stamp: float, frame: bytes, link_header: int) -> UdpDatagram | str | None:
    ethertype_at = link_header - 2
    if len(frame) < link_header:
        return "truncated link-layer header"
    ethertype = struct.unpack_from("!H", frame, ethertype_at)[0]
    offset = link_header
    if ethertype == ETHERTYPE_VLAN:
        ethertype = struct.unpack_from("!H", frame, offset + 2)[0]
        offset += 4
    if ethertype != ETHERTYPE_IPV4:
        return None
    if len(frame) < offset + 20:
        return "truncated IPv4 header"
    version_ihl, _, total_length, _, fragment, _, protocol = struct.unpack_from("!BBHHHBB", frame, offset)
    if protocol != IP_PROTO_UDP:
        return None
    if fragment & 0x3FFF:
        return "fragmented IPv4 datagram"
    offset += (version_ihl & 0x0F) * 4
    if len(frame) < offset + 8:
        return "truncated UDP header"
    src_port, dst_port, udp_length = struct.unpack_from("!HHH", frame, offset)
    payload = frame[offset + 8: offset + udp_length]
    if len(payload) != udp_length - 8:
        return f"truncated UDP payload ({len(payload)} of {udp_length - 8} B captured)"
    return UdpDatagram(stamp, src_port, dst_port, payload)


def pcap_contents(path: Path, limit: int = 200) -> str:
    """What the first UDP datagrams of a capture are (destination ports and payload sizes), and what that
    suggests: an Ouster capture's lidar packets are thousands of bytes to port 7502 and need its metadata."""
    sizes: dict[int, set[int]] = {}
    for datagram, _ in zip(udp_datagrams(path, SourceStats()), range(limit)):
        sizes.setdefault(datagram.dst_port, set()).add(len(datagram.payload))
    if not sizes:
        return "it holds no UDP datagrams"
    seen = "; ".join(f"port {port}: {', '.join(f'{s} B' for s in sorted(found)[:3])}" for port, found in sorted(sizes.items()))
    ouster = any(size > 1500 for found in sizes.values() for size in found)
    return f"its UDP datagrams are {seen}" + (
        " (an Ouster capture? it needs its sensor metadata: the .json named like the .pcap beside it, or "
        "-o metadata=FILE.json)" if ouster else " (-o port=N picks another port)")
