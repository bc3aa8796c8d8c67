"""`rapid-edge inspect`: a package (its facts, whether every file is intact), an engine (what it was built for,
whether its package lists it) and a capture, each reported without loading anything into a runtime."""
from __future__ import annotations

import json
import shutil

from runtimes.package import load_package, seal
from sdk.cli.main import main
from sdk.shipped import shipped_package


def inspect(capsys, *args) -> tuple[int, dict]:
    code = main(["inspect", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_a_package_and_a_damaged_one(tmp_path, capsys):
    folder = tmp_path / "package"
    shutil.copytree(shipped_package("rapid_seg"), folder)
    code, report = inspect(capsys, folder)
    assert code == 0 and report["kind"] == "model package" and report["form"] == "split" and report["intact"] is True
    assert report["parity"]["passed"] and report["files"]["model.onnx"] == (folder / "model.onnx").stat().st_size
    with (folder / "model.onnx").open("r+b") as model:
        model.write(b"\0")
    code, report = inspect(capsys, folder)
    assert code == 0 and "model.onnx: sha256 does not match" in report["intact"]


def test_an_engine_and_whether_its_package_lists_it(tmp_path, capsys):
    folder = tmp_path / "package"
    shutil.copytree(shipped_package("rapid_seg"), folder)
    (folder / "engines").mkdir()
    engine = folder / "engines" / "trt10.3-cuda12.6-sm87-fp16.engine"
    engine.write_bytes(b"serialised engine")
    engine.with_suffix(".json").write_text(json.dumps({"tensorrt": "10.3.0", "sm": "8.7", "precision": "fp16"}))
    code, report = inspect(capsys, engine)
    assert code == 0 and report["built_for"]["sm"] == "8.7" and report["listed_in_package"] is False
    seal(load_package(folder))
    assert inspect(capsys, engine)[1]["listed_in_package"] is True


def test_a_capture_and_a_rig(capsys, data):
    code, report = inspect(capsys, data("velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"))
    assert code == 0 and report["kind"] == "source" and report["sensor"] == "VLP-16" and report["frames"] == 5
    code, report = inspect(capsys, data("nuscenes_cameras/calibration.json"))
    assert report["cameras"]["CAM_FRONT"] == "1600 x 900" and report["frames"] == 1


def test_a_missing_target_fails_naming_it(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "nothing.engine")]) == 2
    assert "nothing.engine: no such engine file" in capsys.readouterr().err
