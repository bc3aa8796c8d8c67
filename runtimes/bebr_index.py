"""A BEBR index: document codes, their norms and the caller's ids, in one file that loads memory-mapped.

File layout (little-endian): MAGIC (8 bytes), header length (uint32), the header as UTF-8 JSON, zero
padding to a 64-byte boundary, then codes int32 [N, W], norms float32 [N] and ids int64 [N], each from a
64-byte boundary. The header records the layout, the count, the code version that made the codes, the
versions declared compatible with it, the sha256 of the binarizer package and of the payload. A damaged,
truncated or foreign file fails at once naming the file and the problem; `save` writes a temporary file
beside the target and renames it over, so an interrupted save leaves the previous index in place.

Searching checks the queries' code version: codes of another binarizer are refused unless this index
declares that version compatible (a binarizer trained backward-compatibly against this one)."""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .binary_search_session import BinarySearchSession
from .ops.bebr_numba import binary_search_numba
from .ops.bebr_spec import CodeError, CodeLayout, NormRange, check_codes, check_k, check_norms

MAGIC = b"RAPIDIDX"
FORMAT = "rapid-edge-bebr-index"
FORMAT_VERSION = 1
ALIGNMENT = 64
PREFIX = struct.Struct("<8sI")
#: what can run a search: the numba kernel, or the rapid::BinarySearch node in ONNX Runtime (native op library)
SEARCH_RUNTIMES = ("numba", "onnxruntime")


class IndexFileError(ValueError):
    """An index file that cannot be used; the message names the file and what is wrong."""


class CodeVersionError(ValueError):
    """Query codes of a binarizer this index was not built with and does not declare compatible."""


@dataclass
class IndexInfo:
    """What an index's header says beside its arrays."""

    layout: CodeLayout
    code_version: str
    package_sha256: str = ""
    compatible_versions: list[str] = field(default_factory=list)

    def header(self, count: int, payload_sha256: str) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "count": count,
                "layout": {"bits": self.layout.bits, "planes": self.layout.planes}, "code_version": self.code_version,
                "compatible_versions": sorted(self.compatible_versions), "package_sha256": self.package_sha256,
                "payload_sha256": payload_sha256}


def _aligned(offset: int) -> int:
    return (offset + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _payload_digest(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array))
    return digest.hexdigest()


def _payload_offsets(start: int, count: int, layout: CodeLayout) -> tuple[int, int, int, int]:
    """Offsets of codes, norms and ids, and the file's end."""
    codes = start
    norms = _aligned(codes + count * layout.code_bytes)
    ids = _aligned(norms + count * 4)
    return codes, norms, ids, ids + count * 8


class BinaryIndex:
    """Codes, norms and ids in memory or memory-mapped (read-only until changed: `add`/`remove` copy)."""

    def __init__(self, info: IndexInfo, codes: np.ndarray | None = None, norms: np.ndarray | None = None,
                 ids: np.ndarray | None = None) -> None:
        self.info = info
        layout = info.layout
        self.codes = check_codes(codes, layout, "index codes") if codes is not None else np.empty((0, layout.words), np.int32)
        self.norms = check_norms(norms, len(self.codes), "index norms") if norms is not None else np.empty(0, np.float32)
        ids = np.arange(len(self.codes), dtype=np.int64) if ids is None else np.asarray(ids)
        self.ids = self._checked_ids(ids, len(self.codes))
        self._contents_changed()

    def _contents_changed(self) -> None:
        """After the documents change: the norms' range (norms are checked once, on entry, not per search) and no
        search session over the old documents."""
        self.norm_range = NormRange.of(self.norms)
        self._sessions: dict[tuple[int, int | None], BinarySearchSession] = {}

    # -- contents -------------------------------------------------------------------------------------------
    @property
    def layout(self) -> CodeLayout:
        return self.info.layout

    def __len__(self) -> int:
        return len(self.codes)

    @staticmethod
    def _checked_ids(ids: np.ndarray, count: int) -> np.ndarray:
        if ids.dtype.kind not in "iu" or ids.shape != (count,):
            raise CodeError(f"ids: {ids.dtype} {list(ids.shape)}, expected integers [{count}]")
        ids = ids.astype(np.int64, copy=False)
        unique, counts = np.unique(ids, return_counts=True)
        if len(unique) != count:
            raise CodeError(f"ids: {int(unique[counts > 1][0])} appears more than once")
        return ids

    def add(self, codes: np.ndarray, norms: np.ndarray, ids: np.ndarray | None = None) -> None:
        """Append documents; ids default to the next integers after the largest present."""
        codes = check_codes(codes, self.layout, "added codes")
        norms = check_norms(norms, len(codes), "added norms")
        if ids is None:
            first = int(self.ids.max()) + 1 if len(self.ids) else 0
            ids = np.arange(first, first + len(codes), dtype=np.int64)
        ids = self._checked_ids(np.asarray(ids), len(codes))
        present = np.intersect1d(ids, self.ids)
        if len(present):
            raise CodeError(f"ids already in the index: {present[:5].tolist()}")
        self.codes = np.concatenate([self.codes, codes])
        self.norms = np.concatenate([self.norms, norms])
        self.ids = np.concatenate([self.ids, ids])
        self._contents_changed()

    def remove(self, ids) -> None:
        """Remove documents by id; every id must be present (nothing is removed otherwise)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        keep = ~np.isin(self.ids, ids)
        missing = np.setdiff1d(ids, self.ids)
        if len(missing):
            raise CodeError(f"ids not in the index: {missing[:5].tolist()}")
        self.codes, self.norms, self.ids = self.codes[keep], self.norms[keep], self.ids[keep]
        self._contents_changed()

    # -- versions -------------------------------------------------------------------------------------------
    def accepts(self, code_version: str) -> bool:
        return code_version == self.info.code_version or code_version in self.info.compatible_versions

    def declare_compatible(self, code_version: str) -> None:
        """Let queries of `code_version` search this index (its binarizer was trained against this one's)."""
        if code_version != self.info.code_version and code_version not in self.info.compatible_versions:
            self.info.compatible_versions.append(code_version)

    def check_version(self, code_version: str) -> None:
        if not self.accepts(code_version):
            declared = ", ".join(self.info.compatible_versions) or "none"
            raise CodeVersionError(f"query codes of {code_version} cannot search an index of {self.info.code_version} "
                                   f"(compatible versions declared: {declared}); re-encode the index or declare "
                                   "a backward-compatible binarizer")

    # -- search ---------------------------------------------------------------------------------------------
    def search(self, query_codes: np.ndarray, query_norms: np.ndarray, k: int, code_version: str,
               threads: int | None = None, runtime: str = "numba") -> tuple[np.ndarray, np.ndarray]:
        """Top-k of each query: ids int64 [Q, k] and cosine scores float32 [Q, k], by the numba kernel or the
        rapid::BinarySearch node in ONNX Runtime (`runtime`, one of SEARCH_RUNTIMES: the same results)."""
        self.check_version(code_version)
        check_k(k, len(self))
        if runtime == "numba":
            scores, rows = binary_search_numba(query_codes, query_norms, self.codes, self.norms, self.layout, k, threads,
                                               self.norm_range)
        elif runtime == "onnxruntime":
            scores, rows = self._session(k, threads).search(query_codes, query_norms)
        else:
            raise ValueError(f"unknown search runtime {runtime!r}; choose one of {', '.join(SEARCH_RUNTIMES)}")
        return self.ids[rows], scores

    def _session(self, k: int, threads: int | None) -> BinarySearchSession:
        """One ONNX Runtime session per k and thread count, over the documents as they are now."""
        key = (k, threads)
        if key not in self._sessions:
            self._sessions[key] = BinarySearchSession(self.codes, self.norms, self.layout, k, threads,
                                                      check_doc_norms=False)
        return self._sessions[key]

    # -- files ----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write atomically: a temporary file in the same folder, flushed to disk, renamed over `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = (np.ascontiguousarray(self.codes), np.ascontiguousarray(self.norms), np.ascontiguousarray(self.ids))
        header = json.dumps(self.info.header(len(self), _payload_digest(arrays))).encode()
        start = _aligned(PREFIX.size + len(header))
        offsets = _payload_offsets(start, len(self), self.layout)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(PREFIX.pack(MAGIC, len(header)) + header)
                for offset, array in zip(offsets, arrays):
                    out.write(b"\0" * (offset - out.tell()))
                    out.write(array.tobytes())
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path, mmap: bool = True, verify: bool = True) -> BinaryIndex:
        """Open an index file; `verify` checks the payload's sha256 (reads the whole file once)."""
        path = Path(path)
        if not path.is_file():
            raise IndexFileError(f"{path}: no such index file")
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(PREFIX.size)
            if len(prefix) < PREFIX.size or prefix[:8] != MAGIC:
                raise IndexFileError(f"{path}: not a BEBR index (no {MAGIC.decode()} signature)")
            _, header_length = PREFIX.unpack(prefix)
            if PREFIX.size + header_length > size:
                raise IndexFileError(f"{path}: truncated inside its header")
            try:
                header = json.loads(handle.read(header_length))
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise IndexFileError(f"{path}: damaged header ({err})") from err
        info, count, payload_sha256 = cls._read_header(path, header)
        offsets = _payload_offsets(_aligned(PREFIX.size + header_length), count, info.layout)
        if size < offsets[3]:
            raise IndexFileError(f"{path}: truncated: {size} bytes, {offsets[3]} needed for {count} codes")
        if size > offsets[3]:
            raise IndexFileError(f"{path}: {size - offsets[3]} bytes after the payload (not written by this SDK)")
        mode = "r" if mmap else None
        codes = cls._array(path, offsets[0], np.int32, (count, info.layout.words), mode)
        norms = cls._array(path, offsets[1], np.float32, (count,), mode)
        ids = cls._array(path, offsets[2], np.int64, (count,), mode)
        if verify and _payload_digest((codes, norms, ids)) != payload_sha256:
            raise IndexFileError(f"{path}: payload sha256 does not match its header (damaged)")
        try:
            return cls(info, codes, norms, ids)
        except CodeError as err:
            raise IndexFileError(f"{path}: {err}") from err

    @staticmethod
    def _read_header(path: Path, header: dict) -> tuple[IndexInfo, int, str]:
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise IndexFileError(f"{path}: not a {FORMAT} file")
        if header.get("format_version") != FORMAT_VERSION:
            raise IndexFileError(f"{path}: format version {header.get('format_version')} (this SDK reads "
                                 f"{FORMAT_VERSION}); rebuild the index")
        try:
            layout = CodeLayout(int(header["layout"]["bits"]), int(header["layout"]["planes"]))
            info = IndexInfo(layout, str(header["code_version"]), str(header.get("package_sha256", "")),
                             [str(v) for v in header.get("compatible_versions", [])])
            count, payload_sha256 = int(header["count"]), str(header["payload_sha256"])
        except (KeyError, TypeError, ValueError) as err:
            raise IndexFileError(f"{path}: damaged header ({err!r})") from err
        if count < 0:
            raise IndexFileError(f"{path}: damaged header (count {count})")
        return info, count, payload_sha256

    @staticmethod
    def _array(path: Path, offset: int, dtype, shape: tuple[int, ...], mode: str | None) -> np.ndarray:
        if mode is not None and int(np.prod(shape)) > 0:
            return np.memmap(path, dtype=dtype, mode=mode, offset=offset, shape=shape)
        with path.open("rb") as handle:
            handle.seek(offset)
            return np.frombuffer(handle.read(int(np.prod(shape)) * np.dtype(dtype).itemsize), dtype=dtype).reshape(shape).copy()
