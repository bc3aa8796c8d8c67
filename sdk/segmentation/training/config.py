"""The settings of a training run (the trainer's, the batch maker's and the CLI's flags read them)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sdk.segmentation.training.data import Augmentation

STAGES = ("autoencoder", "segmentation")


@dataclass
class TrainConfig:
    stage: str = "segmentation"
    steps: int = 1000
    frames_per_step: int = 2
    crops_per_frame: int = 2  # each frame's projection and RAPiD features serve several crops
    crop_width: int | None = 512  # columns of the 2048-column sweep; None trains on full sweeps
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    checkpoint_every: int = 100
    embedding_weight: float = 0.1  # lambda
    reconstruction_weight: float = 1.0
    lovasz_points: int = 20_000  # Lovasz-softmax on a random subset of points: its sort dominates otherwise
    anchors: int = 2048  # the paper's cap is 4096; 2048 halves the similarity matrix's cost on a CPU
    #: stop (with a checkpoint) after this much wall time; `resume` continues the same schedule
    max_minutes: float | None = None
    #: weight cross-entropy by inverse square-root class frequency (estimated on `balance_frames` frames)
    balance_frames: int = 16
    #: share of crops centred on a class drawn uniformly among those in the sweep (0: every crop at random)
    class_crops: float = 0.0
    #: decay of the exponential moving average of the weights saved as the model (0: no average)
    ema: float = 0.0
    augmentation: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"stage must be one of {STAGES}, got {self.stage!r}")
        if self.frames_per_step < 1 or self.crops_per_frame < 1:
            raise ValueError(f"frames_per_step and crops_per_frame must be at least 1, got "
                             f"{self.frames_per_step} and {self.crops_per_frame}")
        if not 0.0 <= self.class_crops <= 1.0:
            raise ValueError(f"class_crops is a share of crops, 0 to 1, got {self.class_crops}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema is a decay per step, 0 (off) up to but not including 1, got {self.ema}")
