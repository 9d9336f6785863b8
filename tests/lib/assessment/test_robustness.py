"""Robustness: out-of-distribution rows, weakest slices."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.assessment import robustness
from tests.lib.assessment.test_assessment import binary_plan


def test_out_of_distribution_rows():
    plan = binary_plan()
    train = pl.DataFrame({"age": [20.0, 30.0, 40.0], "sex": ["m", "f", "m"]})
    test = pl.DataFrame({"age": [25.0, 50.0, 35.0, 30.0], "sex": ["m", "f", "x", "f"]})
    y = np.array(["bad", "good", "good", "bad"], dtype=object)
    ood = robustness.out_of_distribution(test, train, y, y, None, plan)
    assert ood["rows"] == 2 and ood["share"] == 0.5
    assert ood["reasons"] == {"age outside training range": 1, "sex unseen category": 1}


@pytest.mark.parametrize(
    ("metric", "greater_is_better", "worst"),
    [("roc_auc", True, ["c", "a"]), ("rmse", False, ["b", "a"])],
)
def test_weakest_slices_are_the_worst_in_either_metric_direction(
    metric, greater_is_better, worst
):
    rows = [
        {"slice": "a", metric: 0.6},
        {"slice": "b", metric: 0.9},
        {"slice": "c", metric: 0.3},
        {"slice": "d", metric: float("nan")},
    ]
    picked = robustness.weakest(rows, metric, greater_is_better, n=2)
    assert [r["slice"] for r in picked] == worst
