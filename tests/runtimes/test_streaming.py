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
    assert set(results[0].timings) == {"decode", "double", "plus_one", "end_to_end"}
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
    spans: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}

    def timed(name):
        def run(x):
            start = time.monotonic()
            time.sleep(0.01)
            spans[name].append((start, time.monotonic()))
            return x
        return run

    list(StreamExecutor([Stage("a", timed("a")), Stage("b", timed("b"))], overlap=overlap).run(Frames(10)))
    # with overlap, stage a worked on frame t+1 while stage b worked on frame t; without, never
    overlaps = sum(a0 < b1 and b0 < a1 for (a0, a1), (b0, b1) in zip(spans["a"][1:], spans["b"][:-1]))
    assert overlaps >= 5 if overlap else overlaps == 0


@pytest.mark.parametrize(("live", "cores", "overlapped"),
                         [(False, 2, False), (False, 3, True), (True, 2, False), (True, 3, True)])
def test_by_default_stages_overlap_only_with_a_core_for_every_thread(monkeypatch, live, cores, overlapped):
    monkeypatch.setattr(streaming, "usable_cores", lambda: cores)
    executor = StreamExecutor([Stage("a", double), Stage("b", double)])  # two stages + the source: 3 threads
    assert [r.value for r in executor.run(Frames(5, live=live, rate_hz=200))] == [4 * i for i in range(5)]
    assert executor.summary().overlapped is overlapped
    assert ("overlapped" if overlapped else "one after another") in executor.summary().table()


def test_a_live_stream_one_stage_after_another_stays_within_two_frame_periods_under_2x_overload():
    """Two stages of 15 ms that cannot run at once (one shared core, modelled by a lock), a source at twice
    the 33 fps they sustain: the freshest frame waits at most one sensor period (15 ms), then takes one
    pipeline period (30 ms), so from the moment the source gives it, a frame is done within 1.5 periods
    (the test source's own sleep, its "decode", comes before that moment)."""
    core = threading.Lock()

    def busy(x):
        with core:
            time.sleep(0.015)
        return x

    executor = StreamExecutor([Stage("a", busy), Stage("b", busy)], overlap=False)
    results = list(executor.run(Frames(120, live=True, rate_hz=66)))
    summary = executor.summary()
    assert summary.dropped > 20 and summary.frames_out + summary.dropped == 120
    after_the_source = np.array([r.timings["end_to_end"] - r.timings["decode"] for r in results])
    assert np.percentile(after_the_source, 95) < 2 * 30.0, np.percentile(after_the_source, [50, 95, 99])
    assert [r.item for r in results] == sorted(r.item for r in results)


def test_an_overloaded_live_source_drops_the_oldest_and_counts_it():
    def slow(x):
        time.sleep(0.02)  # 50 fps of work for a 100 Hz source: 2x overload
        return x

    executor = StreamExecutor([Stage("infer", slow)], queue_size=1)
    results = list(executor.run(Frames(100, live=True)))
    summary = executor.summary()
    assert summary.dropped > 20
    assert summary.frames_out + summary.dropped == summary.frames_in == 100
    items = [r.item for r in results]
    assert items == sorted(items) and items[-1] >= 95  # the newest frames win


def test_the_policy_is_an_option():
    def slow(x):
        time.sleep(0.01)
        return x

    executor = StreamExecutor([Stage("infer", slow)], queue_size=1, drop_when_behind=False)
    assert len(list(executor.run(Frames(30, live=True, rate_hz=500)))) == 30


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
