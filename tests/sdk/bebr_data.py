"""Synthetic embedding pairs for the BEBR tests."""
from __future__ import annotations

import numpy as np


def synthetic_pairs(count: int, seed: int, dim: int = 32, latent: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Queries and documents of one latent through two different fixed maps: float search of queries
    against documents fails, a learned code succeeds."""
    rng = np.random.default_rng(seed)
    to_query, to_doc = (np.random.default_rng(100 + i).standard_normal((latent, dim)) for i in range(2))
    latent_values = rng.standard_normal((count, latent))
    noise = lambda: 0.2 * rng.standard_normal((count, dim))  # noqa: E731
    return (latent_values @ to_query + noise()).astype(np.float32), (latent_values @ to_doc + noise()).astype(np.float32)
