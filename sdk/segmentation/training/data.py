"""Training samples: frames from the simulated LiDAR and SemanticKITTI-format folders, mixed by weight,
augmented, projected to range images with RAPiD features, optionally cropped in azimuth.

Every choice (which source, which frame, which augmentation, which crop) comes from a generator seeded
by (seed, step), so a run is reproducible and resumes exactly where it stopped."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.ops.rapid_spec import RapidConfig
from sensors import Frame
from sensors.geometry import SensorGeometry
from sensors.kitti import read_kitti_frame
from sensors.sim import SimOptions, SimulatedLidar
from sensors.sim.lidar import SceneWindow

from sdk.segmentation.range_image import geometry_for, project


@dataclass
class Augmentation:
    rotate: bool = True
    flip: bool = True
    scale: tuple[float, float] = (0.95, 1.05)
    jitter: float = 0.01  # metres, one sigma
    #: remission randomisation (off by default), so that the network leans on shape more than on one
    #: simulator's materials: a per-frame gain drawn log-uniformly from `remission_gain`, per-point
    #: log-normal noise of sigma `remission_noise`, and up to `remission_zero` of the points reading zero
    remission_gain: tuple[float, float] = (1.0, 1.0)
    remission_noise: float = 0.0
    remission_zero: float = 0.0

    def apply(self, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = points.copy()
        if self.remission_gain != (1.0, 1.0) or self.remission_noise or self.remission_zero:
            self._randomise_remission(out, rng)
        if self.rotate:
            angle = rng.uniform(0, 2 * np.pi)
            c, s = np.cos(angle), np.sin(angle)
            out[:, :2] = out[:, :2] @ np.array([[c, s], [-s, c]], dtype=np.float32)
        if self.flip and rng.random() < 0.5:
            out[:, 1] = -out[:, 1]
        out[:, :3] *= np.float32(rng.uniform(*self.scale))
        out[:, :3] += rng.normal(0.0, self.jitter, (len(out), 3)).astype(np.float32)
        return out

    def _randomise_remission(self, points: np.ndarray, rng: np.random.Generator) -> None:
        gain = np.exp(rng.uniform(*np.log(self.remission_gain)))
        noise = np.exp(rng.normal(0.0, self.remission_noise, len(points)))
        points[:, 3] = np.clip(points[:, 3] * gain * noise, 0.0, 1.0)
        points[rng.random(len(points)) < rng.uniform(0.0, self.remission_zero), 3] = 0.0


#: `rapid-edge train --randomise-remission`
RANDOM_REMISSION = {"remission_gain": (0.5, 1.6), "remission_noise": 0.3, "remission_zero": 0.15}


NO_AUGMENTATION = Augmentation(rotate=False, flip=False, scale=(1.0, 1.0), jitter=0.0)


@dataclass
class Sample:
    image: np.ndarray  # [4, H, W]
    rapid: np.ndarray | None  # [k, H, W]; None for a network that reads no RAPiD features
    pixel: np.ndarray  # [N] index into H * W
    points: np.ndarray  # [N, 4]
    labels: np.ndarray | None  # [N] training ids of the frame's label set (0 = ignore)


def make_sample(frame: Frame, rapid: RapidConfig | None, rng: np.random.Generator | None = None,
                augmentation: Augmentation = NO_AUGMENTATION, geometry: SensorGeometry | None = None) -> Sample:
    """Frame -> full-sweep sample. Rows are found on the frame as recorded (KITTI's firing order does not
    survive a mirror), then the augmented points are projected with those rows. Points without a pixel
    (NaN coordinates) are left out. `rapid` None: no features (a network that reads none). A network of your
    own gets its contract's rows and columns through `ModelContract.make_sample`."""
    rng = rng or np.random.default_rng(0)
    geometry = geometry or geometry_for(frame)
    original = project(frame, geometry)
    has_pixel = original.row >= 0
    points = augmentation.apply(frame.points[has_pixel], rng)
    labels = frame.labels[has_pixel] if frame.labels is not None else None
    rings = (geometry.rows - 1 - original.row[has_pixel]).astype(np.int16)
    augmented = project(Frame(points=points, timestamp=frame.timestamp, sensor=frame.sensor, ring=rings), geometry)
    features = rapid_features_numba(augmented.image[None], rapid)[0] if rapid is not None else None
    pixel = augmented.row.astype(np.int64) * geometry.columns + augmented.column
    return Sample(augmented.image, features, pixel, points, labels)


def crop(sample: Sample, start: int, width: int) -> Sample:
    """The columns [start, start + width) of a full sweep (wrapping), with the points that fall in them.
    RAPiD features stay those of the full sweep, as at inference."""
    full_width = sample.image.shape[2]
    row, column = np.divmod(sample.pixel, full_width)
    column = (column - start) % full_width
    inside = column < width
    take = (np.arange(width) + start) % full_width
    features = np.ascontiguousarray(sample.rapid[:, :, take]) if sample.rapid is not None else None
    return Sample(np.ascontiguousarray(sample.image[:, :, take]), features,
                  row[inside] * width + column[inside], sample.points[inside],
                  sample.labels[inside] if sample.labels is not None else None)


def class_centred_start(sample: Sample, width: int, rng: np.random.Generator, minimum_points: int = 30) -> int | None:
    """A crop start that centres the crop on a point of a class drawn uniformly among the classes with at
    least `minimum_points` labelled points in the sweep. Random crops see a rare class seldom (a
    motorcyclist is in 1 % of 512-column crops, a bicycle in 7 %); this shows each class present as often
    as any other. None when the sweep has no labelled class."""
    if sample.labels is None:
        return None
    counts = np.bincount(sample.labels, minlength=1)
    classes = np.flatnonzero(counts >= minimum_points)
    classes = classes[classes != 0]  # 0: ignore
    if not len(classes):
        return None
    members = np.flatnonzero(sample.labels == rng.choice(classes))
    column = int(sample.pixel[rng.choice(members)] % sample.image.shape[2])
    return (column - width // 2) % sample.image.shape[2]


@dataclass
class Batch:
    image: np.ndarray  # [B, 4, H, W]
    rapid: np.ndarray | None  # [B, k, H, W]
    pixel: np.ndarray  # [N] index into B * H * W
    points: np.ndarray
    labels: np.ndarray | None


def collate(samples: Sequence[Sample]) -> Batch:
    plane = samples[0].image.shape[1] * samples[0].image.shape[2]
    labelled = all(s.labels is not None for s in samples)
    return Batch(
        image=np.stack([s.image for s in samples]),
        rapid=np.stack([s.rapid for s in samples]) if samples[0].rapid is not None else None,
        pixel=np.concatenate([s.pixel + i * plane for i, s in enumerate(samples)]),
        points=np.concatenate([s.points for s in samples]),
        labels=np.concatenate([s.labels for s in samples]) if labelled else None,
    )


class SimFrames:
    """Frames of the simulated drive: seeds [first, first + count), frame indices [0, frames)."""

    def __init__(self, first_seed: int = 0, seeds: int = 1000, frames: int = 200, sensor: str = "hdl64e") -> None:
        self.first_seed, self.seeds, self.frames, self.sensor = first_seed, seeds, frames, sensor

    def frame(self, rng: np.random.Generator) -> Frame:
        seed = self.first_seed + int(rng.integers(self.seeds))
        return self.render(seed, int(rng.integers(self.frames)))

    def render(self, seed: int, index: int) -> Frame:
        lidar = SimulatedLidar(SimOptions(sensor=self.sensor, seed=seed, frames=None))
        return lidar.render(index, SceneWindow(seed, lidar.style, lidar.beams.max_range + 5.0))

    def describe(self) -> str:
        return f"sim://{self.sensor} seeds {self.first_seed}..{self.first_seed + self.seeds - 1}, frames 0..{self.frames - 1}"


class KittiFrames:
    """Scans of SemanticKITTI-format sequence folders (labels used when present)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.files = sorted(p for folder in folders for p in (Path(folder) / "velodyne").glob("*.bin"))
        if not self.files:
            raise ValueError(f"no velodyne/*.bin scans under {[str(f) for f in folders]}")

    def frame(self, rng: np.random.Generator) -> Frame:
        return read_kitti_frame(self.files[int(rng.integers(len(self.files)))])

    def describe(self) -> str:
        return f"{len(self.files)} KITTI scans"


class MixedFrames:
    """Draws each frame from one of several sources, chosen by weight."""

    def __init__(self, sources: Sequence[tuple[object, float]]) -> None:
        if not sources:
            raise ValueError("no training data sources")
        self.sources = [s for s, _ in sources]
        weights = np.asarray([w for _, w in sources], dtype=np.float64)
        if (weights <= 0).any():
            raise ValueError(f"source weights must be positive, got {weights.tolist()}")
        self.weights = weights / weights.sum()

    def frame(self, rng: np.random.Generator) -> Frame:
        return self.sources[int(rng.choice(len(self.sources), p=self.weights))].frame(rng)

    def describe(self) -> str:
        return " + ".join(f"{w:.2f} x {s.describe()}" for s, w in zip(self.sources, self.weights))
