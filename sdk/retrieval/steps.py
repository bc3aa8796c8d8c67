"""The `bebr` pipeline's steps: an embedding (or a batch of them, or a frame turned into a descriptor) ->
codes by the binarizer package -> top-k ids and cosine scores from the index by rapid::BinarySearch.

A bad item (wrong dimension, NaN, a zero vector) raises in its stage, so the streaming runtime counts it
and goes on with the next: the stream never stops for one bad vector."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from runtimes.bebr_index import SEARCH_RUNTIMES, BinaryIndex
from runtimes.embeddings import check_embeddings
from runtimes.ops.bebr_numba import TRANSPOSE_FROM_QUERIES
from runtimes.ops.bebr_spec import CodeError, CodeLayout, check_k
from runtimes.package import MANIFEST, Package, sha256
from runtimes.runner import Runner
from runtimes.streaming import Stage

#: an item's embedding from whatever the stream carries (a frame, say), for pipelines fed by an encoder
Describe = Callable[[object], np.ndarray]


@dataclass
class Retrieval:
    """One item's result: the top-k document ids and cosine scores ([k], or [n, k] for a batch of n), the
    item as it came, and timings per stage in milliseconds."""

    item: object
    ids: np.ndarray
    scores: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Encoded:
    item: object
    codes: np.ndarray
    norms: np.ndarray
    single: bool  # the item was one vector, not a batch


@dataclass(frozen=True)
class BinarizerInfo:
    """What a binarizer package's manifest says of its codes."""

    layout: CodeLayout
    code_version: str
    dim: int
    compatible_with: tuple[str, ...]
    package_sha256: str  # of its manifest, which holds every file's sha256

    @classmethod
    def of(cls, package: Package) -> BinarizerInfo:
        manifest = package.manifest
        if manifest.model.name != "bebr" or manifest.bebr is None or manifest.embedding_dim is None:
            raise ValueError(f"{package.folder}: not a BEBR binarizer package")
        codes = manifest.bebr
        return cls(codes.layout, codes.code_version, manifest.embedding_dim, codes.compatible_with,
                   sha256(package.folder / MANIFEST))


def encode_all(runner: Runner, embeddings: np.ndarray, dim: int, batch: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Codes and norms of many embeddings, a batch at a time (the package's profile allows up to 4096)."""
    embeddings = check_embeddings(embeddings, "embeddings", dim)
    parts = [runner.infer({"embeddings": np.ascontiguousarray(embeddings[start:start + batch])})
             for start in range(0, len(embeddings), batch)]
    return np.concatenate([p["codes"] for p in parts]), np.concatenate([p["norms"] for p in parts])


class RetrievalSteps:
    """Encode with the binarizer package's runner, search the index; refuses an index of other codes."""

    def __init__(self, package: Package, index: BinaryIndex, k: int = 10, describe: Describe | None = None,
                 threads: int | None = None, search_runtime: str = "numba") -> None:
        info = BinarizerInfo.of(package)
        self.layout, self.code_version, self.dim = info.layout, info.code_version, info.dim
        if index.layout != self.layout:
            raise CodeError(f"the index holds codes of {index.layout}, the binarizer makes {self.layout}")
        index.check_version(self.code_version)
        if search_runtime not in SEARCH_RUNTIMES:
            raise ValueError(f"unknown search runtime {search_runtime!r}; choose one of {', '.join(SEARCH_RUNTIMES)}")
        self.index, self.k, self.describe, self.threads = index, check_k(k, len(index)), describe, threads
        self.search_runtime = search_runtime

    def stages(self, runner: Runner) -> list[Stage]:
        stages = [Stage("describe", self.describe)] if self.describe else []
        return stages + [Stage("encode", lambda item: self.encode(runner, item)), Stage("search", self.search)]

    def encode(self, runner: Runner, item) -> Encoded:
        vectors = np.asarray(item)
        single = vectors.ndim == 1
        embeddings = check_embeddings(vectors[None] if single else vectors, "embedding", self.dim)
        out = runner.infer({"embeddings": np.ascontiguousarray(embeddings)})
        return Encoded(item, out["codes"], out["norms"], single)

    def search(self, encoded: Encoded) -> Retrieval:
        ids, scores = self.index.search(encoded.codes, encoded.norms, self.k, self.code_version, self.threads,
                                        self.search_runtime)
        if encoded.single:
            ids, scores = ids[0], scores[0]
        return Retrieval(encoded.item, ids, scores)

    def warmup(self, runner: Runner) -> tuple[list[Stage], np.ndarray]:
        """Encode a batch of random vectors, then search its first alone and the whole batch: the kernel reads
        the index directly for a few queries and transposes it for more, and each path compiles on its first
        use, which belongs in the warm-up, not in a timed search (the describe stage is the caller's encoder)."""
        encode = next(stage for stage in self.stages(runner) if stage.name == "encode")
        batch = np.random.default_rng(0).standard_normal((TRANSPOSE_FROM_QUERIES, self.dim)).astype(np.float32)
        return [encode, Stage("search", self._search_alone_then_together)], batch

    def _search_alone_then_together(self, encoded: Encoded) -> Retrieval:
        self.search(Encoded(encoded.item[0], encoded.codes[:1], encoded.norms[:1], single=True))
        return self.search(encoded)

    def timestamp_of(self, item) -> float | None:
        return getattr(item, "timestamp", None)


def open_index(index: BinaryIndex | str | Path) -> BinaryIndex:
    return index if isinstance(index, BinaryIndex) else BinaryIndex.load(index)
