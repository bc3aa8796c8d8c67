"""Search speed over a large index, side by side in one run: rapid::BinarySearch at each BEBR layout, by the
numba kernel and as the BinarySearch node in ONNX Runtime (the native op library), against faiss's IndexBinaryFlat on codes of the same bytes, IndexPQ and IndexPQFastScan of the same bytes,
and exact float search (IndexFlatIP); queries per second for batches of 1, 16 and 256 at k = 10, memory per
vector, and the kernel's scan rate beside the machine's measured read rate. Exhaustive search costs the
same whatever the codes hold, so the index is random codes (and random vectors for faiss's PQ, trained on
a sample). faiss (`faiss-cpu`) is a benchmark dependency, imported here only."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtimes.binary_search_session import BinarySearchSession
from runtimes.ops.bebr_numba import binary_search_numba
from runtimes.ops.bebr_spec import CodeLayout, NormRange, code_norms

BATCHES = (1, 16, 256)
K = 10
DIM = 384
#: timed calls per method and batch size (in turns with every other method)
ROUNDS = 5
NORM_BYTES, ID_BYTES = 4, 8


#: code sizes measured: 32 and 128 bytes (256 and 1024 bits) are the headline; 64, 128 and 256 bytes are the
#: fidelity table's
CODE_BYTES = (32, 64, 128, 256)
PLANES = (1, 2, 3, 4)


@dataclass(frozen=True)
class Method:
    name: str
    key: str  # what the fidelity table's rows are matched by (kind:bytes[:planes])
    group: str  # the methods timed in turns with each other: those of one byte budget, or the float searches
    code_bytes: int
    bytes_per_vector: int  # in memory, with what the index keeps beside each code
    search: Callable[[int], Callable[[], object]]  # batch size -> a call that searches one batch


def budget_group(code_bytes: int) -> str:
    """The byte budget a code is compared at: u = 2 codes fall a few bytes short of it (bits come in words of 32)."""
    return f"{-(-code_bytes // 32) * 32} bytes"


def round_robin_qps(calls: dict[str, Callable[[], object]], batch: int, rounds: int = ROUNDS) -> dict[str, float]:
    """Median queries per second of each call, timed in turns (every method of a group once per round), so
    that a change in the machine's load during the run falls on the methods compared alike; one untimed call
    each first (numba's compilation and threads, faiss's first allocations)."""
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - began)
    return {name: batch / float(np.median(spent)) for name, spent in times.items()}


def read_rate(array: np.ndarray) -> float:
    """Bytes per second of a parallel streaming read of `array` (the memory bound a scan can approach): the
    best of five passes, as a bandwidth is the most the machine gives."""
    from numba import njit, prange

    @njit(parallel=True, cache=False)
    def xor_all(words):
        chunks = 64
        partial = np.zeros(chunks, dtype=np.uint64)
        for c in prange(chunks):
            start, stop = c * len(words) // chunks, (c + 1) * len(words) // chunks
            acc = np.uint64(0)
            for i in range(start, stop):
                acc ^= words[i]
            partial[c] = acc
        return partial

    words = array.reshape(-1).view(np.uint64)
    xor_all(words[:1024])
    fastest = np.inf
    for _ in range(5):
        begun = time.perf_counter()
        xor_all(words)
        fastest = min(fastest, time.perf_counter() - begun)
    return array.nbytes / fastest


def bebr_methods(documents: int, rng: np.random.Generator, layouts: list[CodeLayout]) -> tuple[list[Method], dict]:
    methods, arrays = [], {}
    for layout in layouts:
        codes = rng.integers(-(2**31), 2**31, (documents, layout.words), dtype=np.int64).astype(np.int32)
        norms = np.resize(code_norms(codes[:4096], layout), documents)
        queries = codes[rng.integers(0, documents, max(BATCHES))].copy()
        query_norms = code_norms(queries, layout)
        arrays[layout] = codes

        norm_range = NormRange.of(norms)  # as a BinaryIndex keeps it

        def search(batch, layout=layout, codes=codes, norms=norms, queries=queries, query_norms=query_norms):
            return lambda: binary_search_numba(queries[:batch], query_norms[:batch], codes, norms, layout, K,
                                               doc_norm_range=norm_range)

        session = BinarySearchSession(codes, norms, layout, K, check_doc_norms=False)

        def node(batch, session=session, queries=queries, query_norms=query_norms):
            return lambda: session.search(queries[:batch], query_norms[:batch])

        name, group = f"BEBR u={layout.u} ({layout.planes} x {layout.bits} bits)", budget_group(layout.code_bytes)
        for runtime, key, call in (("numba", "binary", search), ("ONNX Runtime node", "binary-onnxruntime", node)):
            methods.append(Method(f"{name}, {runtime}", f"{key}:{layout.code_bytes}:{layout.planes}", group,
                                  layout.code_bytes, layout.code_bytes + NORM_BYTES + ID_BYTES, call))
    return methods, arrays


def faiss_methods(documents: int, rng: np.random.Generator, code_bytes: list[int], binary_codes: dict) -> list[Method]:
    # faiss's OpenMP threads otherwise spin for a while after each search, taking the cores from whichever
    # method is timed next; read when faiss's OpenMP runtime loads, so before the first import
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import faiss

    faiss.omp_set_num_threads(max(1, faiss.omp_get_max_threads()))
    methods = []
    for size in sorted(set(code_bytes)):
        codes = next((c for layout, c in binary_codes.items() if layout.code_bytes == size), None)
        if codes is None:
            codes = rng.integers(-(2**31), 2**31, (documents, size // 4), dtype=np.int64).astype(np.int32)
        binary = faiss.IndexBinaryFlat(size * 8)
        binary.add(codes.view(np.uint8))
        queries = codes[rng.integers(0, documents, max(BATCHES))].view(np.uint8)
        methods.append(Method(f"faiss IndexBinaryFlat ({size * 8} bits)", f"faiss-binary:{size}", budget_group(size), size, size,
                              lambda batch, index=binary, q=queries: (lambda: index.search(q[:batch], K))))
    vectors = rng.standard_normal((documents, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[rng.integers(0, documents, max(BATCHES))].copy()
    sample = vectors[:50_000]
    for size in sorted(set(code_bytes)):
        for name, kind, sub, build in (
                ("faiss IndexPQ (8-bit)", "pq", size, lambda d, m: faiss.IndexPQ(d, m, 8, faiss.METRIC_INNER_PRODUCT)),
                ("faiss IndexPQFastScan (4-bit)", "pq-fastscan", 2 * size,
                 lambda d, m: faiss.IndexPQFastScan(d, m, 4, faiss.METRIC_INNER_PRODUCT))):
            dim = DIM if DIM % sub == 0 else sub * max(1, -(-DIM // sub))
            lift = np.eye(DIM, dim, dtype=np.float32)  # zero padding: the timing does not depend on the values
            index = build(dim, sub)
            index.train(np.ascontiguousarray(sample @ lift))
            index.add(np.ascontiguousarray(vectors @ lift))
            lifted = np.ascontiguousarray(queries @ lift)
            methods.append(Method(f"{name} ({size} bytes)", f"{kind}:{size}", budget_group(size), size, size,
                                  lambda batch, index=index, q=lifted: (lambda: index.search(q[:batch], K))))
    for dim in (DIM, 512):  # the embeddings, and the 512-d fine-tuned float projection of the fidelity table
        stored = vectors if dim == DIM else np.ascontiguousarray(vectors @ np.eye(DIM, dim, dtype=np.float32))
        flat = faiss.IndexFlatIP(dim)
        flat.add(stored)
        chosen = np.ascontiguousarray(stored[rng.integers(0, documents, max(BATCHES))])
        methods.append(Method(f"float32 exact, {dim}-d (faiss IndexFlatIP)", f"float:{dim * 4}", "float32", dim * 4, dim * 4,
                              lambda batch, index=flat, q=chosen: (lambda: index.search(q[:batch], K))))
    return methods


def run_speed_benchmark(documents: int = 1_000_000, layouts: list[CodeLayout] | None = None, seed: int = 0) -> dict:
    """Every method's queries per second at each batch size, memory per vector and scan rate."""
    layouts = layouts or [CodeLayout.for_budget(size, planes) for size in CODE_BYTES for planes in PLANES]
    rng = np.random.default_rng(seed)
    methods, binary_codes = bebr_methods(documents, rng, layouts)
    methods += faiss_methods(documents, rng, [layout.code_bytes for layout in layouts if layout.planes == 1], binary_codes)
    qps: dict[int, dict[str, float]] = {batch: {} for batch in BATCHES}
    for batch in BATCHES:
        for group in sorted({method.group for method in methods}):
            qps[batch].update(round_robin_qps({m.key: m.search(batch) for m in methods if m.group == group}, batch))
    rows = []
    for method in methods:
        speeds = {str(batch): round(qps[batch][method.key], 1) for batch in BATCHES}
        rows.append({"method": method.name, "key": method.key, "code_bytes": method.code_bytes,
                     "bytes_per_vector": method.bytes_per_vector, "qps": speeds,
                     "scan_gb_per_s": {b: round(documents * method.code_bytes * q / int(b) / 1e9, 2) for b, q in speeds.items()}})
        print(rows[-1], flush=True)
    largest = max(binary_codes.values(), key=lambda codes: codes.nbytes)
    return {"documents": documents, "k": K, "batches": list(BATCHES), "rows": rows,
            "read_rate_gb_per_s": round(read_rate(largest) / 1e9, 2),
            "caveats": "random codes and vectors (exhaustive search costs the same whatever they hold); one "
                       "process, the machine's threads for numba, ONNX Runtime and faiss alike; the ONNX Runtime "
                       "node scores every document (the numba kernel skips those an integer bound rules out)"}


def speed_key(fidelity_row: dict) -> str:
    """The speed row that times a fidelity row's method at its size."""
    method, size = fidelity_row["method"], fidelity_row["bytes"]
    if method.startswith("float"):
        return f"float:{size}"
    if method.startswith("faiss IndexPQFastScan"):
        return f"pq-fastscan:{size}"
    if method.startswith("faiss IndexPQ"):
        return f"pq:{size}"
    return f"binary:{size}:{fidelity_row.get('planes', 1)}"


def plot_recall_speed(speed: dict, fidelity: dict, path, batch: int = 16) -> None:
    """recall@10 against queries per second (batches of `batch`, log scale), one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    qps = {row["key"]: row["qps"][str(batch)] for row in speed["rows"]}
    series: dict[str, list[tuple[float, float, int]]] = {}
    for row in fidelity["rows"]:
        if speed_key(row) in qps:
            series.setdefault(row["method"], []).append((qps[speed_key(row)], row["recall@10"], row["bytes"]))
    figure, axes = plt.subplots(figsize=(8, 5.5))
    for method, points in series.items():
        points.sort(key=lambda p: p[2])
        x, y, sizes = zip(*points)
        axes.plot(x, y, marker="o", label=method)
        for xi, yi, size in points:
            axes.annotate(f"{size} B", (xi, yi), textcoords="offset points", xytext=(4, 4), fontsize=7)
    axes.set_xscale("log")
    axes.set_xlabel(f"queries per second over {speed['documents']:,} vectors (batches of {batch}, k = {speed['k']})")
    axes.set_ylabel("recall@10 of the paired document (held-out docstrings)")
    axes.set_title("BEBR codes against float search, hashing and PQ: recall and speed")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
