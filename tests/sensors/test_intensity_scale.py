"""Intensity is scaled by what the source declares, once per stream: integer fields are 8-bit, a float
field is judged on the stream's first frame and kept, `intensity_scale=` overrides, values beyond full
scale read 1; a bad declaration fails at open."""
from __future__ import annotations

import numpy as np
import pytest

import sensors
from sensors.point_fields import IntensityScale, frame_from_fields


def fields(intensity: np.ndarray) -> dict[str, np.ndarray]:
    n = len(intensity)
    return {"x": np.linspace(1, 2, n, dtype=np.float32), "y": np.zeros(n, np.float32),
            "z": np.zeros(n, np.float32), "intensity": intensity}


def test_integer_intensity_is_on_the_8_bit_scale_whatever_its_values():
    frame = frame_from_fields(fields(np.array([0, 1, 51], np.uint8)), 0.0, "pcd")
    np.testing.assert_allclose(frame.intensity, [0, 1 / 255, 0.2], rtol=1e-6)


def test_a_float_stream_keeps_the_scale_its_first_frame_showed():
    dim_first = IntensityScale()
    first = frame_from_fields(fields(np.array([0.1, 0.8], np.float32)), 0.0, "pcd", intensity=dim_first)
    bright = frame_from_fields(fields(np.array([0.5, 200.0], np.float32)), 0.0, "pcd", intensity=dim_first)
    np.testing.assert_allclose(first.intensity, [0.1, 0.8])
    np.testing.assert_allclose(bright.intensity, [0.5, 1.0])  # not re-guessed: 200 is beyond full scale

    bright_first = IntensityScale()
    frame_from_fields(fields(np.array([3.0, 255.0], np.float32)), 0.0, "pcd", intensity=bright_first)
    dim = frame_from_fields(fields(np.array([0.5, 0.9], np.float32)), 0.0, "pcd", intensity=bright_first)
    np.testing.assert_allclose(dim.intensity, [0.5 / 255, 0.9 / 255], rtol=1e-6)  # a dark frame stays on 0..255


def test_a_declared_scale_wins_and_a_bad_one_is_refused():
    declared = IntensityScale(255)
    frame = frame_from_fields(fields(np.array([0.5, 0.9], np.float32)), 0.0, "pcd", intensity=declared)
    np.testing.assert_allclose(frame.intensity, [0.5 / 255, 0.9 / 255], rtol=1e-6)
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="intensity_scale"):
            IntensityScale(bad)


def write_float_pcd(path, intensity):
    from pypcd4 import PointCloud

    columns = fields(np.asarray(intensity, np.float32))
    PointCloud.from_points(list(columns.values()), list(columns), [np.float32] * 4).save(path)


def test_a_folder_of_pcds_is_one_stream_and_takes_a_declaration(tmp_path):
    write_float_pcd(tmp_path / "000.pcd", [10.0, 200.0])
    write_float_pcd(tmp_path / "001.pcd", [0.5, 0.25])
    frames = list(sensors.open(tmp_path))
    np.testing.assert_allclose(frames[1].intensity, [0.5 / 255, 0.25 / 255], rtol=1e-6)
    declared = list(sensors.open(tmp_path, intensity_scale="1"))
    np.testing.assert_allclose(declared[1].intensity, [0.5, 0.25])
    np.testing.assert_allclose(declared[0].intensity, [1.0, 1.0])  # beyond the declared full scale
    with pytest.raises(sensors.SourceError, match="intensity_scale 'bright': expected a positive number"):
        sensors.open(tmp_path, intensity_scale="bright")
