"""The streaming executor on synthetic sources: order and completeness for files, drops under overload for
live sources, failing frames skipped and counted, clean stops, silent sources, broken sources."""
from __future__ import annotations

import contextlib
import threading
import time

import numpy as np
import pytest

from runtimes import streaming
from runtimes.streaming import Stage, StreamExecutor, TimingWindow


class Frames:
    """A source of integers; `live` sources produce at `rate_hz` (like a sensor), files as fast as asked."""

    def __init__(self, count: int, live: bool = False, rate_hz: float = 100.0) -> None:
        self.count, self.live, self.rate_hz = count, live, rate_hz

    def __iter__(self):
        for i in range(self.count):
            if self.live:
                time.sleep(1 / self.rate_hz)
            yield i


def double(x):
    return 2 * x


@pytest.mark.parametrize("overlap", [True, False])
def test_a_file_source_gives_every_frame_in_order_with_timings(overlap):
    executor = StreamExecutor([Stage("double", double), Stage("plus_one", lambda x: x + 1)], queue_size=1,
                              overlap=overlap)
    results = list(executor.run(Frames(200)))
    assert [r.item for r in results] == list(range(200))
    assert [r.value for r in results] == [2 * i + 1 for i in range(200)]
    assert set(results[0].timings) == {"decode", "double", "plus_one", "processing", "end_to_end"}
    assert results[0].timings["processing"] == results[0].timings["double"] + results[0].timings["plus_one"]
    summary = executor.summary()
    assert (summary.frames_in, summary.frames_out, summary.dropped, summary.failed) == (200, 200, 0, {})
    assert set(summary.stages_ms["end_to_end"]) == {"p50", "p95", "p99", "max"}
    assert "p99" in summary.table() and executor.threads_alive() == []


def test_a_slow_consumer_of_a_file_source_loses_nothing():
    executor = StreamExecutor([Stage("double", double)], queue_size=1)
    seen = []
    for result in executor.run(Frames(30)):
        time.sleep(0.005)  # back-pressure reaches the source
        seen.append(result.value)
    assert seen == [2 * i for i in range(30)] and executor.summary().dropped == 0


@pytest.mark.parametrize("overlap", [True, False])
def test_stages_overlap_across_frames_unless_asked_not_to(overlap):
    """Stage b holds frame 0 until stage a has started frame 1: overlapped, that happens; one after
    another, it cannot (b's wait then ends by its timeout, which only the second case reaches)."""
    a_started_frame_1 = threading.Event()
    seen: dict[str, bool] = {}

    def a(x):
        if x == 1:
            a_started_frame_1.set()
        return x

    def b(x):
        if x == 0:
            seen["a ran frame 1 while b held frame 0"] = a_started_frame_1.wait(timeout=30 if overlap else 0.2)
        return x

    results = list(StreamExecutor([Stage("a", a), Stage("b", b)], overlap=overlap).run(Frames(3)))
    assert [r.value for r in results] == [0, 1, 2]
    assert seen == {"a ran frame 1 while b held frame 0": overlap}


@pytest.mark.parametrize("live", [False, True])
def test_end_to_end_is_shown_only_where_it_is_a_latency(live):
    """From files frames wait in the queues by design (seconds behind the source): the table shows each
    frame's own time; a live source's end to end is a latency and is shown with it."""
    executor = StreamExecutor([Stage("double", double)], queue_size=1)
    list(executor.run(Frames(5, live=live, rate_hz=1000)))
    summary = executor.summary()
    table = summary.table()
    assert summary.live is live and summary.as_dict()["live"] is live
    assert "per frame **" in table and ("end_to_end *" in table) is live
    # a live source's "decode" is mostly the wait for its next sweep: named for what it is
    assert ("receive ***" in table) is live and ("\n  decode " in table) is not live
    assert set(summary.stages_ms) >= {"processing", "end_to_end"}  # the record keeps both


@pytest.mark.parametrize(("live", "cores", "overlapped"),
                         [(False, 2, False), (False, 3, True), (True, 2, False), (True, 3, True)])
def test_by_default_stages_overlap_only_with_a_core_for_every_thread(monkeypatch, live, cores, overlapped):
    monkeypatch.setattr(streaming, "usable_cores", lambda: cores)
    executor = StreamExecutor([Stage("a", double), Stage("b", double)])  # two stages + the source: 3 threads
    assert [r.value for r in executor.run(Frames(5, live=live, rate_hz=200))] == [4 * i for i in range(5)]
    assert executor.summary().overlapped is overlapped
    assert ("overlapped" if overlapped else "one after another") in executor.summary().table()


class HeldLiveSource:
    """A live source that gives frame 0, waits until the pipeline holds it, then gives the rest at once; the
    pipeline is released before frame `release_before` is given (default: after the last). Later frames
    wait in the stage until the consumer has taken frame 0's result. An overload made by events: the
    outcome does not depend on machine speed or thread timing."""

    live = True

    def __init__(self, count: int, release_before: int | None = None) -> None:
        self.count, self.release_before = count, release_before
        self.holding, self.released, self.first_consumed = threading.Event(), threading.Event(), threading.Event()

    def __iter__(self):
        yield 0
        assert self.holding.wait(timeout=30), "the pipeline never took frame 0"
        for i in range(1, self.count):
            if i == self.release_before:
                self.released.set()
            yield i
        self.released.set()

    def stage(self, x):
        if x == 0:
            self.holding.set()
            assert self.released.wait(timeout=30), "the source never released frame 0"
        else:
            assert self.first_consumed.wait(timeout=30), "frame 0's result was never taken"
        return x

    def consume(self, results) -> list[int]:
        items = []
        for result in results:
            items.append(result.item)
            self.first_consumed.set()
        return items


@pytest.mark.parametrize(("stages", "overlap"), [(1, True), (1, False), (2, False)])
def test_an_overloaded_live_source_drops_the_oldest_and_counts_it(stages, overlap):
    """While frame 0 is held, frames 1..9 arrive; one frame may wait, so 1..8 are dropped oldest first and
    the freshest, 9, is the next one processed."""
    source = HeldLiveSource(10)
    pipeline = [Stage("hold", source.stage)] + [Stage(f"then{i}", double) for i in range(stages - 1)]
    executor = StreamExecutor(pipeline, queue_size=1, overlap=overlap)
    assert source.consume(executor.run(source)) == [0, 9]
    summary = executor.summary()
    assert (summary.frames_in, summary.frames_out, summary.dropped) == (10, 2, 8)


def test_the_policy_is_an_option():
    """Without dropping, the source waits for room: frame 1 waits while 0 is held, and every frame comes out."""
    source = HeldLiveSource(10, release_before=2)
    executor = StreamExecutor([Stage("hold", source.stage)], queue_size=1, drop_when_behind=False)
    assert source.consume(executor.run(source)) == list(range(10))
    assert executor.summary().dropped == 0


def test_a_frame_that_raises_is_skipped_and_counted_once_per_cause(caplog):
    def picky(x):
        if x % 10 == 3:
            raise ValueError(f"frame {x} is bad")
        return x

    executor = StreamExecutor([Stage("picky", picky)])
    with caplog.at_level("WARNING"):
        results = list(executor.run(Frames(50)))
    assert [r.item for r in results] == [i for i in range(50) if i % 10 != 3]
    assert executor.summary().failed == {"picky: ValueError": 5}
    assert sum("picky: ValueError" in r.message for r in caplog.records) == 1


@pytest.mark.parametrize("how", ["break", "stop", "interrupt"])
def test_stopping_joins_every_thread(how):
    executor = StreamExecutor([Stage("double", double), Stage("same", lambda x: x)])
    results = executor.run(Frames(10_000))
    with pytest.raises(KeyboardInterrupt) if how == "interrupt" else contextlib.nullcontext():
        for result in results:
            if result.index == 5:
                if how == "stop":
                    executor.stop("asked")
                elif how == "interrupt":
                    raise KeyboardInterrupt
                else:
                    break
    results.close()
    assert executor.threads_alive() == []
    summary = executor.summary()
    assert 6 <= summary.frames_out < 10_000
    assert summary.stopped_because == ("asked" if how == "stop" else None)


def test_a_silent_source_is_reported_not_waited_on():
    release = threading.Event()

    def stalls():
        yield 1
        yield 2
        release.wait()  # a sensor that stops sending

    executor = StreamExecutor([Stage("double", double)], idle_timeout=0.3, join_timeout=0.2)
    assert [r.value for r in executor.run(stalls())] == [2, 4]
    assert "no frame for 0.3 s" in executor.summary().stopped_because
    assert executor.threads_alive() == ["stream-source"]  # blocked inside the source, left as a daemon
    release.set()


def test_a_broken_source_raises_after_the_good_frames():
    def broken():
        yield 1
        raise OSError("capture.pcap: truncated")

    executor = StreamExecutor([Stage("double", double)])
    seen = []
    with pytest.raises(OSError, match="truncated"):
        for result in executor.run(broken()):
            seen.append(result.value)
    assert seen == [2] and executor.threads_alive() == []


def test_bad_options_fail_at_once():
    with pytest.raises(ValueError, match="queue_size"):
        StreamExecutor([Stage("x", double)], queue_size=0)
    with pytest.raises(ValueError, match="idle_timeout"):
        StreamExecutor([Stage("x", double)], idle_timeout=0)
    with pytest.raises(ValueError, match="at least one stage"):
        StreamExecutor([])


def test_the_timing_window_keeps_the_latest_samples_in_fixed_memory():
    window = TimingWindow(size=3)
    for value in range(5):
        window.append(float(value))
    assert window.count == 5 and sorted(window.values()) == [2.0, 3.0, 4.0]
    assert window.values().base is not None  # a view of the one preallocated array, no copy


class SilentSensor:
    """A live source that gives one frame, then waits for a packet that never comes, until it is closed."""

    live = True

    def __init__(self) -> None:
        self.closed = threading.Event()

    def __iter__(self):
        yield 0
        self.closed.wait()  # as a socket read blocks until the socket is closed

    def close(self) -> None:
        self.closed.set()


def test_stopping_a_live_run_closes_its_source_instead_of_waiting_it_out():
    """Ending a live run used to wait the join timeout (10 s) for the source's blocked read and leave its thread."""
    source = SilentSensor()
    executor = StreamExecutor([Stage("double", double)], join_timeout=600.0)
    results = executor.run(source)
    assert next(results).value == 0
    results.close()  # the consumer leaves (a break, Ctrl-C): stop must not wait 600 s
    assert source.closed.is_set() and executor.threads_alive() == []
