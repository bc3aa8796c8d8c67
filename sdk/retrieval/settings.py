"""The binarizer's shape and its training settings, and the embeddings it trains on: plain data, no
PyTorch, so the CLI builds its flags and a core install (indexing and search) imports them without it."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from runtimes.embeddings import EmbeddingError, check_embeddings
from runtimes.ops.bebr_spec import CodeLayout


def setting(default: Any, help: str, choices: tuple | None = None) -> Any:
    """A field with the sentence `rapid-edge bebr train --help` shows for it (and the values it takes)."""
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class BinarizerConfig:
    dim: int = 384  # all-MiniLM-L6-v2's embedding width
    bits: int = 512  # m, bits per plane
    planes: int = 2  # u + 1
    hidden: int = 1024  # 0: every transform is one Linear (the "learned linear projection + sign" baseline)
    binary: bool = True  # False: no sign, the float projection the paper compares with (not exportable)
    dropout: float = 0.3  # after each MLP block's ReLU, in training only (width and rate: weights/bebr/TRAINING.md)

    def __post_init__(self) -> None:
        self.layout  # validates bits and planes
        if self.dim < 1 or self.hidden < 0:
            raise ValueError(f"dim must be positive and hidden non-negative, got {self.dim} and {self.hidden}")
        if not self.binary and self.planes != 1:
            raise ValueError("a float projection has one plane")

    @property
    def layout(self) -> CodeLayout:
        return CodeLayout(self.bits, self.planes)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> BinarizerConfig:
        return cls(**data)


#: a binarizer's start: PyTorch's random weights, or the residual code of a projection fitted on the training
#: vectors (sdk/retrieval/projection.py): a random rotation, or their principal directions then one
INITS = ("random", "rotation", "pca")


@dataclass(frozen=True)
class BinarizerTraining:
    epochs: int = setting(20, "passes over the training pairs (0 with an init other than random: the fitted "
                              "start alone)")
    batch_size: int = setting(512, "pairs per step (in-batch negatives)")
    learning_rate: float = setting(2e-3, "AdamW's rate")
    weight_decay: float = setting(1e-4, "AdamW's weight decay")
    temperature: float = setting(0.05, "the contrastive loss's softmax temperature")
    hard_negatives: int = setting(8, "the hardest in-batch negatives of each anchor, in a loss of their own")
    hard_weight: float = setting(0.5, "weight of the hard-negative loss")
    teacher_temperature: float = setting(0.05, "vectors mode: the float neighbourhood's softmax temperature")
    compatible_weight: float = setting(1.0, "backward-compatible mode: weight of the new-query / old-document loss")
    neighbourhood_weight: float = setting(0.0, "pairs mode: weight of the vectors mode's loss, a regulariser")
    init: str = setting("random", "the start: random weights, or the residual code of a projection fitted on "
                                  "the training vectors: rotation (random) or pca (their principal directions, "
                                  "rotated)", INITS)
    directions: int = setting(0, "pca start: the leading principal directions kept and spread over the bits (0: as "
                                 "many as the code has bits, at most the embedding's width)")
    validation_fraction: float = setting(0.0, "the share of the rows kept out of training to stop it early: the "
                                              "epoch (0 = the start) best on them is the result")
    patience: int = setting(3, "with a validation part: stop after this many epochs without a better one")
    min_steps_per_epoch: int = setting(1, "an epoch takes at least this many steps: fewer rows than that many "
                                          "batches are passed over again (a small task trains between scorings)")
    seed: int = setting(0, "order, dropout and initial weights are drawn from it")
    device: str = setting("cpu", "cpu, cuda, cuda:1 ...")

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.directions < 0 or (self.directions and self.init != "pca"):
            raise ValueError(f"directions is a count of the pca start's principal directions (0: as many as fit), got "
                             f"{self.directions} with init {self.init!r}")
        if self.epochs < (1 if self.init == "random" else 0) or self.batch_size < 2:
            raise ValueError(f"epochs >= 1 (>= 0 from a fitted init) and batch_size >= 2 needed, got {self.epochs} "
                             f"and {self.batch_size}")
        if self.temperature <= 0 or self.teacher_temperature <= 0:
            raise ValueError("temperatures must be positive")
        if self.hard_negatives < 0 or self.hard_negatives >= self.batch_size:
            raise ValueError(f"hard_negatives must lie in 0..batch_size-1, got {self.hard_negatives}")
        if not 0.0 <= self.validation_fraction < 1.0 or self.patience < 1 or self.min_steps_per_epoch < 1:
            raise ValueError(f"validation_fraction must lie in [0, 1), patience and min_steps_per_epoch be >= 1, got "
                             f"{self.validation_fraction}, {self.patience} and {self.min_steps_per_epoch}")


@dataclass
class TrainingData:
    """Float embeddings as stored: pairs (queries, docs) or vectors alone (docs is None)."""

    queries: np.ndarray
    docs: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.queries = check_embeddings(self.queries, "queries")
        if self.docs is not None:
            self.docs = check_embeddings(self.docs, "docs", self.queries.shape[1])
            if len(self.docs) != len(self.queries):
                raise EmbeddingError(f"pairs: {len(self.queries)} queries but {len(self.docs)} docs (row i of each is a pair)")

    @property
    def mode(self) -> str:
        return "vectors" if self.docs is None else "pairs"

    @property
    def dim(self) -> int:
        return self.queries.shape[1]

    def __len__(self) -> int:
        return len(self.queries)

    def rows(self, indices: np.ndarray) -> TrainingData:
        return TrainingData(self.queries[indices], None if self.docs is None else self.docs[indices])


@dataclass(frozen=True)
class Recipe:
    """What `rapid-edge bebr train` does by default with one kind of data (sdk/weights/bebr/TRAINING.md
    records how each was chosen); flags given on the command line replace single settings."""

    training: BinarizerTraining
    config: BinarizerConfig | None = None  # None: the start's shape
    start: str | None = None  # a binarizer package or checkpoint to fine-tune; `default`: the shipped one


#: the binarizer package that ships with the SDK, by the name the CLI and the recipes use for it
DEFAULT_BINARIZER = "default"

#: vectors: the task-agnostic recipe the shipped default was made by; pairs: fine-tune the shipped default,
#: stopping on a tenth of the pairs (settings chosen across tasks: benchmarks/bebr_task_tuning.py)
RECIPES = {
    "vectors": Recipe(BinarizerTraining(epochs=3, learning_rate=1e-4, init="pca"), BinarizerConfig(bits=256, planes=4, hidden=0)),
    "pairs": Recipe(BinarizerTraining(epochs=20, batch_size=128, learning_rate=3e-4, validation_fraction=0.1, patience=3,
                                      min_steps_per_epoch=10), start=DEFAULT_BINARIZER),
}
