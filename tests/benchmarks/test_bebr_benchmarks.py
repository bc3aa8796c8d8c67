"""The BEBR benchmarks' own logic: the faiss baselines search what they claim (a PQ of many bytes finds the
exact neighbours), a merged baseline replaces only its own rows, the plot and the goal verdicts read the
rows they should, and a verdict turns to "not met" when the numbers say so."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import bebr_tables  # noqa: E402
from bebr_search_speed import plot_recall_speed, speed_key  # noqa: E402


@pytest.mark.parametrize("sub_bits, code_bytes", [(8, 64), (4, 64), (4, 128)])
def test_product_quantizers_find_the_paired_document(sub_bits, code_bytes):
    pytest.importorskip("faiss")
    import bebr_fidelity

    rng = np.random.default_rng(0)
    docs = rng.standard_normal((600, 384)).astype(np.float32)
    queries = docs[:200] + 0.3 * rng.standard_normal((200, 384)).astype(np.float32)
    top = bebr_fidelity.product_quantizer(sub_bits)(np.concatenate([docs, queries]), queries, docs, code_bytes)
    assert top.shape == (200, bebr_fidelity.K)
    assert bebr_fidelity.metrics(top, bebr_fidelity.float_top(queries, docs))["recall@1"] > 0.95


def test_orthonormal_lift_keeps_inner_products():
    import bebr_fidelity

    x = np.random.default_rng(1).standard_normal((20, 384)).astype(np.float32)
    lifted = x @ bebr_fidelity.orthonormal_lift(384, 512)
    np.testing.assert_allclose(lifted @ lifted.T, x @ x.T, rtol=1e-3, atol=1e-2)


def test_a_merged_baseline_replaces_only_its_own_rows():
    import bebr_fidelity

    previous = {"pairs": 3, "rows": [{"method": "ITQ", "bytes": 64, "recall@1": 0.1},
                                     {"method": "ITQ", "bytes": 128, "recall@1": 0.2},
                                     {"method": "BEBR u=1", "bytes": 64, "recall@1": 0.5}]}
    merged = bebr_fidelity.merge_rows(previous, [{"method": "ITQ", "bytes": 64, "recall@1": 0.3},
                                                 {"method": "faiss IndexPQFastScan (4-bit codes)", "bytes": 64}])
    assert merged["pairs"] == 3
    assert [(r["method"], r["bytes"], r.get("recall@1")) for r in merged["rows"]] == [
        ("ITQ", 128, 0.2), ("BEBR u=1", 64, 0.5), ("ITQ", 64, 0.3), ("faiss IndexPQFastScan (4-bit codes)", 64, None)]


def fidelity_rows(bebr_recall: float) -> dict:
    rows = [{"method": "faiss IndexPQ (8-bit codes)", "bytes": 64, "recall@1": 0.5, "recall@10": 0.77},
            {"method": "faiss IndexPQFastScan (4-bit codes)", "bytes": 64, "recall@1": 0.45, "recall@10": 0.72},
            {"method": "BEBR u=1", "bytes": 64, "budget": 64, "planes": 2, "recall@1": 0.55, "recall@10": bebr_recall}]
    return {"rows": rows}


def speed_rows(bebr_qps: float) -> dict:
    return {"documents": 1000, "k": 10, "rows": [
        {"key": "binary:64:2", "qps": {"1": bebr_qps, "16": 500.0}},
        {"key": "pq:64", "qps": {"1": 60.0, "16": 120.0}},
        {"key": "pq-fastscan:64", "qps": {"1": 240.0, "16": 900.0}}]}


def test_speed_rows_are_matched_to_fidelity_rows_by_method_and_size():
    rows = fidelity_rows(0.83)["rows"]
    assert [speed_key(r) for r in rows] == ["pq:64", "pq-fastscan:64", "binary:64:2"]
    assert speed_key({"method": "float32 exact", "bytes": 1536}) == "float:1536"


@pytest.mark.parametrize("bebr_recall, bebr_qps, against_pq, against_fastscan", [
    (0.83, 100.0, True, False),   # faster than IndexPQ, slower than FastScan at batch 16
    (0.76, 100.0, False, False),  # recall below both
    (0.83, 50.0, False, False),   # slower than IndexPQ at batch 1
])
def test_dominance_verdicts_follow_the_numbers(bebr_recall, bebr_qps, against_pq, against_fastscan):
    lines = bebr_tables.dominance_goals(fidelity_rows(bebr_recall), speed_rows(bebr_qps))
    assert len(lines) == 2
    pq, fastscan = lines
    assert "IndexPQ (8-bit" in pq and "IndexPQFastScan" in fastscan
    assert ("**met by BEBR u=1**" in pq) == against_pq
    assert ("**met by BEBR u=1**" in fastscan) == against_fastscan
    assert ("**not met**" in pq) != against_pq


def test_the_plot_has_a_point_for_every_timed_method(tmp_path, monkeypatch):
    import matplotlib.axes

    plotted = []
    original = matplotlib.axes.Axes.plot
    monkeypatch.setattr(matplotlib.axes.Axes, "plot",
                        lambda self, x, y, **kw: plotted.append((kw["label"], list(x), list(y))) or original(self, x, y, **kw))
    path = tmp_path / "plot.png"
    plot_recall_speed(speed_rows(100.0), fidelity_rows(0.83), path)
    assert path.stat().st_size > 0
    assert sorted(plotted) == [("BEBR u=1", [500.0], [0.83]), ("faiss IndexPQ (8-bit codes)", [120.0], [0.77]),
                               ("faiss IndexPQFastScan (4-bit codes)", [900.0], [0.72])]


@pytest.mark.slow
def test_the_speed_benchmark_times_every_method_at_every_batch():
    pytest.importorskip("faiss")
    from runtimes.ops.bebr_spec import CodeLayout
    from bebr_search_speed import BATCHES, budget_group, run_speed_benchmark

    result = run_speed_benchmark(documents=4096, layouts=[CodeLayout(256, 1), CodeLayout(64, 3)])
    keys = [row["key"] for row in result["rows"]]
    assert keys == ["binary:32:1", "binary-onnxruntime:32:1", "binary:24:3", "binary-onnxruntime:24:3", "faiss-binary:32",
                    "pq:32", "pq-fastscan:32", "float:1536", "float:2048"]
    for row in result["rows"]:
        assert set(row["qps"]) == {str(b) for b in BATCHES} and all(q > 0 for q in row["qps"].values())
        assert row["bytes_per_vector"] >= row["code_bytes"]
    assert budget_group(24) == budget_group(32) == "32 bytes" and budget_group(60) == "64 bytes"
    assert result["read_rate_gb_per_s"] > 0


def test_the_numpy_itq_rotation_quantizes_as_well_as_faiss():
    """Above FAISS_ITQ_MAX_BITS the rotation is ours: on correlated vectors it must cut the sign quantization
    loss ||sign(VR) - VR|| as faiss's ITQMatrix does, well below a random rotation's."""
    faiss = pytest.importorskip("faiss")
    import bebr_fidelity

    rng = np.random.default_rng(2)
    vectors = (rng.standard_normal((3000, 64)) * np.linspace(3.0, 0.2, 64)).astype(np.float32)
    vectors = vectors @ np.linalg.qr(rng.standard_normal((64, 64)))[0].astype(np.float32)

    def loss(rotated: np.ndarray) -> float:
        return float(np.square(np.where(rotated >= 0, 1.0, -1.0) - rotated).sum())

    reference = faiss.ITQMatrix(64)
    reference.max_iter, reference.seed = bebr_fidelity.ITQ_ITERATIONS, bebr_fidelity.SEED
    reference.train(vectors)
    ours = bebr_fidelity.itq_rotation(vectors)
    np.testing.assert_allclose(ours.T @ ours, np.eye(64), atol=1e-4)
    random_start = bebr_fidelity.itq_rotation(vectors, iterations=0)
    assert loss(vectors @ ours) < 0.99 * loss(vectors @ random_start)
    assert loss(vectors @ ours) <= 1.01 * loss(reference.apply(vectors))


@pytest.mark.parametrize("bits, faiss_limit", [(32, 1024), (128, 1024), (128, 64)])
def test_itq_codes_keep_the_nearest_neighbours_by_either_rotation(bits, faiss_limit, monkeypatch):
    """ITQ as the benchmarks run it: PCA (bits <= d) or a Gaussian lift (bits > d), then faiss's rotation up to
    FAISS_ITQ_MAX_BITS and the numpy one above."""
    pytest.importorskip("faiss")
    import bebr_fidelity

    monkeypatch.setattr(bebr_fidelity, "FAISS_ITQ_MAX_BITS", faiss_limit)
    rng = np.random.default_rng(3)
    docs = rng.standard_normal((500, 64)).astype(np.float32)
    queries = docs + 0.2 * rng.standard_normal(docs.shape).astype(np.float32)
    top = bebr_fidelity.BASELINES["ITQ"](docs, queries, docs, bits // 8)
    assert bebr_fidelity.metrics(top, bebr_fidelity.float_top(queries, docs))["recall@1"] > 0.9
