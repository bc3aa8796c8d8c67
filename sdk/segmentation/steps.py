"""rapid_seg's steps around the network, as a package's manifest fixes them: frame -> feed (range image,
point -> pixel index, RAPiD features for the split form) and logits -> per-point labels (argmax, then
the neighbour vote) and scores.

Frames of a sensor whose native range image differs from the model's (a VLP-16 for a 64 x 2048 model)
are projected by elevation into the model's rows; the shipped model was trained on HDL-64E geometry, so
its labels on other sensors are unmeasured."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit, prange

from runtimes.manifest import Manifest
from runtimes.ops.rapid_numba import rapid_features_numba
from runtimes.ops.rapid_spec import RapidConfig
from runtimes.runner import Runner
from runtimes.package import PackageError
from runtimes.streaming import Stage
from sensors import Frame, LabelSet
from sensors.geometry import DEFAULT_GEOMETRY, GEOMETRY, SensorGeometry

from sdk.segmentation.models.interface import graph_inputs
from sdk.segmentation.neighbour_vote import DEFAULT_VOTE, NeighbourVote
from sdk.segmentation.range_image import project


@dataclass
class Prepared:
    """A frame ready for the network: the feed, and which of its points have a pixel (NaN points do not)."""

    frame: Frame
    feed: dict[str, np.ndarray]  # what preprocessing made; the network reads `inputs` of it
    has_pixel: np.ndarray
    inputs: tuple[str, ...]

    def network_feed(self) -> dict[str, np.ndarray]:
        return {name: self.feed[name] for name in self.inputs}


log = logging.getLogger("sdk")
#: the synthetic sweep a pipeline warms up with (no sensor's: never warned of)
WARMUP_SENSOR = "warm-up"
#: a segmentation pipeline's stages, in order (each result's `timings` and every report name them so)
STAGES = (PREPROCESS, INFER, POSTPROCESS) = ("preprocess", "infer", "postprocess")

@dataclass
class Segmentation:
    """One frame's result: per point a training id of the package's label set (0 = ignore: a point without a
    pixel) and the softmax probability of that label; timings per stage in milliseconds. `label_set` names the
    ids, maps them to the dataset's raw ids and colours them: writers and renderers take it from here."""

    frame: Frame
    labels: np.ndarray
    scores: np.ndarray
    label_set: LabelSet
    timings: dict[str, float] = field(default_factory=dict)
    #: each point's colour from the rig's cameras ([N, 3] uint8) and whether a camera sees it ([N] bool), when
    #: the pipeline was asked for colours (`point_colours=True`) and the frame came from a rig
    colours: np.ndarray | None = None
    coloured: np.ndarray | None = None

    @property
    def index(self) -> int:
        return self.frame.index

    def counts(self) -> dict[str, int]:
        """Points per class name, for logs and quick looks."""
        names = self.label_set.class_names
        values = np.bincount(self.labels, minlength=len(names))
        return {name: int(n) for name, n in zip(names, values) if n}


class RapidSegSteps:
    """Pre- and postprocessing for one model input size; `rapid` is None when the graph computes RAPiD."""

    def __init__(self, rows: int, columns: int, rapid: RapidConfig | None, label_set: LabelSet,
                 vote: NeighbourVote | None = None, inputs: tuple[str, ...] | None = None) -> None:
        self.rows, self.columns, self.rapid, self.label_set, self.vote = rows, columns, rapid, label_set, vote
        #: the network's inputs: the package's (a network of your own may not read the points)
        self.inputs = inputs or graph_inputs(points=True, rapid=rapid is not None)
        self.colours = False  # a "colour" stage after postprocessing: point colours from the rig's images
        #: the sensors the weights were trained for (the package's model card); others are warned of, once each
        self.trained_sensors: tuple[str, ...] | None = None
        self._warned: set[str] = set()
        #: whether each feed is checked against the network's inputs; a pipeline clears it once its warm-up
        #: feed passed (every feed is made alike by `preprocess`)
        self.check_inputs = True

    @classmethod
    def for_model(cls, model, rapid_in_graph: bool) -> RapidSegSteps:
        """The steps of a network (anything with an `interface`) in PyTorch or being exported: RAPiD before
        the graph when the network reads it and the graph does not compute it."""
        net = model.interface
        return cls(net.rows, net.columns, None if rapid_in_graph else net.rapid, net.label_set, DEFAULT_VOTE,
                   net.input_names(rapid_fed=not rapid_in_graph))

    @classmethod
    def from_manifest(cls, manifest: Manifest, origin: Path | str = "package") -> RapidSegSteps:
        """A package's steps; one exported before the neighbour vote existed has none and is run without it."""
        if manifest.range_image is None or manifest.label_set is None:
            raise PackageError(f"{origin}: not a segmentation package (its manifest has no range image or label set)")
        vote = manifest.neighbour_vote
        steps = cls(manifest.range_image.rows, manifest.range_image.columns, manifest.rapid, manifest.label_set,
                    NeighbourVote(**vote) if vote else None, tuple(spec.name for spec in manifest.inputs))
        steps.trained_sensors = manifest.model_card.sensors if manifest.model_card else None
        return steps

    def geometry(self, frame: Frame) -> tuple[Frame, SensorGeometry]:
        """How to project this frame into the model's rows x columns: the sensor's own table and rings when
        they fit, else elevation bins over the model's field of view (the frame's rings would misplace rows)."""
        rings = int(frame.ring.max()) + 1 if frame.ring is not None and len(frame.ring) else None
        native = GEOMETRY.get(frame.sensor, DEFAULT_GEOMETRY)
        if rings in (None, self.rows) and (native.rows, native.columns) == (self.rows, self.columns):
            return frame, native
        model = SensorGeometry(self.rows, self.columns, DEFAULT_GEOMETRY.fov_up_deg, DEFAULT_GEOMETRY.fov_down_deg)
        return (frame if rings == self.rows else dataclasses.replace(frame, ring=None)), model

    def stages(self, runner: Runner) -> list[Stage]:
        stages = [Stage(PREPROCESS, self.preprocess),
                  Stage(INFER, lambda prepared: (prepared, runner.infer(prepared.network_feed(),
                                                                          self.check_inputs)["logits"])),
                  Stage(POSTPROCESS, lambda inferred: self.postprocess(*inferred))]
        return stages + [Stage("colour", with_colours)] if self.colours else stages

    def warmup(self, runner: Runner) -> tuple[list[Stage], Frame]:
        """The stages and the synthetic sweep that warm every kernel when a pipeline opens."""
        return self.stages(runner), warmup_sweep(self.rows, self.columns)

    @staticmethod
    def timestamp_of(frame: Frame) -> float:
        return frame.timestamp

    def preprocess(self, frame: Frame) -> Prepared:
        if not isinstance(frame, Frame):
            raise ValueError(f"a segmentation pipeline takes sensors.Frame items (sensors.Frame(points=[N, 4] "
                             f"x y z intensity, timestamp=...)), not {type(frame).__name__}")
        if not len(frame.points):
            raise ValueError(f"frame {frame.index}: no points")
        if (self.trained_sensors and frame.sensor not in (*self.trained_sensors, WARMUP_SENSOR)
                and frame.sensor not in self._warned):
            self._warned.add(frame.sensor)
            log.warning("%s frames: these weights were trained for %s only; expect labels worse than the model "
                        "card's figure", frame.sensor, ", ".join(self.trained_sensors))
        projected = project(*self.geometry(frame))
        has_pixel = projected.row >= 0
        if not has_pixel.any():
            raise ValueError(f"frame {frame.index}: no point has finite coordinates")
        # a frame without NaN points (the usual case) feeds views, not 124k-row copies: 3 ms a frame
        keep = slice(None) if has_pixel.all() else has_pixel
        pixel = projected.row[keep].astype(np.int64) * self.columns + projected.column[keep]
        image = projected.image[None]
        feed = {"image": image, "pixel": pixel, "points": np.ascontiguousarray(frame.points[keep], dtype=np.float32)}
        if self.rapid is not None:
            feed["rapid"] = rapid_features_numba(image, self.rapid)
        return Prepared(frame, feed, has_pixel, self.inputs)

    def postprocess(self, prepared: Prepared, logits: np.ndarray) -> Segmentation:
        logits = np.ascontiguousarray(logits, np.float32)
        labels, scores = labels_and_scores(logits)
        if self.vote is not None:
            voted = self.vote.apply(labels, prepared.feed["pixel"], prepared.feed["points"], self.rows, self.columns)
            _rescore_relabelled(logits, labels, voted, scores)
            labels = voted
        if len(labels) < len(prepared.has_pixel):  # points without a pixel: label 0 (ignore), score 0
            labels, scores = (_spread(values, prepared.has_pixel) for values in (labels, scores))
        return Segmentation(prepared.frame, labels, scores, self.label_set)


def with_colours(result: Segmentation) -> Segmentation:
    """The result with each point's colour from the frame's camera images (unchanged without images)."""
    if result.frame.images:
        from sensors.rig import point_colours

        result.colours, result.coloured = point_colours(result.frame)
    return result


def warmup_sweep(rows: int, columns: int) -> Frame:
    """A sweep of rows x columns points on a 5-40 m shell, without rings: ringless frames take the numba
    kernels of ring recovery as well as projection, RAPiD and labelling, so every kernel is warmed."""
    elevation = np.radians(np.linspace(2.0, -24.8, rows))[:, None]
    azimuth = np.linspace(np.pi, -np.pi, columns, endpoint=False)[None, :]
    distance = 5.0 + 35.0 * (0.5 + 0.5 * np.sin(3 * azimuth) * np.cos(5 * elevation))
    xyz = np.stack([distance * np.cos(elevation) * np.cos(azimuth), distance * np.cos(elevation) * np.sin(azimuth),
                    distance * np.sin(elevation) * np.ones_like(azimuth)], axis=-1).reshape(-1, 3)
    intensity = np.full((len(xyz), 1), 0.3)
    return Frame(np.hstack([xyz, intensity]), timestamp=0.0, sensor=WARMUP_SENSOR)


def _spread(values: np.ndarray, has_pixel: np.ndarray) -> np.ndarray:
    """Per-pixel-point values -> per-point values, zero for points without a pixel."""
    spread = np.zeros(len(has_pixel), dtype=values.dtype)
    spread[has_pixel] = values
    return spread


def labels_and_scores(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: argmax + 1 and the softmax probability of that class. numba finds the maxima, NumPy's SIMD
    exp takes the exponentials (numba's exp is scalar here: 9 ms of a 124,668 x 19 frame on its own),
    numba sums them: 5 ms on 2 cores, against 12 in one numba pass and 33 in plain NumPy."""
    shifted = np.empty_like(logits)
    labels = _argmax_and_shift(logits, shifted)
    np.exp(shifted, out=shifted)
    return labels, _top_probability(shifted)


@njit(parallel=True, cache=True, fastmath=True)
def _rescore_relabelled(logits: np.ndarray, labels: np.ndarray, voted: np.ndarray, scores: np.ndarray) -> None:
    """Points the vote relabelled (a few percent) get the softmax probability of their new label; in one
    parallel pass, as gathering them for NumPy cost 1.2-1.6 ms a real scan."""
    rows, classes = logits.shape
    for i in prange(rows):
        if voted[i] == labels[i]:
            continue
        top = logits[i, 0]
        for c in range(1, classes):
            top = max(top, logits[i, c])
        total = np.float32(0.0)
        for c in range(classes):
            total += np.exp(logits[i, c] - top)
        scores[i] = np.exp(logits[i, voted[i] - 1] - top) / total


@njit(parallel=True, cache=True, fastmath=True)
def _argmax_and_shift(logits: np.ndarray, shifted: np.ndarray) -> np.ndarray:
    """Labels (argmax + 1); `shifted` receives each row minus its maximum."""
    rows, classes = logits.shape
    labels = np.empty(rows, dtype=np.int32)
    for i in prange(rows):
        best = 0
        top = logits[i, 0]
        for c in range(1, classes):
            if logits[i, c] > top:
                top, best = logits[i, c], c
        for c in range(classes):
            shifted[i, c] = logits[i, c] - top
        labels[i] = best + 1
    return labels


@njit(parallel=True, cache=True, fastmath=True)
def _top_probability(exponentials: np.ndarray) -> np.ndarray:
    """1 / row sum: the top class's exponential is exp(0) = 1."""
    rows, classes = exponentials.shape
    scores = np.empty(rows, dtype=np.float32)
    for i in prange(rows):
        total = np.float32(0.0)
        for c in range(classes):
            total += exponentials[i, c]
        scores[i] = np.float32(1.0) / total
    return scores
