"""`sensors.open` picks the source by scheme or file kind and rejects what it cannot read."""
from __future__ import annotations

import pytest

import sensors
from sensors.source import Source

CASES = [
    ("velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap", "VelodynePacketSource", "VLP-16"),
    ("semantickitti/sequences/00", "FileSequenceSource", "HDL-64E"),
    ("semantickitti/sequences/00/velodyne/000000.bin", "FileSequenceSource", "HDL-64E"),
    ("nuscenes/samples/LIDAR_TOP", "FileSequenceSource", "HDL-32E"),
    ("ros2/velodyne_vlp16/1673400471837873222", "VelodynePacketSource", "VLP-16"),
    ("ros2/velodyne_vlp16/1673400472138016708.pcd", "FileSequenceSource", "pcd"),
]


@pytest.mark.parametrize("relative, kind, sensor", CASES)
def test_dispatch_by_kind(data, relative, kind, sensor):
    source = sensors.open(data(relative))
    assert isinstance(source, Source)
    assert type(source).__name__ == kind and source.sensor == sensor
    assert not source.live
    with source:
        assert len(next(iter(source))) > 0


def test_file_sources_are_not_live_and_the_sim_is_by_option():
    assert not sensors.open("sim://vlp16").live
    assert sensors.open("sim://vlp16?realtime=true").live


def test_keyword_options_override_the_url():
    source = sensors.open("sim://vlp16?frames=5", frames=2)
    assert len(list(source)) == 2


@pytest.mark.parametrize("target, message", [
    ("ftp://somewhere/x.pcap", "unknown scheme ftp://"),
    ("/no/such/file.pcap", "no such file"),
])
def test_unopenable_targets(target, message):
    with pytest.raises(sensors.SourceError, match=message):
        sensors.open(target)


def test_unknown_file_kind_and_unknown_option(tmp_path, data):
    odd = tmp_path / "scan.xyz"
    odd.write_text("1 2 3\n")
    with pytest.raises(sensors.SourceError, match="scan.xyz: unknown kind"):
        sensors.open(odd)
    with pytest.raises(sensors.SourceError, match="unknown option"):
        sensors.open(data("semantickitti/sequences/00"), model="VLP-16")
    with pytest.raises(sensors.SourceError, match="unknown option"):
        sensors.open(data("velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"), cut_angle=3)


def test_empty_folder_names_what_was_looked_for(tmp_path):
    with pytest.raises(sensors.SourceError, match="no sensor data found"):
        sensors.open(tmp_path)


def test_an_ouster_capture_without_its_metadata_says_what_it_holds(tmp_path, data):
    """Opened as Velodyne (no metadata beside it), it used to say only "no Velodyne data packets"."""
    import shutil

    pcap = shutil.copy(data("ouster/OS-1-32-G_v2.1.1_1024x10.pcap"), tmp_path)
    with pytest.raises(sensors.SourceError, match=r"port 7502: 6464 B \(an Ouster capture\? it needs its sensor metadata"):
        sensors.open(pcap)


def test_an_ouster_metadata_file_is_not_mistaken_for_a_rig(data):
    metadata = data("ouster/OS-1-32-G_v2.1.1_1024x10.json")
    with pytest.raises(sensors.SourceError, match="an Ouster sensor metadata file, not a source"):
        sensors.open(metadata)
