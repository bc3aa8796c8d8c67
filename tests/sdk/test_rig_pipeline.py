"""The pipeline on a rig: point colours as a stage of their own, and renders with every camera's overlay."""
from __future__ import annotations

import json

import numpy as np
import pytest

import sensors
from sdk import Pipeline, PostprocessOptions
from sdk.apps.sinks import Renderer
from sensors.rig import point_colours

NUSCENES = "nuscenes_cameras/calibration.json"


@pytest.fixture(scope="module")
def pipeline():
    with Pipeline("rapid_seg", "onnxruntime-cpu", postprocess=PostprocessOptions(point_colours=True)) as opened:
        yield opened


def test_colours_are_a_stage_after_the_labels(pipeline, data):
    result = next(iter(pipeline.run(sensors.open(data(NUSCENES)))))
    expected, seen = point_colours(result.frame)
    np.testing.assert_array_equal(result.colours, expected)
    np.testing.assert_array_equal(result.coloured, seen)
    assert "colour" in result.timings and list(result.timings).index("colour") > list(result.timings).index("postprocess")


def test_a_frame_without_cameras_gets_no_colours(pipeline, data):
    result = pipeline(next(iter(sensors.open(data("semantickitti/sequences/00/velodyne/000000.bin")))))
    assert result.colours is None and result.labels.shape == (124_668,)


@pytest.mark.slow
def test_the_renderer_draws_into_every_camera(pipeline, data, tmp_path):
    frame = next(iter(sensors.open(data(NUSCENES))))
    with Renderer(tmp_path) as renderer:
        renderer(pipeline(frame))
        assert not list(tmp_path.glob("*.png"))  # nothing is drawn while the run goes on
    assert renderer.rendered == 1 and not (tmp_path / ".pending").exists()
    names = {p.name for p in tmp_path.iterdir()}
    assert {f"{camera}_000000.png" for camera in frame.cameras} | {"frame_000000.png", "bev_000000.png"} <= names
    record = json.loads((tmp_path / "timings.json").read_text())[0]
    for name, camera in frame.cameras.items():
        assert record[f"points_in_{name}"] == camera.project(frame.xyz).visible.sum()
        assert isinstance(record[f"overlay_{name}_ms"], float)  # recorded per camera; its size is for benchmarks
    assert record["points_in_CAM_FRONT"] == 3067 and record["points_in_CAM_BACK"] == 4826
