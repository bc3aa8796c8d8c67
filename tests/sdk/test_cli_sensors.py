"""`rapid-edge sensors info|convert` as a user runs them."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import sensors
from sdk.cli.main import main


def test_info_reports_model_frames_points_and_rate(data, capsys):
    assert main(["sensors", "info", str(data("velodyne/vlp16/veloview_vlp-16-test-90deg-1-50-frames.pcap")), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sensor"] == "VLP-16" and summary["frames"] == 52
    assert summary["points_per_frame"]["min"] == 274
    assert summary["rate_hz"]["timestamps"] == pytest.approx(20.0, abs=0.1)
    assert summary["stats"]["other_packets"] == {"position packet": 367}


def test_info_on_the_embedded_default_simulation(capsys):
    assert main(["sensors", "info", "--frames", "3"]) == 0
    out = capsys.readouterr().out
    assert "HDL-64E" in out and "frames: 3" in out


def test_convert_to_kitti_and_pcd_and_read_back(tmp_path, data):
    source = str(data("velodyne/hdl32e/mrpt_sample_velodyne_hdl32.pcap"))
    assert main(["sensors", "convert", source, str(tmp_path / "kitti")]) == 0
    assert main(["sensors", "convert", "sim://vlp16", str(tmp_path / "pcd"), "--format", "pcd", "--frames", "2"]) == 0
    kitti = [len(f) for f in sensors.open(tmp_path / "kitti")]
    assert kitti == [23216, 57734, 57882, 7873]
    pcd = list(sensors.open(tmp_path / "pcd"))
    original = list(sensors.open("sim://vlp16", frames=2))
    assert len(pcd) == 2
    np.testing.assert_array_equal(pcd[1].labels, original[1].labels)
    np.testing.assert_array_equal(pcd[1].ring, original[1].ring)


def test_source_options_pass_through(data, capsys):
    pcap = str(data("velodyne/vlp16/veloview_vlp-16-test-90deg-1-50-frames.pcap"))
    assert main(["sensors", "info", pcap, "-o", "drop_partial=true", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 50


def test_bad_input_is_one_clear_line_and_exit_code_2(tmp_path):
    bad = tmp_path / "odd.bin"
    bad.write_bytes(b"\x00" * 5)
    result = subprocess.run([sys.executable, "-m", "sdk.cli.main", "sensors", "info", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "odd.bin: size 5 B is not a multiple of 16" in result.stderr
    assert "Traceback" not in result.stderr
    result = subprocess.run([sys.executable, "-m", "sdk.cli.main", "sensors", "info", "sim://", "-o", "bogus"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "is not KEY=VALUE" in result.stderr


def test_a_live_rig_needs_cameras_and_their_calibration(data, capsys):
    from sdk.cli.main import main

    assert main(["run", "--source", str(data("kitti_object_000008/000008.bin")), "--camera", "front=camera://9"]) == 2
    assert "needs both --camera NAME=URL (one or more) and --calibration FILE" in capsys.readouterr().err
    calibration = str(data("kitti_object_000008/calibration.json"))
    assert main(["run", "--source", str(data("kitti_object_000008/000008.bin")), "--camera", "front",
                 "--calibration", calibration]) == 2
    assert "--camera 'front' is not NAME=URL" in capsys.readouterr().err
