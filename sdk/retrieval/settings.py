"""The binarizer's shape and its training settings, and the embeddings it trains on: plain data, no
PyTorch, so the CLI builds its flags and a core install (indexing and search) imports them without it."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np

from runtimes.embeddings import EmbeddingError, check_embeddings
from runtimes.ops.bebr_spec import CodeLayout


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


@dataclass(frozen=True)
class BinarizerTraining:
    epochs: int = 20
    batch_size: int = 512
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.05
    hard_negatives: int = 8  # the few hardest in-batch negatives of each anchor, in a loss of their own
    hard_weight: float = 0.5
    teacher_temperature: float = 0.05  # vectors mode: the float neighbourhood's softmax
    compatible_weight: float = 1.0  # backward-compatible mode: weight of the new-query / old-document loss
    neighbourhood_weight: float = 0.0  # pairs mode: weight of the vectors mode's loss, a regulariser
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(f"epochs >= 1 and batch_size >= 2 needed, got {self.epochs} and {self.batch_size}")
        if self.temperature <= 0 or self.teacher_temperature <= 0:
            raise ValueError("temperatures must be positive")
        if self.hard_negatives < 0 or self.hard_negatives >= self.batch_size:
            raise ValueError(f"hard_negatives must lie in 0..batch_size-1, got {self.hard_negatives}")


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
