"""The simulated LiDAR: real beam tables, determinism, labels, realism checks, options."""
from __future__ import annotations

import numpy as np
import pytest

import sensors
from sensors.labels import SEMANTIC_KITTI
from sensors.sim import SimOptions, SimulatedLidar, beam_table
from sensors.sim.lidar import SceneWindow


def first_frames(url: str, count: int = 3):
    return list(sensors.open(url, frames=count))


def test_beam_tables_are_real_sensor_tables():
    hdl = beam_table("hdl64e")
    assert hdl.rings == 64 and hdl.elevations_deg[0] == pytest.approx(-24.8, abs=0.1)
    vlp = beam_table("vlp16")
    assert vlp.rings == 16 and vlp.elevations_deg == pytest.approx(tuple(range(-15, 16, 2)), abs=1e-4)
    os128 = beam_table("os128")
    assert os128.rings == 128 and os128.elevations_deg[-1] == pytest.approx(45.75)
    for table in (hdl, vlp, os128):
        assert list(table.elevations_deg) == sorted(table.elevations_deg)


@pytest.mark.parametrize("sensor, rings, low, high", [("hdl64e", 64, 90_000, 131_072), ("vlp16", 16, 12_000, 28_800),
                                                     ("os128", 128, 60_000, 131_072)])
def test_each_sensor_renders_plausible_frames(sensor, rings, low, high):
    frames = first_frames(f"sim://{sensor}")
    for frame in frames:
        assert low < len(frame) <= high
        assert frame.ring.min() >= 0 and frame.ring.max() == rings - 1
        assert frame.labels is not None and frame.label_set == "semantickitti"
        assert 0.0 <= frame.intensity.min() and frame.intensity.max() <= 1.0
        assert np.isfinite(frame.points).all()
    road = frames[0].points[frames[0].labels == SEMANTIC_KITTI.class_names.index("road")]
    height = beam_table(sensor).mount_height
    assert np.median(road[:, 2]) == pytest.approx(-height, abs=0.05)  # the road lies a mount height below


def test_same_seed_same_frames_other_seed_other_street():
    a = first_frames("sim://hdl64e?seed=4", 2)
    b = first_frames("sim://hdl64e?seed=4", 2)
    c = first_frames("sim://hdl64e?seed=5", 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.points, y.points)
        np.testing.assert_array_equal(x.labels, y.labels)
    assert len(a[0]) != len(c[0]) or not np.array_equal(a[0].labels, c[0].labels)


def test_any_frame_can_be_rendered_directly():
    lidar = SimulatedLidar(SimOptions(seed=2, frames=8))
    streamed = list(lidar)[6]
    direct = lidar.render(6, SceneWindow(2, lidar.style, lidar.beams.max_range + 5.0))
    np.testing.assert_array_equal(streamed.points, direct.points)


@pytest.mark.slow
def test_a_drive_covers_the_semantickitti_classes():
    seen = np.zeros(len(SEMANTIC_KITTI.class_names), dtype=np.int64)
    for seed in range(4):
        for frame in sensors.open(f"sim://vlp16?seed={seed}&frames=30&speed=15"):
            seen += np.bincount(frame.labels, minlength=len(seen))
    present = {SEMANTIC_KITTI.class_names[i] for i in np.flatnonzero(seen)}
    expected = {"car", "truck", "person", "bicyclist", "road", "parking", "sidewalk", "building", "fence",
                "vegetation", "trunk", "terrain", "pole", "traffic-sign"}
    assert expected <= present
    assert "unlabeled" not in present  # every simulated return has a class


def test_ego_motion_moves_the_scene_and_distorts_the_sweep():
    frames = first_frames("sim://hdl64e?seed=1&speed=10", 2)
    assert frames[1].meta["pose"][0] - frames[0].meta["pose"][0] == pytest.approx(1.0)
    assert frames[0].time.min() == 0.0 and frames[0].time.max() == pytest.approx(0.1, abs=1e-3)
    assert frames[1].timestamp - frames[0].timestamp == pytest.approx(0.1)


def test_intensity_follows_material_and_incidence():
    frame = first_frames("sim://hdl64e?seed=3", 1)[0]
    names = SEMANTIC_KITTI.class_names
    sign = frame.intensity[frame.labels == names.index("traffic-sign")]
    road = frame.intensity[frame.labels == names.index("road")]
    assert 0.15 < np.median(road) < 0.35  # the labelled KITTI scan's road: 0.25
    car = frame.intensity[frame.labels == names.index("car")]
    assert np.median(car) < np.median(road)  # dark paint
    if len(sign):
        assert np.median(sign) > 1.8 * np.median(road)  # retro-reflective signs shine
    levels = np.unique(np.round(frame.intensity * 255, 3))
    assert np.allclose(levels, np.round(levels))  # 8-bit intensities


def test_realtime_simulation_is_live_and_paced():
    import time

    source = sensors.open("sim://vlp16?realtime=1&frames=3")
    assert source.live
    started = time.monotonic()
    frames = list(source)
    assert time.monotonic() - started >= 0.19  # three frames at 10 Hz span two periods
    assert frames[2].timestamp - frames[0].timestamp == pytest.approx(0.2)


@pytest.mark.parametrize("url, message", [
    ("sim://hdl99", "unknown simulated sensor"),
    ("sim://hdl64e?fps=3", "unknown option"),
    ("sim://hdl64e?frames=lots", "frames='lots' is invalid"),
    ("sim://hdl64e?realtime=maybe", "expected a boolean"),
])
def test_bad_simulation_options_fail(url, message):
    with pytest.raises(sensors.SourceError, match=message):
        sensors.open(url)
