"""The contract of rapid::BinarySearch: BEBR codes, their packing, the score and the top-k rule.

A code is u+1 binary bit-planes of m bits (BEBR's recurrent binarizer, arXiv 2302.08714); plane i carries
weight 2^-i. Bit j of plane i is 1 for +1 and 0 for -1, stored LSB-first in int32 words: word
i * m/32 + j // 32, bit j % 32. A code [W] therefore has W = (u+1) * m / 32 words.

Score of query q against document d, in signed integers scaled by 4^u so every weight is whole:
    S(q, d) = sum_ij 2^(u-i) 2^(u-j) (m - 2 popcount(q_i XOR d_j)),
the inner product of the decoded codes sum_i 2^(u-i) b_i. A code's norm is sqrt(S(c, c)) rounded to
float32 (never zero: each decoded entry is odd). The ranking score is the cosine
    float32(S(q, d)) / (norm_q * norm_d)
in float32, the product first; top-k by descending cosine, ties to the lower document index. |S| stays
below 2^24 for every supported layout, so float32(S) is exact.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WORD_BITS = 32
#: plane counts and widths the kernels support (planes: u + 1)
MAX_PLANES = 4
MAX_BITS = 4096
#: the largest k TensorRT's TopK takes; the plugin and the portable form both respect it
MAX_K = 3840


#: set bits of every byte value
_BYTE_POPCOUNTS = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits of each uint32 word, same shape (what numpy 2's bitwise_count does; numpy 1.26, which ROS 2
    Humble vehicles keep, has none)."""
    words = np.ascontiguousarray(words, dtype=np.uint32)
    return _BYTE_POPCOUNTS[words.view(np.uint8)].reshape(*words.shape, 4).sum(axis=-1, dtype=np.int64)


class CodeError(ValueError):
    """Codes, norms or a search request that do not fit the layout; the message says what is wrong."""


@dataclass(frozen=True)
class CodeLayout:
    """m bits per plane and u + 1 planes."""

    bits: int = 512
    planes: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.planes <= MAX_PLANES:
            raise CodeError(f"planes must lie in 1..{MAX_PLANES} (u = 0..{MAX_PLANES - 1}), got {self.planes}")
        if self.bits <= 0 or self.bits % WORD_BITS or self.bits > MAX_BITS:
            raise CodeError(f"bits per plane must be a positive multiple of {WORD_BITS} up to {MAX_BITS}, got {self.bits}")

    @property
    def u(self) -> int:
        return self.planes - 1

    @property
    def words_per_plane(self) -> int:
        return self.bits // WORD_BITS

    @property
    def words(self) -> int:
        return self.planes * self.words_per_plane

    @property
    def code_bytes(self) -> int:
        return self.words * 4

    def plane_weights(self) -> np.ndarray:
        """2^(u-i) for plane i: the weights 2^-i scaled to whole numbers."""
        return (2 ** np.arange(self.u, -1, -1)).astype(np.int64)

    def pair_weights(self) -> np.ndarray:
        """[planes, planes] int64: 2^(u-i) 2^(u-j), the weight of plane pair (i, j) in S."""
        weights = self.plane_weights()
        return np.outer(weights, weights)

    def attributes(self) -> dict[str, int]:
        """The node's attributes (ONNX, ONNX Runtime extensions and TensorRT plugin fields), with k added."""
        return {"bits": self.bits, "planes": self.planes}

    @classmethod
    def for_budget(cls, code_bytes: int, planes: int) -> CodeLayout:
        """The widest layout of `planes` planes whose code fits in `code_bytes` (bits a multiple of 32)."""
        bits = (code_bytes * 8 // planes) // WORD_BITS * WORD_BITS
        if bits == 0:
            raise CodeError(f"{code_bytes} bytes cannot hold {planes} planes of {WORD_BITS} bits")
        return cls(bits, planes)


def check_codes(codes: np.ndarray, layout: CodeLayout, what: str = "codes") -> np.ndarray:
    """[N, W] int32 words of this layout, as a C-contiguous array."""
    codes = np.asarray(codes)
    if codes.dtype not in (np.int32, np.uint32):
        raise CodeError(f"{what}: dtype {codes.dtype}, expected int32 words")
    if codes.ndim != 2 or codes.shape[1] != layout.words:
        raise CodeError(f"{what}: shape {list(codes.shape)}, expected [N, {layout.words}] "
                        f"({layout.planes} planes of {layout.bits} bits)")
    return np.ascontiguousarray(codes.view(np.int32))


def check_norms(norms: np.ndarray, count: int, what: str = "norms", values: bool = True) -> np.ndarray:
    """float32 [count], each finite and positive (`values=False`: the dtype and shape only, for norms whose
    values were checked when they entered an index)."""
    norms = np.asarray(norms)
    if norms.dtype != np.float32 or norms.shape != (count,):
        raise CodeError(f"{what}: {norms.dtype} {list(norms.shape)}, expected float32 [{count}]")
    if values and not (np.isfinite(norms).all() and (norms > 0).all()):
        raise CodeError(f"{what}: every norm must be finite and positive")
    return np.ascontiguousarray(norms)


@dataclass(frozen=True)
class NormRange:
    """The smallest and largest of a set of checked norms: what the fast search's entry bound needs, kept by an
    index so that a search reads no document's norm unless that document may enter the top-k."""

    lowest: float
    highest: float

    @classmethod
    def of(cls, checked_norms: np.ndarray) -> NormRange:
        if len(checked_norms) == 0:
            return cls(1.0, 1.0)
        return cls(float(checked_norms.min()), float(checked_norms.max()))


def check_k(k: int, documents: int) -> int:
    if not 1 <= k <= MAX_K:
        raise CodeError(f"k must lie in 1..{MAX_K} (TensorRT's TopK limit), got {k}")
    if documents == 0:
        raise CodeError("the index is empty: nothing to search")
    if k > documents:
        raise CodeError(f"k = {k} is larger than the index ({documents} documents)")
    return k


def pack_signs(values: np.ndarray, layout: CodeLayout) -> np.ndarray:
    """[N, planes, m] real values -> [N, W] int32 words; bit = 1 where value >= 0 (sign(0) = +1)."""
    values = np.asarray(values)
    if values.ndim != 3 or values.shape[1:] != (layout.planes, layout.bits):
        raise CodeError(f"values: shape {list(values.shape)}, expected [N, {layout.planes}, {layout.bits}]")
    bits = (values >= 0).reshape(len(values), layout.words, WORD_BITS).astype(np.uint32)
    words = (bits << np.arange(WORD_BITS, dtype=np.uint32)).sum(axis=-1, dtype=np.uint32)
    return words.view(np.int32)


def unpack_signs(codes: np.ndarray, layout: CodeLayout) -> np.ndarray:
    """[N, W] int32 words -> [N, planes, m] int8 of +1 / -1."""
    words = check_codes(codes, layout).view(np.uint32)
    bits = (words[..., None] >> np.arange(WORD_BITS, dtype=np.uint32)) & 1
    return (2 * bits.astype(np.int8) - 1).reshape(len(words), layout.planes, layout.bits)


def decoded_levels(codes: np.ndarray, layout: CodeLayout) -> np.ndarray:
    """[N, W] -> [N, m] int64: sum_i 2^(u-i) b_i, the code as a vector (S is its inner product)."""
    signs = unpack_signs(codes, layout).astype(np.int64)
    return np.einsum("npm,p->nm", signs, layout.plane_weights())


def code_norms(codes: np.ndarray, layout: CodeLayout) -> np.ndarray:
    """float32 sqrt(S(c, c)) of each code: the norm stored beside it."""
    levels = decoded_levels(codes, layout)
    return np.sqrt(np.einsum("nm,nm->n", levels, levels).astype(np.float32))
