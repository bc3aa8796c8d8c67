"""rapid::BinarySearch's CUDA kernels: compiled with nvcc in every run; run whole through the plugin's launcher on
the CPU (HIP-CPU) in every run, bit for bit against the NumPy reference; on a GPU, the kernels through CuPy and
the plugin's launcher, against the reference too."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.plugins.cupy_bebr import KERNELS, binary_search_cuda
from export.plugins.cupy_rapid import cuda_available
from runtimes.ops.bebr_reference import binary_search_reference
from runtimes.ops.bebr_spec import MAX_K, CodeLayout, code_norms, pack_signs
from hip_cpu_build import build_on_cpu, needs_hip_cpu

PLUGINS = KERNELS.parent
HERE = Path(__file__).parent
needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
needs_gpu = pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU with CuPy")
CASES = [(CodeLayout(512, 2), 10), (CodeLayout(96, 3), 37), (CodeLayout(64, 1), 1), (CodeLayout(32, 4), 200)]


def corpus(layout: CodeLayout, documents: int = 3000, queries: int = 40, seed: int = 0):
    """Random codes with duplicated runs (ties); more queries than one launcher chunk of 32."""
    rng = np.random.default_rng(seed)
    docs = pack_signs(rng.standard_normal((documents, layout.planes, layout.bits)), layout)
    docs[100:140] = docs[5]
    query_codes = pack_signs(rng.standard_normal((queries, layout.planes, layout.bits)), layout)
    query_codes[0] = docs[5]
    return query_codes, code_norms(query_codes, layout), docs, code_norms(docs, layout)


def run_check(program: Path, folder: Path, arrays, layout: CodeLayout, k: int):
    names = []
    for name, array in zip(("queries", "query_norms", "docs", "doc_norms"), arrays):
        array.tofile(folder / f"{name}.bin")
        names.append(str(folder / f"{name}.bin"))
    out = folder / "out.bin"
    run = subprocess.run([str(program), *names, str(len(arrays[0])), str(len(arrays[2])), str(layout.bits),
                          str(layout.planes), str(k), str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    records = np.fromfile(out, dtype=np.dtype([("score", np.float32), ("index", np.int64)])).reshape(len(arrays[0]), k)
    return records["score"], records["index"]


@needs_nvcc
def test_kernels_compile_with_nvcc(tmp_path):
    subprocess.run(["nvcc", "-ptx", str(KERNELS), "-o", str(tmp_path / "kernels.ptx")], check=True, capture_output=True)
    ptx = (tmp_path / "kernels.ptx").read_text()
    assert ".entry bebr_score" in ptx and ".entry bebr_select" in ptx


@pytest.fixture(scope="module")
def launcher_on_cpu(tmp_path_factory):
    return build_on_cpu("bebr_launch_check.cu", "binary_search_launch.cu", tmp_path_factory.mktemp("hip_cpu"))


def few_distinct_codes(layout: CodeLayout, documents: int, queries: int, seed: int = 0):
    """Codes that differ in two bits: nearly every score ties, so the radix select's equal keys decide."""
    rng = np.random.default_rng(seed)
    values = np.ones((documents + queries, layout.planes, layout.bits))
    values[..., :2] = rng.choice([-1.0, 1.0], size=(documents + queries, layout.planes, 2))
    codes = pack_signs(values, layout)
    return codes[documents:], code_norms(codes[documents:], layout), codes[:documents], code_norms(codes[:documents], layout)


CPU_CASES = [(corpus, layout, k) for layout, k in CASES] + [
    (corpus, CodeLayout(64, 2), MAX_K), (few_distinct_codes, CodeLayout(32, 2), 500)]


@needs_hip_cpu
@pytest.mark.parametrize("make, layout, k", CPU_CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_kernels_run_whole_on_the_cpu_bit_for_bit(tmp_path, launcher_on_cpu, make, layout, k):
    """The plugin's launcher (chunks of 32 queries; the score kernel's shared query; the select kernel's 1024
    threads, barriers, histogram atomics and gather) under HIP-CPU, on random codes with tied runs, k at
    TensorRT's limit, and codes that nearly all tie."""
    arrays = make(layout, 5000, 40) if make is few_distinct_codes else corpus(layout, documents=max(3000, k + 1000))
    scores, indices = run_check(launcher_on_cpu, tmp_path, arrays, layout, k)
    expected_scores, expected_indices = binary_search_reference(*arrays, layout, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(scores, expected_scores)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("layout, k", CASES, ids=str)
def test_cuda_kernels_match_reference(layout, k):
    arrays = corpus(layout)
    scores, indices = binary_search_cuda(*arrays, layout, k)
    expected_scores, expected_indices = binary_search_reference(*arrays, layout, k)
    np.testing.assert_array_equal(indices.get(), expected_indices)
    np.testing.assert_array_equal(scores.get(), expected_scores)


@needs_nvcc
@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("layout, k", CASES, ids=str)
def test_plugin_launcher_matches_reference(tmp_path, layout, k):
    program = tmp_path / "bebr_launch_check"
    subprocess.run(["nvcc", "-std=c++17", "-O3", f"-I{PLUGINS}", f"-I{HERE}", str(HERE / "bebr_launch_check.cu"),
                    str(PLUGINS / "binary_search_launch.cu"), "-o", str(program)], check=True, capture_output=True)
    arrays = corpus(layout)
    scores, indices = run_check(program, tmp_path, arrays, layout, k)
    expected_scores, expected_indices = binary_search_reference(*arrays, layout, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(scores, expected_scores)
