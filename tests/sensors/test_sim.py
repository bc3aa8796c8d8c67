"""The simulated LiDAR: real beam tables, determinism, labels, realism checks, options."""
from __future__ import annotations

import numpy as np
import pytest

import sensors
from sensors.labels import SEMANTIC_KITTI
from sensors.sim import SimOptions, SimulatedLidar, beam_table
from sensors.sim.lidar import SceneWindow, _rotation
from sensors.sim.scene import MAX_GRADE, ground_height


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
    near = road[np.hypot(road[:, 0], road[:, 1]) < 10.0]
    height = beam_table(sensor).mount_height
    # the road lies about a mount height below (vehicles differ by centimetres, bodies roll and pitch)
    assert np.median(near[:, 2]) == pytest.approx(-height, abs=0.2)


def test_street_relief_is_continuous_and_never_steeper_than_a_real_street():
    style = SimulatedLidar(SimOptions(seed=11)).style
    x = np.linspace(-400.0, 400.0, 80_001)
    z = ground_height(style, x, np.zeros_like(x))
    assert np.abs(np.diff(z) / np.diff(x)).max() <= MAX_GRADE + 1e-9
    assert np.ptp(z) > 0.0 and np.abs(np.diff(z)).max() < 0.01  # no step anywhere, tile ends included
    across = ground_height(style, np.zeros(2), np.array([0.0, 10.0]))
    assert across[1] - across[0] == pytest.approx(10.0 * style.crossfall)


@pytest.mark.parametrize("seed", [1, 4])
def test_returns_lie_on_the_relief_seen_from_the_recorded_pose(seed):
    """Points go back to the world through the frame's roll, pitch and height and land on the ground."""
    lidar = SimulatedLidar(SimOptions(seed=seed, frames=1, speed=0.0))
    frame = next(iter(lidar))
    x0, lane, z0, _ = frame.meta["pose"]
    roll, pitch = frame.meta["roll_pitch"]
    road = frame.points[frame.labels == SEMANTIC_KITTI.class_names.index("road"), :3]
    world = road @ _rotation(roll, pitch).T + np.array([x0, lane, z0], dtype=np.float32)
    surface = ground_height(lidar.style, world[:, 0], world[:, 1])
    on_marking = 0.004  # the centre line's paint is 4 mm proud
    assert np.median(np.abs(world[:, 2] - surface)) < 0.01 + on_marking
    level = road[np.hypot(road[:, 0], road[:, 1]) < 30.0]
    assert np.abs(np.median(level[:, 2]) + z0 - surface.mean()) < 1.0  # the street is not simply level-shifted


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


#: median remission per class in the labelled SemanticKITTI scan (sequence 00, scan 0)
KITTI_MEDIAN_INTENSITY = {"road": 0.25, "sidewalk": 0.31, "building": 0.42, "vegetation": 0.34, "car": 0.09}


def test_intensity_follows_material_like_the_labelled_scan():
    frames = [first_frames(f"sim://hdl64e?seed={seed}", 1)[0] for seed in (3, 6)]
    intensity = np.concatenate([frame.intensity for frame in frames])
    labels = np.concatenate([frame.labels for frame in frames])
    names = SEMANTIC_KITTI.class_names
    for name, median in KITTI_MEDIAN_INTENSITY.items():
        assert np.median(intensity[labels == names.index(name)]) == pytest.approx(median, abs=0.06), name
    car = intensity[labels == names.index("car")]
    assert 0.2 < np.mean(car == 0.0) < 0.7  # dark paint is often too weak to read (46 % in the scan)
    levels = np.unique(np.round(intensity * 255, 3))
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
