"""Velodyne captures: frame splitting against VeloView's reference, identification, calibration, bad packets."""
from __future__ import annotations

import numpy as np
import pytest
from capture_helpers import write_pcap

import sensors
from sensors.source import SourceStats
from sensors.velodyne import DecodeOptions, open_velodyne_pcap, pcap_packets

VELOVIEW = "velodyne/vlp16/veloview_vlp-16-test-90deg-1-50-frames.pcap"
MRPT_VLP16 = "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"
MRPT_HDL32 = "velodyne/hdl32e/mrpt_sample_velodyne_hdl32.pcap"


def parse_veloview_test(path):
    """frame_count, {frame: point_count} and {frame: [(index, x, y, z, intensity)]} of a VeloView .test file."""
    counts, values, frame, frame_count = {}, {}, None, None
    for line in path.read_text().splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "frame_count":
            frame_count = int(words[1])
        elif words[0] == "frame":
            frame = int(words[1])
        elif words[0] == "point_count":
            counts[frame] = int(words[1])
        elif words[0] == "point_values":
            index, x, y, z, intensity = int(words[1]), *map(float, words[2:5]), float(words[5])
            values.setdefault(frame, []).append((index, x, y, z, intensity))
    return frame_count, counts, values


def test_veloview_frame_split_matches_reference(data):
    frame_count, counts, _ = parse_veloview_test(data("velodyne/vlp16/veloview_vlp-16.test"))
    frames = list(sensors.open(data(VELOVIEW)))
    assert frame_count == 52
    assert len(frames) == frame_count
    for index, count in counts.items():
        assert len(frames[index]) == count, f"frame {index}"
    assert frames[0].meta["partial"] and frames[-1].meta["partial"]
    assert not any(f.meta["partial"] for f in frames[1:-1])


def test_veloview_point_values_match_reference(data):
    """VeloView's frame is x right, y forward; ours is x forward, y left. Its built-in VLP-16 table adds a
    vertical offset of about a centimetre, so z is compared to 2 cm."""
    _, _, values = parse_veloview_test(data("velodyne/vlp16/veloview_vlp-16.test"))
    frame = list(sensors.open(data(VELOVIEW)))[16]
    for index, x, y, z, intensity in values[16]:
        point = frame.points[index]
        assert point[0] == pytest.approx(y, abs=1e-3)
        assert point[1] == pytest.approx(-x, abs=1e-3)
        assert point[2] == pytest.approx(z, abs=0.02)
        assert point[3] * 255 == pytest.approx(intensity, abs=0.01)


def test_early_firmware_vlp16_is_not_taken_for_hdl32(data):
    source = sensors.open(data(VELOVIEW))
    assert source.sensor == "VLP-16"
    assert "0x21" in source.identified_by  # the byte said HDL-32E; the structure overruled it
    assert source.rate_hz == pytest.approx(20.0, abs=0.5)


@pytest.mark.parametrize("relative, model, expected", [
    (MRPT_VLP16, "VLP-16", [14522, 18561, 18554, 18482, 3367]),
    (MRPT_HDL32, "HDL-32E", [23216, 57734, 57882, 7873]),
])
def test_mrpt_captures_split_into_rotations(data, relative, model, expected):
    source = sensors.open(data(relative))
    frames = list(source)
    assert source.sensor == model
    assert [len(f) for f in frames] == expected
    assert all(np.isfinite(f.points).all() for f in frames)
    assert all((np.linalg.norm(f.xyz, axis=1) > 0).all() for f in frames)  # zero distance is not a point


def test_position_packets_are_counted_not_decoded(data):
    source = sensors.open(data(MRPT_VLP16))
    list(source)
    assert source.stats.other_packets["position packet"] == 57
    assert source.stats.packets == 293
    assert not source.stats.skipped_packets


def test_hdl32_capture_sent_from_port_443_is_read_by_destination_port(data):
    stats = SourceStats()
    assert sum(1 for _ in pcap_packets(data(MRPT_HDL32), stats, port=2368)) == 500
    assert sum(1 for _ in pcap_packets(data(MRPT_HDL32), SourceStats(), port=2369)) == 0


def test_frames_carry_rings_times_and_timestamps(data):
    frames = list(sensors.open(data(MRPT_HDL32)))
    full = frames[1]
    rings = set(np.unique(full.ring).tolist())
    assert rings <= set(range(32)) and len(rings) >= 30  # a laser or two may see only sky
    assert full.time.min() == 0.0 and 0.09 < full.time.max() < 0.13  # one rotation at ~9 Hz
    assert np.all(np.diff([f.timestamp for f in frames]) > 0)
    assert 0.0 <= full.intensity.min() and full.intensity.max() <= 1.0


def test_drop_partial_keeps_only_complete_rotations(data):
    frames = list(sensors.open(data(VELOVIEW), drop_partial=True))
    assert len(frames) == 50
    assert not any(f.meta["partial"] for f in frames)


def test_second_iteration_rereads_the_file(data):
    source = sensors.open(data(MRPT_HDL32))
    first = [len(f) for f in source]
    assert [len(f) for f in source] == first


@pytest.mark.parametrize("calibration", ["nebula_VLP16.yaml", "nebula_VLP32.yaml", "nebula_VLS128.yaml", "nebula_HDL32.yaml"])
def test_calibration_files_are_accepted(data, calibration):
    path = data(f"velodyne/calibration/{calibration}")
    model = {"nebula_VLP16.yaml": "VLP-16", "nebula_VLP32.yaml": "VLP-32C", "nebula_VLS128.yaml": "VLS-128",
             "nebula_HDL32.yaml": "HDL-32E"}[calibration]
    capture = MRPT_HDL32 if model == "HDL-32E" else MRPT_VLP16
    if model in ("VLP-32C", "VLS-128"):
        # no capture of these sensors is shared: the calibration must load into the decoder
        from sensors.velodyne.assembler import decoder_config
        from sensors.velodyne.models import model_by_name

        config = decoder_config(model_by_name(model).decoder_model, DecodeOptions(calibration=str(path)))
        assert config.calibration is not None
        return
    default = list(sensors.open(data(capture)))[1]
    calibrated = list(sensors.open(data(capture), calibration=str(path)))[1]
    assert len(calibrated) == len(default)
    assert np.abs(calibrated.xyz - default.xyz).max() < 0.5  # same scene, slightly different geometry


def test_missing_or_bad_calibration_fails_naming_the_file(tmp_path, data):
    with pytest.raises(sensors.SourceError, match="nope.yaml"):
        sensors.open(data(MRPT_VLP16), calibration=str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("lasers: [this is not a table\n")
    with pytest.raises(sensors.SourceError, match="bad.yaml"):
        sensors.open(data(MRPT_VLP16), calibration=str(bad))


# --- bad input -------------------------------------------------------------------------------------

def real_packets(data, relative=MRPT_VLP16):
    return list(pcap_packets(data(relative), SourceStats()))


def test_bad_packets_are_counted_and_skipped_and_the_stream_goes_on(tmp_path, data):
    packets = real_packets(data)
    damaged = list(packets)
    damaged[40] = (damaged[40][0], damaged[40][1][:1000])  # short packet
    bad_flag = bytearray(damaged[100][1])
    bad_flag[100:102] = b"\x12\x34"  # second block's flag
    damaged[100] = (damaged[100][0], bytes(bad_flag))
    path = write_pcap(tmp_path / "damaged.pcap", damaged)
    source = sensors.open(path)
    frames = list(source)
    assert len(frames) == 5
    assert sum(source.stats.skipped_packets.values()) == 2
    assert any("1000 B" in cause for cause in source.stats.skipped_packets)
    assert any("flag" in cause for cause in source.stats.skipped_packets)
    assert source.stats.packets == len(packets) - 2


def test_truncated_capture_keeps_the_good_part(tmp_path, data):
    whole = data(MRPT_HDL32).read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(whole[: len(whole) // 2 + 77])
    source = sensors.open(path)
    frames = list(source)
    assert len(frames) == 2 and len(frames[0]) == 23216  # the first rotation whole, the second cut
    assert 0 < len(frames[1]) < 57734 and frames[1].meta["partial"]
    assert any("truncated" in cause for cause in source.stats.skipped_packets)


def test_zero_length_and_non_pcap_files_fail_at_once(tmp_path):
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    with pytest.raises(sensors.SourceError, match="empty.pcap.*empty"):
        sensors.open(empty)
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"this is not a capture at all" * 10)
    with pytest.raises(sensors.SourceError, match="junk.pcap"):
        sensors.open(junk)


def test_capture_without_data_packets_fails_at_once(tmp_path):
    path = write_pcap(tmp_path / "gps_only.pcap", [(1.0 + i, b"\x00" * 512) for i in range(5)], dst_port=8308)
    with pytest.raises(sensors.SourceError, match="gps_only.pcap.*no Velodyne data packets"):
        sensors.open(path)


def test_unknown_sensor_model_fails_at_once(tmp_path, data):
    with pytest.raises(sensors.SourceError, match="unknown Velodyne model 'HDL-99'"):
        sensors.open(data(MRPT_VLP16), model="HDL-99")
    weird = []
    for i, (stamp, packet) in enumerate(real_packets(data)[:80]):
        clock = (1000 + i * 3000).to_bytes(4, "little")  # a 250 us firing period no Velodyne has
        weird.append((stamp, packet[:1200] + clock + b"\x37\x99"))
    with pytest.raises(sensors.SourceError, match="unknown sensor"):
        sensors.open(write_pcap(tmp_path / "weird.pcap", weird))


def test_model_option_overrides_identification(data):
    source = sensors.open(data(VELOVIEW), model="VLP-16")
    assert source.identified_by == "model= option"
    assert len(next(iter(source))) == 5736


def test_hdl64e_without_a_table_is_refused_with_the_reason(data):
    with pytest.raises(sensors.SourceError, match="HDL-64E packets need calibration="):
        sensors.open(data(MRPT_VLP16), model="HDL-64E")
