"""Helpers that build captures for bad-input tests from real packets."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import dpkt


def udp_frame(payload: bytes, dst_port: int = 2368, src_port: int = 2368) -> bytes:
    udp = dpkt.udp.UDP(sport=src_port, dport=dst_port, data=payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=bytes([192, 168, 1, 201]), dst=bytes([255, 255, 255, 255]), p=dpkt.ip.IP_PROTO_UDP, data=udp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x00" * 6, dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def write_pcap(path: Path, records: Iterable[tuple[float, bytes]], dst_port: int = 2368) -> Path:
    """A classic pcap holding each (stamp, UDP payload) as an Ethernet/IPv4/UDP frame."""
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for stamp, payload in records:
            writer.writepkt(udp_frame(payload, dst_port), ts=stamp)
    return path
