"""Keep a frame's freed host memory for the next frame instead of handing it back to the kernel.

Why: one rapid_seg frame allocates and frees about 14 MB of arrays (range image, RAPiD scratch and features,
logits, softmax, vote planes; NumPy, numba and ONNX Runtime alike). glibc's allocator returns the top of
its heap to the kernel once more than its trim threshold is free and serves blocks above its mmap threshold
by mmap, so the same pages were faulted in and zeroed afresh every frame: about 4,300 page faults a frame
on the real scan while a loop holds the last result, 4-9 ms of an 80 ms frame on 2 cores. Raising both
thresholds once (glibc's `mallopt`, the knob its MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ variables
set) keeps up to RETAINED_BYTES of freed memory in the process, which buffer pools in each library would
otherwise have to do one by one.
Other C libraries (musl, macOS, Windows) are left as they are."""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger("runtimes")

#: freed memory a pipeline's process keeps for reuse (several frames' arrays of the largest shipped model)
RETAINED_BYTES = 64 * 1024 * 1024
#: glibc's malloc.h parameter numbers
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3

_retaining = False


def retain_freed_memory() -> bool:
    """Raise glibc's trim and mmap thresholds to RETAINED_BYTES, once per process; False where the C
    library is not glibc (nothing changed)."""
    global _retaining
    if _retaining:
        return True
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    mmap_set = libc.mallopt(M_MMAP_THRESHOLD, RETAINED_BYTES)
    trim_set = libc.mallopt(M_TRIM_THRESHOLD, RETAINED_BYTES)
    _retaining = bool(mmap_set and trim_set)
    if not _retaining:
        log.debug("glibc refused mallopt thresholds of %d bytes; freed frame memory goes back to the kernel", RETAINED_BYTES)
    return _retaining
