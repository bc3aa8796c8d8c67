"""The contract of rapid::RapidFeatures: its attributes, shapes and the rules every implementation follows.

Input `image` float32 [B, 4, H, W]: x, y, z, reflectivity of one return per range-image pixel; a pixel
is valid when x, y, z are finite, not all zero, and its reflectivity is finite. Output float32
[B, k_max, H, W]. For each valid pixel the candidates are the valid pixels of its row within +-window
columns (the azimuth wraps), visited nearest column first (-1, +1, -2, +2, ...); the k nearest by 3-D
distance are chosen (ties: the earlier candidate), k set by the pixel's range. Their 4-D distances
sqrt(d3^2 + (g(r_i) - g(r_j))^2), with g mapping reflectivity affinely from [r_min, r_max] onto
[d_min, d_max] (the extremes of the chosen 3-D distances; g = d_min when all reflectivities are equal),
are sorted ascending and divided by the frame's largest 4-D distance. Values above delta, and the
padding up to k_max, take the row's largest value within delta. A row with no value within delta,
an invalid pixel, and a pixel without any valid candidate read 1.0 throughout ("nothing near").
Statistics are per batch item unless frozen to constants for deterministic streaming.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

INPUT_CHANNELS = 4
NOTHING_NEAR = 1.0


@dataclass(frozen=True)
class FrozenStats:
    """Frame statistics fixed to constants, so a frame's features do not depend on the rest of it."""

    r_min: float
    r_max: float
    d_min: float
    d_max: float
    scale: float


@dataclass(frozen=True)
class RapidConfig:
    window: int = 10
    k_values: tuple[int, int, int] = (10, 7, 5)
    range_thresholds: tuple[float, float] = (20.0, 35.0)
    delta: float = 0.9
    frozen: FrozenStats | None = field(default=None)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")
        if len(self.k_values) != 3 or min(self.k_values) < 1:
            raise ValueError(f"k_values must be three positive ints (near, mid, far), got {self.k_values}")
        if max(self.k_values) > 2 * self.window:
            raise ValueError(f"k_max {max(self.k_values)} exceeds the {2 * self.window} candidates of window {self.window}")
        near, far = self.range_thresholds
        if not 0 < near <= far:
            raise ValueError(f"range_thresholds must satisfy 0 < near <= far, got {self.range_thresholds}")
        if not 0 < self.delta <= 1:
            raise ValueError(f"delta must lie in (0, 1], got {self.delta}")

    @property
    def k_max(self) -> int:
        return max(self.k_values)

    def candidate_offsets(self) -> np.ndarray:
        """Column offsets in visiting order: -1, +1, -2, +2, ..., -window, +window."""
        return np.array([sign * d for d in range(1, self.window + 1) for sign in (-1, 1)], dtype=np.int64)

    def k_for_range(self, distance: np.ndarray) -> np.ndarray:
        near, far = self.range_thresholds
        k_near, k_mid, k_far = self.k_values
        return np.where(distance < near, k_near, np.where(distance < far, k_mid, k_far))

    def attributes(self) -> dict[str, float | int]:
        """The node's scalar attributes (ONNX, ONNX Runtime extensions and TensorRT plugin fields)."""
        k_near, k_mid, k_far = self.k_values
        near, far = self.range_thresholds
        stats = asdict(self.frozen) if self.frozen else {"r_min": 0.0, "r_max": 0.0, "d_min": 0.0, "d_max": 0.0, "scale": 0.0}
        return {"window": self.window, "k_near": k_near, "k_mid": k_mid, "k_far": k_far,
                "range_near": float(near), "range_far": float(far), "delta": float(self.delta),
                "frozen": int(self.frozen is not None), **{k: float(v) for k, v in stats.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> RapidConfig:
        """The JSON form (dataclasses.asdict) back into a config: in checkpoints and package manifests."""
        frozen = FrozenStats(**data["frozen"]) if data.get("frozen") else None
        return cls(**{**data, "k_values": tuple(data["k_values"]),
                      "range_thresholds": tuple(data["range_thresholds"]), "frozen": frozen})

    @classmethod
    def from_attributes(cls, attributes: dict) -> RapidConfig:
        frozen = None
        if int(attributes.get("frozen", 0)):
            frozen = FrozenStats(*(float(attributes[k]) for k in ("r_min", "r_max", "d_min", "d_max", "scale")))
        return cls(window=int(attributes["window"]),
                   k_values=(int(attributes["k_near"]), int(attributes["k_mid"]), int(attributes["k_far"])),
                   range_thresholds=(float(attributes["range_near"]), float(attributes["range_far"])),
                   delta=float(attributes["delta"]), frozen=frozen)


KITTI = RapidConfig()
NUSCENES = RapidConfig(k_values=(8, 6, 3))


def check_image(image: np.ndarray) -> None:
    if image.ndim != 4 or image.shape[1] != INPUT_CHANNELS:
        raise ValueError(f"RapidFeatures expects [B, 4, H, W] (x, y, z, reflectivity), got {image.shape}")
