"""Row guards: wider data shrinks them; the subsample is seeded and stratified."""

from __future__ import annotations

import numpy as np


def test_a_guard_shrinks_with_the_number_of_features():
    """Guards hold for 20 features; wider data is a budget of cells."""
    from model_training.lib.algorithms.registry import algorithm
    from model_training.lib.training.guards import row_guard

    forest = algorithm("classification", "random_forest")
    assert row_guard(forest, {}, 10) == row_guard(forest, {}, 20) == 100_000
    assert row_guard(forest, {}, 50) == 40_000
    assert row_guard(forest, {"random_forest": 5000}, 200) == 1000  # the floor
    assert row_guard(algorithm("classification", "catboost"), {}, 500) is None


def test_a_guarded_subsample_is_seeded_sorted_and_keeps_class_shares():
    from model_training.lib.training.guards import guarded_rows

    y = np.array(["a"] * 900 + ["b"] * 100)
    assert guarded_rows(y, None, 0, True) is None
    assert guarded_rows(y, 1000, 0, True) is None  # no more rows than the guard
    keep = guarded_rows(y, 200, 0, True)
    assert len(keep) == 200 and np.all(np.diff(keep) > 0)
    assert (y[keep] == "b").sum() == 20
    assert np.array_equal(keep, guarded_rows(y, 200, 0, True))
    assert not np.array_equal(keep, guarded_rows(y, 200, 1, True))
