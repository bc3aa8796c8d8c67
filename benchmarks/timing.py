"""The one timing helper the benchmark scripts share: a warm-up call, then the median of repeats."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(run: Callable[[], object], repeats: int, synchronize: Callable[[], object] = lambda: None) -> float:
    """Milliseconds per call; the first call (JIT compilation, caches, lazy imports) is not counted."""
    run()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        synchronize()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)
