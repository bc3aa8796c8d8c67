"""The streaming executor: a source and a chain of stages run concurrently on threads joined by bounded
queues, so that decoding frame t+1 overlaps inference of frame t.

Why threads: the heavy stages (decoding in velodyne-decoder, numba kernels, ONNX Runtime, PyTorch) release
the GIL, and frames stay in one address space (no copies between processes).

Policies when a stage falls behind: a live source drops the oldest waiting frame (counted), so latency
stays bounded; a file source blocks (back-pressure) and never loses a frame. A frame that raises inside a
stage is counted by cause, logged once per cause and skipped. A source that delivers nothing for
`idle_timeout` seconds ends the run with that reason instead of waiting for ever."""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sensors.latest import put_latest

log = logging.getLogger("runtimes.streaming")

#: how often blocked threads look at the stop flag, seconds
POLL_S = 0.05
#: per-frame timings kept for the percentiles (a bounded window keeps memory flat on endless streams)
TIMING_WINDOW = 100_000
#: a live frame's timestamp is taken as wall-clock time when it lies this close to the host clock
CLOCK_TOLERANCE_S = 60.0
#: default queue sizes: live streams keep only the freshest frame waiting, files keep every stage busy
LIVE_QUEUE, FILE_QUEUE = 1, 2
DECODE = "decode"
END_TO_END = "end_to_end"
#: a frame's own time in the stages, without waiting in queues: the latency a user of a file stream reads first
PROCESSING = "processing"


@dataclass
class Stage:
    """One step of the chain: takes the previous stage's value, returns the next one."""

    name: str
    run: Callable[[Any], Any]


@dataclass
class Completed:
    """A frame that went through every stage: its source item, the last stage's value, timings in ms."""

    index: int
    item: Any
    value: Any
    timings: dict[str, float]


@dataclass
class _Envelope:
    index: int
    item: Any
    value: Any
    yielded_at: float  # time.monotonic() when the source gave the frame
    timings: dict[str, float] = field(default_factory=dict)


_END = object()


def percentiles(values: np.ndarray) -> dict[str, float]:
    data = np.asarray(values, dtype=np.float64)
    if not len(data):
        return {}
    p50, p95, p99 = np.percentile(data, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2),
            "max": round(float(data.max()), 2)}


class TimingWindow:
    """The last TIMING_WINDOW per-frame timings in one preallocated array: memory stays flat however long
    the stream (a deque of Python floats grows by 32 bytes a sample up to its bound)."""

    def __init__(self, size: int = TIMING_WINDOW) -> None:
        self._values = np.full(size, np.nan)  # written now: the pages are resident from the start
        self.count = 0

    def append(self, value: float) -> None:
        self._values[self.count % len(self._values)] = value
        self.count += 1

    def values(self) -> np.ndarray:
        return self._values[: min(self.count, len(self._values))]


@dataclass
class StreamSummary:
    """Counts and latency percentiles of a run; available during the run (a snapshot) and after it."""

    frames_in: int
    frames_out: int
    dropped: int
    failed: dict[str, int]
    wall_s: float
    latency_from: str
    stages_ms: dict[str, dict[str, float]]
    stopped_because: str | None = None
    source: dict | None = None
    overlapped: bool = True  # whether the stages ran on threads of their own
    #: a live source: end-to-end is a latency; from files frames wait in the queues by design, and the
    #: per-frame time (its own time in the stages) is the figure to read
    live: bool = False

    @property
    def fps(self) -> float:
        return self.frames_out / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict:
        return {"frames_in": self.frames_in, "frames_out": self.frames_out, "dropped": self.dropped,
                "failed": self.failed, "wall_s": round(self.wall_s, 3), "fps": round(self.fps, 2),
                "latency_from": self.latency_from, "stages_ms": self.stages_ms,
                "stopped_because": self.stopped_because, "source": self.source, "overlapped": self.overlapped,
                "live": self.live}

    def table(self) -> str:
        lines = [f"frames in {self.frames_in}, out {self.frames_out}, dropped {self.dropped}, "
                 f"failed {sum(self.failed.values())}; {self.fps:.1f} fps over {self.wall_s:.1f} s; stages "
                 + ("overlapped" if self.overlapped else "one after another")]
        lines += [f"  failed: {cause} x{count}" for cause, count in self.failed.items()]
        if self.stopped_because:
            lines.append(f"  stopped: {self.stopped_because}")
        lines.append(f"  {'stage':<14}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for stage, stats in self.stages_ms.items():
            if stage == END_TO_END and not self.live:
                continue
            name = {END_TO_END: f"{stage} *", PROCESSING: "per frame **",
                    DECODE: "receive ***" if self.live else DECODE}.get(stage, stage)
            lines.append(f"  {name:<14}" + "".join(f"{stats.get(k, float('nan')):>9.1f}" for k in ("p50", "p95", "p99", "max")))
        if self.live:
            lines.append(f"  * end to end, measured from the {self.latency_from} (with any wait in the queues)")
            lines.append("  *** receive: the wait for the sensor's next sweep with its decoding (a live source's "
                         "'decode' in the record)")
        lines.append("  ** per frame: its own time in the stages, frame -> result"
                     + ("" if self.live else " (from files frames queue by design: no end-to-end latency to quote)"))
        return "\n".join(lines)


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, which a container or taskset narrows)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def overlap_by_default(stages: int) -> bool:
    """Overlap the stages only where every thread (the source and each stage) has a core of its own, for files
    and live sources alike: on fewer cores the overlapped stages slow each other down and a frame waits at
    every queue. On 2 cores one after another kept latency under 2x overload at 1.5-1.9 frame periods against
    3-4.5 overlapped, and file throughput was no better overlapped (11.4 against 13.95 frames/s on the real
    scan in one run, within noise in others; benchmarks/pipeline_latency.py)."""
    return usable_cores() >= stages + 1


class StreamExecutor:
    """Runs `stages` over a source's frames. One executor runs one stream at a time."""

    def __init__(self, stages: Sequence[Stage], queue_size: int | None = None, drop_when_behind: bool | None = None,
                 idle_timeout: float | None = 10.0, timestamp_of: Callable[[Any], float | None] | None = None,
                 join_timeout: float = 10.0, overlap: bool | None = None) -> None:
        """queue_size: frames waiting before each stage (None: 1 for live sources, the freshest frame; 2 for
        files, to keep every stage busy); drop_when_behind: None follows the source (live sources drop, files
        never); idle_timeout: seconds without a frame from the source before the run ends (None: wait for
        ever); timestamp_of: a frame's sensor timestamp (seconds since the epoch) for end-to-end latency on
        live sources; join_timeout: how long stopping waits for a source blocked inside its own read (a live
        socket has its own timeout); overlap: True runs each stage on its own thread, False runs them one after
        another on one thread (still beside the source), None decides per stream (`overlap_by_default`)."""
        if not stages:
            raise ValueError("a stream needs at least one stage")
        if queue_size is not None and queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        if idle_timeout is not None and idle_timeout <= 0:
            raise ValueError(f"idle_timeout must be > 0 seconds (or None), got {idle_timeout}")
        self.stages = list(stages)
        self.queue_size, self.drop_when_behind, self.idle_timeout = queue_size, drop_when_behind, idle_timeout
        self.timestamp_of, self.join_timeout, self.overlap = timestamp_of, join_timeout, overlap
        self._threads: list[threading.Thread] = []
        self._reset(live=False, source=None)

    def _reset(self, live: bool, source: Any) -> None:
        self._live, self._source = live, source
        self._drop = live if self.drop_when_behind is None else self.drop_when_behind
        overlap = overlap_by_default(len(self.stages)) if self.overlap is None else self.overlap
        self.workers = [[stage] for stage in self.stages] if overlap else [self.stages]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        size = self.queue_size or (LIVE_QUEUE if live else FILE_QUEUE)
        self._queues = [queue.Queue(size) for _ in range(len(self.workers) + 1)]
        self._frames_in = self._frames_out = self._dropped = 0
        self._failed: Counter[str] = Counter()
        self._timings = {name: TimingWindow() for name in (PROCESSING, DECODE, *(s.name for s in self.stages), END_TO_END)}
        self._last_frame_at = self._started = time.monotonic()
        self._source_error: BaseException | None = None
        self._stopped_because: str | None = None
        self._finished_at: float | None = None

    # -- public -------------------------------------------------------------------------------------------
    def run(self, source: Iterable, live: bool | None = None, limit: int | None = None) -> Iterator[Completed]:
        """Completed frames in order of arrival. `live` defaults to the source's own `live` flag; `limit`
        stops reading after that many frames. Closing the generator (or Ctrl-C in the loop that consumes
        it) stops every thread before it returns."""
        if any(t.is_alive() for t in self._threads):
            raise RuntimeError("this executor is already running a stream")
        self._reset(bool(getattr(source, "live", False)) if live is None else live, source)
        self._threads = [threading.Thread(target=self._read, args=(iter(source), limit), name="stream-source", daemon=True)]
        self._threads += [threading.Thread(target=self._work, args=(i,), daemon=True,
                                           name=f"stream-{'+'.join(s.name for s in stages)}")
                          for i, stages in enumerate(self.workers)]
        for thread in self._threads:
            thread.start()
        try:
            yield from self._collect()
        finally:
            self.stop()
        if self._source_error is not None:
            raise self._source_error

    def stop(self, reason: str | None = None) -> None:
        """Ask every thread to finish, then join them. Safe to call from a callback or another thread."""
        if reason and self._stopped_because is None:
            self._stopped_because = reason
        self._stop.set()
        if threading.current_thread() in self._threads:
            return
        if self._live and hasattr(self._source, "close"):
            self._source.close()  # a live source waiting for its next packet would hold the stop up to its timeout
        deadline = time.monotonic() + self.join_timeout
        for thread in self._threads:
            while thread.is_alive() and time.monotonic() < deadline:
                self._drain()  # a thread blocked on a full queue gets room to see the stop flag
                thread.join(POLL_S)
            if thread.is_alive():  # only the source thread can block outside our queues
                log.warning("%s is still blocked after %g s; left behind (daemon thread)", thread.name, self.join_timeout)
        if self._finished_at is None:
            self._finished_at = time.monotonic()

    def threads_alive(self) -> list[str]:
        return [t.name for t in self._threads if t.is_alive()]

    def summary(self) -> StreamSummary:
        with self._lock:
            timings = {name: percentiles(window.values()) for name, window in self._timings.items() if window.count}
            stats = getattr(self._source, "stats", None)
            return StreamSummary(
                frames_in=self._frames_in, frames_out=self._frames_out, dropped=self._dropped,
                failed=dict(self._failed), wall_s=(self._finished_at or time.monotonic()) - self._started,
                latency_from="sensor timestamp" if self._live and self.timestamp_of else "moment the source gave the frame",
                stages_ms=timings, stopped_because=self._stopped_because,
                source=stats.as_dict() if hasattr(stats, "as_dict") else None, overlapped=len(self.workers) > 1,
                live=self._live)

    # -- threads ------------------------------------------------------------------------------------------
    def _read(self, frames: Iterator, limit: int | None) -> None:
        index = 0
        try:
            while not self._stop.is_set() and (limit is None or index < limit):
                start = time.monotonic()
                try:
                    item = next(frames)
                except StopIteration:
                    break
                now = time.monotonic()
                with self._lock:
                    self._frames_in += 1
                    self._last_frame_at = now
                envelope = _Envelope(index, item, item, yielded_at=now, timings={DECODE: 1000 * (now - start)})
                index += 1
                self._put(0, envelope)
        except Exception as err:  # a source that cannot go on (a bad file): reported to the caller
            self._source_error = err
        finally:
            self._put(0, _END, final=True)

    def _work(self, position: int) -> None:
        while True:
            envelope = self._get(position)
            if envelope is None:
                return
            if envelope is _END:
                self._put(position + 1, _END, final=True)
                return
            if self._run_stages(self.workers[position], envelope):
                self._put(position + 1, envelope)

    def _run_stages(self, stages: list[Stage], envelope: _Envelope) -> bool:
        for stage in stages:
            start = time.monotonic()
            try:
                envelope.value = stage.run(envelope.value)
            except Exception as err:
                self._fail(f"{stage.name}: {type(err).__name__}", err, envelope.index)
                return False
            envelope.timings[stage.name] = 1000 * (time.monotonic() - start)
        return True

    def _collect(self) -> Iterator[Completed]:
        last = len(self.workers)
        while True:
            try:
                envelope = self._queues[last].get(timeout=POLL_S)
            except queue.Empty:
                if self._stop.is_set():
                    return
                self._check_idle()
                continue
            if envelope is _END:
                return
            envelope.timings[PROCESSING] = sum(envelope.timings.get(stage.name, 0.0) for stage in self.stages)
            envelope.timings[END_TO_END] = self._latency_ms(envelope)
            with self._lock:
                self._frames_out += 1
                for name, ms in envelope.timings.items():
                    self._timings[name].append(ms)
            yield Completed(envelope.index, envelope.item, envelope.value, envelope.timings)

    # -- helpers ------------------------------------------------------------------------------------------
    def _latency_ms(self, envelope: _Envelope) -> float:
        if self._live and self.timestamp_of is not None:
            stamp = self.timestamp_of(envelope.item)
            if stamp is not None and abs(time.time() - stamp) < CLOCK_TOLERANCE_S:
                return 1000 * (time.time() - stamp)
        return 1000 * (time.monotonic() - envelope.yielded_at) + envelope.timings[DECODE]

    def _check_idle(self) -> None:
        if self.idle_timeout is None:
            return
        with self._lock:
            silent = time.monotonic() - self._last_frame_at
            waiting = self._frames_in - self._frames_out - self._dropped - sum(self._failed.values())
        if silent > self.idle_timeout and waiting == 0:
            message = f"the source delivered no frame for {self.idle_timeout:g} s"
            log.warning("%s: stopping", message)
            self._stop.set()
            self._stopped_because = message

    def _fail(self, cause: str, err: Exception, index: int) -> None:
        with self._lock:
            first = cause not in self._failed
            self._failed[cause] += 1
        if first:
            log.warning("frame %d skipped: %s: %s (logged once per cause)", index, cause, err)

    def _get(self, position: int):
        while True:
            try:
                return self._queues[position].get(timeout=POLL_S)
            except queue.Empty:
                if self._stop.is_set():
                    return None

    def _put(self, position: int, envelope, final: bool = False) -> None:
        """Into queue `position`; a live stream makes room by dropping the oldest frame waiting there. The
        end marker (`final`) waits for room instead, so the last frames are not dropped for it, and always
        goes in, so the stage after it finishes."""
        target = self._queues[position]
        if self._drop and not final:
            dropped = put_latest(target, envelope)
            if dropped:
                with self._lock:
                    self._dropped += dropped
            return
        while True:
            try:
                target.put(envelope, timeout=POLL_S)
                return
            except queue.Full:
                if self._stop.is_set():
                    if not final:
                        return
                    self._drain_one(target)

    def _drain_one(self, target: queue.Queue) -> None:
        try:
            target.get_nowait()
        except queue.Empty:
            return

    def _drain(self) -> None:
        for target in self._queues:
            self._drain_one(target)
