"""Saying when numba compiles. The CPU kernels (range image, RAPiD features, labels, BEBR search) are
compiled on first use and cached on disk (`cache=True`); with a cold cache, a pipeline's warm-up spends
about 20 s compiling on 2 cores, and that long a silence reads as a hang. A new numba, Python or SDK
version, or another NUMBA_CACHE_DIR, starts cold again. Only real compilations are announced: numba's
"numba:compile" event does not fire for a kernel loaded from its cache."""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from numba.core import event


class _CompilationNotice(event.Listener):
    """Announces the first compilation it hears and remembers when it started."""

    def __init__(self, log: logging.Logger) -> None:
        self.log, self.started = log, None

    def on_start(self, item: event.Event) -> None:
        if self.started is None:
            self.started = time.perf_counter()
            self.log.warning("first use: compiling the CPU kernels (numba), about 20 s once; later runs load them "
                             "from numba's cache")

    def on_end(self, item: event.Event) -> None:
        pass


@contextlib.contextmanager
def announce_compilation(log: logging.Logger) -> Iterator[None]:
    """Within: the first numba compilation is announced on `log` before it starts, and how long compiling
    took once the block is left."""
    notice = _CompilationNotice(log)
    with event.install_listener("numba:compile", notice):
        yield
    if notice.started is not None:
        log.warning("compiled the CPU kernels in %.1f s; cached for the next runs", time.perf_counter() - notice.started)
