"""The labelling job on Ray Data, in a network namespace holding only loopback: a local Ray with 1 and 2
actors and a two-node cluster on this machine (one actor per node) give the local engine's labels, frame
for frame; RapidSegPredictor composes into a Ray Data pipeline of one's own."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, data_file
from sdk import label_files
from sdk.apps import label_units

sys.path.insert(0, str(REPO / "benchmarks"))
from loopback import LOOPBACK_ENV, loopback_only  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                                   reason="Ray is not installed (the ray extra brings it)")]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive") / "logs"
    (root / "kitti" / "velodyne").mkdir(parents=True)
    for name in ("000001.bin", "000002.bin"):
        (root / "kitti" / "velodyne" / name).symlink_to(data_file(f"kitti_odometry_seq00_unlabelled/velodyne/{name}"))
    (root / "drive.pcap").symlink_to(data_file("velodyne/vlp16/mrpt_sample_velodyne_vlp16_gps.pcap"))
    return root


@pytest.fixture(scope="module")
def on_ray(archive, tmp_path_factory):
    out = tmp_path_factory.mktemp("ray")
    run = subprocess.run(loopback_only([sys.executable, str(REPO / "tests" / "deployment" / "ray_labelling_check.py"),
                                        str(archive), str(out)]),
                         capture_output=True, text=True, env={**os.environ, **LOOPBACK_ENV}, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    return out, json.loads((out / "report.json").read_text())


def parquet_labels(folder) -> dict:
    return {(str(path.relative_to(folder)), frame): labels for path in sorted(folder.rglob("*.parquet"))
            for frame, labels in label_units.read_parquet_labels(path).items()}


def test_ray_gives_the_local_labels_frame_for_frame(archive, on_ray, tmp_path):
    out, report = on_ray
    local = label_files([archive], tmp_path / "local", "parquet", runtime="onnxruntime-cpu")
    expected = parquet_labels(tmp_path / "local")
    assert len(expected) == local["frames"] == 7
    for run in ("actors_1", "actors_2", "cluster"):
        assert report[run]["frames"] == local["frames"] and not report[run]["failed"]
        got = parquet_labels(out / run)
        assert got.keys() == expected.keys()
        for key, labels in expected.items():
            np.testing.assert_array_equal(got[key], labels)


def test_the_two_node_cluster_runs_one_actor_per_node(on_ray):
    _, report = on_ray
    assert report["actors_1"]["cores"] == 1 and report["cluster"]["cores"] == 2  # a thread each, below 1 CPU too
    assert report["cluster_nodes"] == 2 and len(report["cluster"]["nodes"]) == 2
    assert len(report["actors_2"]["nodes"]) == 1  # the local Ray is one node


def test_the_predictor_composes_into_a_ray_data_pipeline(archive, on_ray):
    _, report = on_ray
    from sdk import Pipeline
    import sensors

    with Pipeline("rapid_seg", "onnxruntime-cpu") as pipeline:
        for row in report["predictor"]:
            labels = pipeline(next(iter(sensors.open(row["path"])))).labels
            assert row["frame"] == 0 and row["points"] == len(labels)
            np.testing.assert_array_equal(np.asarray(row["labels"], dtype=np.uint8), labels)
