"""Identification and rotation splitting for the sensors no shared capture covers (VLP-32C, VLS-128,
HDL-64E), on packets built to the published packet layouts."""
from __future__ import annotations

import struct
from importlib.resources import files

import pytest
from capture_helpers import write_pcap

import sensors

BANKS = {1: (0xEEFF,), 2: (0xEEFF, 0xDDFF), 4: (0xEEFF, 0xDDFF, 0xCCFF, 0xBBFF)}


def synthetic_capture(tmp_path, banks: int, firing_us: float, model_byte: int, step: int, rotations: float = 2.5):
    """Packets of 12 blocks, `banks` blocks per firing sharing an azimuth, every return at 10 m."""
    firings_per_packet = 12 // banks
    firings = int(rotations * 36000 / step)
    records, azimuth, clock = [], 18000, 0.0
    block_returns = struct.pack("<HB", 5000, 100) * 32  # 5000 x 2 mm = 10 m
    for first in range(0, firings - firings_per_packet, firings_per_packet):
        blocks = b""
        for firing in range(firings_per_packet):
            for flag in BANKS[banks]:
                blocks += struct.pack("<HH", flag, azimuth) + block_returns
            azimuth = (azimuth + step) % 36000
        tail = struct.pack("<IBB", int(clock) % 3_600_000_000, 0x37, model_byte)
        records.append((1000.0 + clock * 1e-6, blocks + tail))
        clock += firing_us * firings_per_packet
    return write_pcap(tmp_path / "synthetic.pcap", records)


@pytest.mark.parametrize("banks, firing_us, model_byte, step, expected, lasers", [
    (1, 55.296, 0x28, 20, "VLP-32C", 32),
    (1, 46.08, 0x21, 16, "HDL-32E", 32),
    (4, 53.3, 0xA1, 20, "VLS-128", 128),
])
def test_identification_and_split_from_packet_structure(tmp_path, banks, firing_us, model_byte, step, expected, lasers):
    source = sensors.open(synthetic_capture(tmp_path, banks, firing_us, model_byte, step))
    assert source.sensor == expected
    frames = list(source)
    firings_per_rotation = 36000 // step
    assert len(frames) == 3  # half a rotation, a whole one, the rest
    assert len(frames[1]) == firings_per_rotation * lasers
    assert frames[0].meta["partial"] and not frames[1].meta["partial"]
    assert len(frames[0]) == firings_per_rotation // 2 * lasers  # started at 180 degrees


def test_hdl64e_is_identified_by_its_two_banks_and_decodes_with_a_table(tmp_path):
    capture = synthetic_capture(tmp_path, 2, 48.0, 0x00, 16)
    with pytest.raises(sensors.SourceError, match="HDL-64E packets need calibration="):
        sensors.open(capture)
    table = files("velodyne_decoder") / "calibrations" / "HDL-64E_S2.1-sztaki.yml"
    source = sensors.open(capture, calibration=str(table))
    frames = list(source)
    assert source.sensor == "HDL-64E"
    assert len(frames) == 3 and len(frames[1]) == 36000 // 16 * 64
