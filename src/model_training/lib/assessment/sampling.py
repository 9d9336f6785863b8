"""Bounded samples of rows for the analyses whose cost grows with rows times
features (permutation importance, partial dependence, the learning curve).

A sample is seeded, keeps each class's share (classification), or the latest
rows (time series: the order matters), and is named in the report with the
number of rows it had to choose from.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def sample_rows(
    n: int, limit: int, seed: int, *, labels: Any = None, latest: bool = False
) -> np.ndarray:
    """Sorted positions of at most ``limit`` of ``n`` rows (all of them when
    there are no more). With ``labels`` (classification), each class keeps its
    share, at least one row; ``latest`` takes the last rows instead of a random
    sample."""
    if n <= limit:
        return np.arange(n)
    if latest:
        return np.arange(n - limit, n)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(n, size=limit, replace=False))
    labels = np.asarray(labels, dtype=str)
    chosen = []
    classes, counts = np.unique(labels, return_counts=True)
    quotas = np.maximum(1, np.floor(counts * limit / n).astype(int))
    for label, quota in zip(classes, quotas, strict=True):
        members = np.flatnonzero(labels == label)
        chosen.append(rng.choice(members, size=min(quota, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def every_kth(frame: Any, limit: int) -> Any:
    """Every k-th row of ``frame``, at most about ``limit`` of them: a sample
    without randomness, for figures that only need a spread of the rows."""
    return frame[:: max(1, -(-len(frame) // limit))]


def sample_note(used: int, total: int) -> dict[str, int]:
    """What the report says of a sample."""
    return {"rows": int(used), "of_rows": int(total)}
