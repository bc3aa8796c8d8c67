"""A small synthetic domain corpus in the layout of benchmarks/bebr_domains.py, for the benchmarks' tests."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_corpus(folder: Path, sizes: dict[str, int]) -> Path:
    rng = np.random.default_rng(0)
    arrays, record = {}, {"pairs": sizes, "left_out": {}}
    for name, count in sizes.items():
        queries = rng.standard_normal((count, 384)).astype(np.float32)
        docs = queries + 0.05 * rng.standard_normal((count, 384)).astype(np.float32)
        arrays.update({f"{name}_queries": queries.astype(np.float16), f"{name}_docs": docs.astype(np.float16),
                       f"{name}_validation": np.arange(count) % 10 == 1,
                       f"{name}_keys": rng.permutation(count).astype(np.uint64)})
    np.savez(folder / "domains.npz", **arrays)
    (folder / "domains.json").write_text(json.dumps(record))
    return folder / "domains.npz"
