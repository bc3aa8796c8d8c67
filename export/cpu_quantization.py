"""INT8 for ONNX Runtime's CPU provider: static quantization (explicit Q/DQ, weights per channel, activations
by min/max over calibration feeds) of the operators that keep the labels, chosen by measurement. Each
candidate (Conv, Gemm, MatMul) is quantized alone and scored by label agreement with the fp32 graph on
selection feeds (not the calibration feeds, and never the parity frames, so the parity report stays an
independent check); then the candidates are added in order of least harm, each kept only while the
agreement stays at or above `min_agreement`. Written on ONNX Runtime's quantization tool, which does the
graph rewriting; what no tool does is the choice, which depends on the network."""
from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtimes.onnxruntime_install import load_onnxruntime
from runtimes.onnxruntime_runner import session_options
from runtimes.platform_report import cpu_model

log = logging.getLogger("export")
CANDIDATE_OPS = ("Conv", "Gemm", "MatMul")
#: the frames an int8 export calibrates with when not told: half calibrate, half choose the operators
CALIBRATION_FRAMES = 8
#: timed runs of each graph on one selection feed, after one warm-up run
TIMED_RUNS = 5


@dataclass
class Int8Choice:
    """What was quantized, what stayed fp32 and why, and what the choice measured."""

    quantized: list[str]
    kept_fp32: list[str]
    #: each candidate's label agreement with fp32 when quantized alone, on the selection feeds
    alone: dict[str, float]
    agreement: float
    calibration_feeds: int
    selection_feeds: int
    method: str = "static QDQ, int8 weights per channel, uint8 activations by min/max"
    fp32_ms: float | None = None
    int8_ms: float | None = None
    #: where those milliseconds were measured: the exporting machine's CPU and the threads it gave
    measured_on: str | None = None


def quantize_int8(model: Path, out: Path, calibration: Sequence[dict[str, np.ndarray]],
                  selection: Sequence[dict[str, np.ndarray]], min_agreement: float) -> Int8Choice:
    """Write the int8 graph of `model` to `out`; returns the choice. Raises ValueError when no operator can
    be quantized without the agreement falling below `min_agreement`."""
    ort = load_onnxruntime()
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as work:
        prepared = Path(work) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        reference = _session(ort, prepared)
        expected = [reference.run(None, feed)[0].argmax(axis=1) for feed in selection]
        candidates = _candidates(prepared)

        def agreement(nodes: list[str]) -> float:
            _quantize(prepared, out, calibration, nodes)
            session = _session(ort, out)
            return min(float((session.run(None, feed)[0].argmax(axis=1) == labels).mean())
                       for feed, labels in zip(selection, expected))

        alone = {node: agreement([node]) for node in candidates}
        chosen: list[str] = []
        reached = 1.0
        for node in sorted(candidates, key=lambda n: -alone[n]):
            if alone[node] < min_agreement:
                break
            trial = agreement([*chosen, node])
            if trial >= min_agreement:
                chosen, reached = [*chosen, node], trial
        if not chosen:
            raise ValueError(f"int8: no operator can be quantized alone with label agreement >= {min_agreement} "
                             f"(best {max(alone.values()):.4f}); the network stays fp32")
        _quantize(prepared, out, calibration, chosen)
        choice = Int8Choice(chosen, [n for n in candidates if n not in chosen], alone, reached, len(calibration),
                            len(selection))
        choice.fp32_ms, choice.int8_ms = _median_ms(reference, selection[0]), _median_ms(_session(ort, out), selection[0])
        choice.measured_on = f"{cpu_model()}, {len(os.sched_getaffinity(0))} threads"
    log.info("int8: %d of %d operators quantized (agreement %.4f on the selection feeds), %.1f ms against fp32's "
             "%.1f ms here", len(chosen), len(candidates), reached, choice.int8_ms, choice.fp32_ms)
    return choice


def _candidates(model: Path) -> list[str]:
    import onnx

    return [node.name for node in onnx.load(str(model), load_external_data=False).graph.node
            if node.op_type in CANDIDATE_OPS]


def _quantize(model: Path, out: Path, calibration: Sequence[dict[str, np.ndarray]], nodes: list[str]) -> None:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.feeds = iter(calibration)

        def get_next(self):
            return next(self.feeds, None)

    quantize_static(str(model), str(out), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_quantize=nodes,
                    calibrate_method=CalibrationMethod.MinMax)


def _session(ort, path: Path):
    options = session_options()
    options.log_severity_level = 3  # the quantized graph's notes on unfused Q/DQ pairs are for the tool's authors
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _median_ms(session, feed: dict[str, np.ndarray]) -> float:
    session.run(None, feed)
    times = []
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(1000 * (time.perf_counter() - start))
    return round(float(np.median(times)), 1)
