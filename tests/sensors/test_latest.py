"""The drop-oldest policy shared by live sources and live streams: the newest item always goes in."""
from __future__ import annotations

import queue

from sensors.latest import put_latest


def test_the_newest_goes_in_and_the_displaced_oldest_are_counted():
    target: queue.Queue[int] = queue.Queue(maxsize=2)
    assert [put_latest(target, i) for i in range(5)] == [0, 0, 1, 1, 1]
    assert [target.get_nowait() for _ in range(2)] == [3, 4] and target.empty()
