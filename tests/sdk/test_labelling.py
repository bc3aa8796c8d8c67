"""`sdk.label_files` / `rapid-edge label` on a small archive of the shared captures: every format holds the
pipeline's own labels, a bad file is reported and skipped, a rerun skips what is done, a unit that fails
half-way leaves nothing behind."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import sensors
from conftest import data_file
from sdk import Pipeline, label_files
from sdk.apps import label_units
from sdk.cli.main import main
from sensors.labels import SEMANTIC_KITTI

KITTI = "kitti_odometry_seq00_unlabelled/velodyne"
PCAP = "velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"
BAG = "ros2/velodyne_vlp16/1673400471837873222"


@pytest.fixture
def archive(tmp_path, data):
    """archive/kitti/velodyne/00000{1,2}.bin, archive/drive.pcap, archive/bags/<bag>/, archive/broken.bin."""
    root = tmp_path / "archive"
    (root / "kitti" / "velodyne").mkdir(parents=True)
    for name in ("000001.bin", "000002.bin"):
        (root / "kitti" / "velodyne" / name).symlink_to(data(f"{KITTI}/{name}"))
    (root / "drive.pcap").symlink_to(data(PCAP))
    (root / "bags").mkdir()
    (root / "bags" / "vlp16").symlink_to(data(BAG), target_is_directory=True)
    (root / "broken.bin").write_bytes(b"not a scan")
    return root


@pytest.fixture(scope="module")
def expected():
    """The pipeline's labels for every frame of every unit, keyed by (file name, frame index)."""
    with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        return {(path.name, r.index): r.labels for path in (data_file(f"{KITTI}/000001.bin"), data_file(f"{KITTI}/000002.bin"),
                                                            data_file(PCAP), data_file(BAG))
                for r in pipeline.run(sensors.open(path))}


def test_units_are_files_and_bags(archive):
    keys = [unit.key for unit in label_units.find_units([archive])]
    assert keys == ["archive/bags/vlp16", "archive/broken.bin", "archive/drive.pcap",
                    "archive/kitti/velodyne/000001.bin", "archive/kitti/velodyne/000002.bin"]


@pytest.mark.slow
def test_label_files_write_the_pipelines_labels_and_report_the_bad_file(archive, tmp_path, expected):
    out = tmp_path / "out"
    summary = label_files([archive], out, "kitti", runtime="onnxruntime-cpu")
    assert summary["failed"] == [{"path": str(archive / "broken.bin"),
                                  "reason": f"SourceError: {archive / 'broken.bin'}: size 10 B is not a multiple of 16 B (4 float32 per point)"}]
    assert summary["frames"] == len(expected) and set(summary["stages_ms"]) >= {"preprocess", "infer", "postprocess"}
    assert all(set(stats) == {"p50", "p99"} for stats in summary["stages_ms"].values())  # what is reported, not how fast
    assert summary["cores"] == len(os.sched_getaffinity(0))
    assert summary["frames_per_s_per_core"] == round(summary["frames"] / summary["seconds"] / summary["cores"], 2)
    for name in ("000001", "000002"):  # SemanticKITTI's layout: labels/ beside velodyne/
        raw = np.fromfile(out / "archive" / "kitti" / "labels" / f"{name}.label", dtype="<u4")
        np.testing.assert_array_equal(raw, SEMANTIC_KITTI.to_raw(expected[(f"{name}.bin", 0)]))
    drive = sorted((out / "archive" / "drive.pcap" / "labels").iterdir())  # a pcap: a SemanticKITTI sequence
    assert [p.name for p in drive] == [f"{i:06d}.label" for i in range(len(drive))]
    for path, frame in zip(drive, sensors.open(archive / "drive.pcap"), strict=True):
        np.testing.assert_array_equal(np.fromfile(path, dtype="<u4"), SEMANTIC_KITTI.to_raw(expected[("mrpt_sample_velodyne_vlp16_gps.pcap", int(path.stem))]))
        points = np.fromfile(out / "archive" / "drive.pcap" / "velodyne" / f"{path.stem}.bin", dtype="<f4")
        np.testing.assert_array_equal(points.reshape(-1, 4), frame.points)
    assert json.loads((out / "summary.json").read_text()) == summary


@pytest.mark.slow
def test_parquet_rows_hold_labels_and_scores(archive, tmp_path, expected):
    out = tmp_path / "out"
    label_files([archive / "bags"], out, "parquet", runtime="onnxruntime-cpu", scores=True)
    import pyarrow.parquet as pq

    table = pq.read_table(out / "bags" / "vlp16.parquet")
    assert table.column_names == ["path", "frame", "points", "labels", "scores"]
    for frame, labels in label_units.read_parquet_labels(out / "bags" / "vlp16.parquet").items():
        np.testing.assert_array_equal(labels, expected[("1673400471837873222", frame)])
    assert str(table.schema.field("scores").type.value_type) == "halffloat"
    assert table["points"].to_pylist() == [len(expected[("1673400471837873222", f)]) for f in table["frame"].to_pylist()]


@pytest.mark.slow
def test_a_rerun_skips_what_is_done_and_a_unit_that_fails_half_way_leaves_nothing(archive, tmp_path, monkeypatch):
    out = tmp_path / "out"
    written = []

    def fail_on_the_third_frame(result, fmt, target, one_file):
        if len(written) == 2:
            raise OSError("disk full")
        written.append(target)
        original(result, fmt, target, one_file)

    original = label_units.write_result
    monkeypatch.setattr(label_units, "write_result", fail_on_the_third_frame)
    first = label_files([archive / "drive.pcap"], out, "kitti", runtime="onnxruntime-cpu")
    assert first["failed"][0]["reason"] == "OSError: disk full"
    assert not (out / "drive.pcap").exists() and not list(out.glob(".drive.pcap.partial-*"))
    monkeypatch.setattr(label_units, "write_result", original)
    second = label_files([archive / "drive.pcap"], out, "kitti", runtime="onnxruntime-cpu")
    assert second["labelled"] == [str(archive / "drive.pcap")] and not second["failed"]
    stamp = (out / "drive.pcap").stat().st_mtime_ns
    third = label_files([archive / "drive.pcap"], out, "kitti", runtime="onnxruntime-cpu")
    assert third["already_done"] == [str(archive / "drive.pcap")] and third["frames"] == 0
    assert (out / "drive.pcap").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_a_rerun_redoes_what_another_model_or_format_made(archive, tmp_path):
    """Done means made the same way: another package relabels a unit, another format into the same folder
    replaces it, and only a rerun of the same job skips it."""
    pytest.importorskip("torch")
    from user_networks import export_point_network

    out, pcap = tmp_path / "out", archive / "drive.pcap"
    label_files([pcap], out, "kitti", runtime="onnxruntime-cpu")
    other = export_point_network(tmp_path / "net", {}, {"output": "point_logits"}, sim_frames=1)
    second = label_files([pcap], out, "kitti", runtime="onnxruntime-cpu", package=other.folder)
    assert second["redone"] == second["labelled"] == [str(pcap)] and not second["already_done"]
    with Pipeline("rapid_seg", "onnxruntime-cpu", other.folder) as pipeline:
        first_frame = next(iter(pipeline.run(sensors.open(pcap))))
    np.testing.assert_array_equal(np.fromfile(out / "drive.pcap" / "labels" / "000000.label", dtype="<u4"),
                                  SEMANTIC_KITTI.to_raw(first_frame.labels))
    third = label_files([pcap], out, "pcd", runtime="onnxruntime-cpu", package=other.folder)
    assert third["redone"] == [str(pcap)] and {p.suffix for p in (out / "drive.pcap").iterdir()} == {".pcd"}
    fourth = label_files([pcap], out, "pcd", runtime="onnxruntime-cpu", package=other.folder)
    assert fourth["already_done"] == [str(pcap)] and not fourth["redone"] and fourth["frames"] == 0


@pytest.mark.slow
def test_label_and_run_write_the_same_kitti_output(archive, tmp_path):
    """One name for one output: `label --format kitti` of a capture is the folder `run --out --format kitti`
    writes, file for file and byte for byte."""
    pcap = archive / "drive.pcap"
    assert main(["label", str(pcap), "--out", str(tmp_path / "label"), "--runtime", "onnxruntime-cpu"]) == 0
    assert main(["run", "--source", str(pcap), "--out", str(tmp_path / "run"), "--runtime", "onnxruntime-cpu",
                 "--json"]) == 0

    def files(folder):
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    by_label, by_run = files(tmp_path / "label" / "drive.pcap"), files(tmp_path / "run")
    assert sorted(by_label) == sorted(by_run) and {name.split("/")[0] for name in by_run} == {"velodyne", "labels"}
    assert by_label == by_run


def test_a_job_with_a_failed_unit_exits_non_zero(archive, tmp_path, capsys):
    arguments = ["label", str(archive / "kitti"), str(archive / "broken.bin"), "--out", str(tmp_path),
                 "--runtime", "onnxruntime-cpu", "--json"]
    assert main(arguments) == 1
    summary = json.loads(capsys.readouterr().out)
    assert [f["path"] for f in summary["failed"]] == [str(archive / "broken.bin")] and len(summary["labelled"]) == 2


def test_bad_arguments_fail_at_once(tmp_path, capsys):
    assert main(["label", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    assert "nowhere: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["label", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 2
    assert "no files to label" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"\['actors'\] are options of engine='ray'"):
        label_files([tmp_path], tmp_path / "out", actors=2)


def test_linked_folders_are_followed_but_a_loop_of_links_is_not(tmp_path, data):
    root = tmp_path / "logs"
    (root / "day1").mkdir(parents=True)
    (root / "day1" / "velodyne").symlink_to(data(KITTI), target_is_directory=True)
    (root / "day2").symlink_to(root / "day1", target_is_directory=True)  # the same drive linked twice
    (root / "day1" / "loop").symlink_to(root, target_is_directory=True)
    keys = [unit.key for unit in label_units.find_units([root])]
    assert keys == [f"logs/{day}/velodyne/00000{i}.bin" for day in ("day1", "day2") for i in range(1, 6)]


def test_the_pytorch_runtime_labels_and_names_its_checkpoint(tmp_path, data):
    """The pytorch runtime runs a checkpoint, not a package: the summary names what ran (this failed with an
    AttributeError after labelling every file, and wrote no summary)."""
    from sdk.shipped import default_checkpoint

    scan = data("semantickitti/sequences/00/velodyne/000000.bin")
    assert main(["label", str(scan), "--out", str(tmp_path), "--runtime", "pytorch"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"] == str(default_checkpoint("rapid_seg")) and summary["labelled"] == [str(scan)]
    assert (tmp_path / "000000.label").stat().st_size == 4 * 124_668


def test_runtime_choices_are_checked_before_anything_is_labelled(tmp_path, capsys, data):
    """--runtime triton needs --url (and goes to that server: here none listens on the loopback port, and the
    message names it); the Ray engine runs a shipped package, so the pytorch and triton runtimes are refused there."""
    scan = str(data("semantickitti/sequences/00/velodyne/000000.bin"))
    assert main(["label", scan, "--out", str(tmp_path / "a"), "--runtime", "triton"]) == 2
    assert "runtime 'triton' and ModelOptions(url=)" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    assert main(["label", scan, "--out", str(tmp_path / "b"), "--runtime", "pytorch", "--engine", "ray"]) == 2
    assert "runtime 'pytorch' runs on the local engine" in capsys.readouterr().err
    assert main(["label", scan, "--out", str(tmp_path / "c"), "--runtime", "triton", "--url", "127.0.0.1:9"]) == 2
    assert "127.0.0.1:9: no Triton server answers" in capsys.readouterr().err
    assert not list((tmp_path / "c").glob("*.label"))


def test_a_capture_that_needs_source_options_is_labelled_with_them(tmp_path, capsys):
    """An Ouster pcap away from its metadata: `-o metadata=` reaches every unit, as `run -o` does."""
    import shutil

    pcap = shutil.copy(data_file("ouster/OS-1-32-G_v2.1.1_1024x10.pcap"), tmp_path / "drive.pcap")
    metadata = data_file("ouster/OS-1-32-G_v2.1.1_1024x10.json")
    out = tmp_path / "out"
    assert main(["label", str(pcap), "--out", str(out), "--runtime", "onnxruntime-cpu", "--json"]) == 1
    assert "an Ouster capture?" in json.loads(capsys.readouterr().out)["failed"][0]["reason"]
    assert main(["label", str(pcap), "--out", str(out), "--runtime", "onnxruntime-cpu", "-o", f"metadata={metadata}",
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["labelled"] == [str(pcap)] and summary["frames"] == len(list(sensors.open(pcap, metadata=metadata)))
