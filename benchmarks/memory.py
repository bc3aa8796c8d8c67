"""Resident memory and the C heap behind it, to tell a leak from fragmentation in a long run.

RSS alone cannot say whether growth is memory still in use (a leak in native code) or memory the C
allocator keeps after it was freed (fragmentation between the pipeline's threads): glibc's mallinfo2
splits the heap into bytes in use and bytes held free. None where the C library is not glibc."""
from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        return libc
    except (OSError, AttributeError):
        return None


_LIBC = _glibc()


@dataclass(frozen=True)
class MemorySample:
    rss_mib: float
    #: heap bytes the program holds (small blocks and mmapped large ones); None without glibc
    heap_in_use_mib: float | None
    #: heap bytes freed but kept by the allocator (not returned to the system)
    heap_free_mib: float | None


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sample() -> MemorySample:
    if _LIBC is None:
        return MemorySample(round(rss_mib(), 1), None, None)
    info = _LIBC.mallinfo2()
    return MemorySample(round(rss_mib(), 1), round((info.uordblks + info.hblkhd) / MIB, 1), round(info.fordblks / MIB, 1))
