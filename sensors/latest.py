"""The drop-oldest policy of everything live (a UDP source's frames, a live stream's stages): a new item
always goes in, the oldest waiting ones make room, so what waits is the freshest and latency stays bounded."""
from __future__ import annotations

import queue
from typing import Any


def put_latest(target: queue.Queue, item: Any) -> int:
    """Put `item` into the bounded `target` without blocking, dropping the oldest waiting items until it
    fits; returns how many were dropped, for the caller to count."""
    dropped = 0
    while True:
        try:
            target.put_nowait(item)
            return dropped
        except queue.Full:
            try:
                target.get_nowait()
                dropped += 1
            except queue.Empty:  # a consumer took one meanwhile: there is room now
                pass
