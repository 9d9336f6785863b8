"""Row guards: the rows above which a slow algorithm is fitted on a seeded
subsample, for the candidates, tuning and the selection alike."""

from __future__ import annotations

from typing import Any

import numpy as np

# A guard holds for data up to this many features; wider data costs more per
# row, so the guard shrinks in proportion (a budget of cells, not of rows).
GUARD_FEATURES = 20
GUARD_FLOOR = 1000


def row_guard(algo: Any, guards: dict[str, int], n_features: int = 0) -> int | None:
    """The rows above which ``algo`` is fitted on a subsample: the
    ``modeling.row_guard`` override, else the algorithm's own guard, for up
    to 20 features; with more, it shrinks in proportion (never below 1,000)."""
    guard = guards.get(algo.name, algo.row_guard)
    if guard is None or n_features <= GUARD_FEATURES:
        return guard
    return max(GUARD_FLOOR, int(guard * GUARD_FEATURES / n_features))


def guarded_rows(
    y: np.ndarray, guard: int | None, seed: int, stratify: bool
) -> np.ndarray | None:
    """The sorted indices of a seeded (stratified) subsample of ``guard`` rows,
    or None when there are no more rows than the guard. Modeling and tuning
    both use it, so tuning's CV folds are built on exactly the rows it fits."""
    from sklearn.model_selection import train_test_split

    if not guard or len(y) <= guard:
        return None
    keep, _ = train_test_split(
        np.arange(len(y)),
        train_size=int(guard),
        random_state=seed,
        stratify=y if stratify else None,
    )
    return np.sort(keep)
