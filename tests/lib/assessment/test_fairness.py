"""Fairness by group (fairlearn), against a hand-computed fixture."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.assessment import fairness
from tests.conftest import conf_params
from tests.lib.assessment.test_assessment import binary_plan


def test_fairness_matches_a_hand_computed_fixture():
    plan = binary_plan(
        sensitive_features=[
            {
                "name": "sex",
                "column": "status",
                "derive": {"kind": "split", "sep": " : ", "part": 0},
            },
            {
                "name": "age_band",
                "column": "age",
                "derive": {"kind": "bins", "edges": [25], "labels": ["<=25", ">25"]},
            },
        ]
    )
    frame = pl.DataFrame(
        {
            "status": ["male : single"] * 4 + ["female : married"] * 4,
            "age": [20, 25, 30, 40, 22, 50, 60, 70],
        }
    )
    y = np.array(
        ["bad", "good", "bad", "good", "bad", "bad", "good", "good"], dtype=object
    )
    pred = np.array(
        ["bad", "bad", "good", "good", "bad", "good", "good", "good"], dtype=object
    )
    report = fairness.assess(
        frame,
        y,
        pred,
        plan,
        conf_params("evaluation").fairness.model_copy(update={"min_group_size": 1}),
    )
    male = report["sex"]["groups"]["male"]
    female = report["sex"]["groups"]["female"]
    # male: actual bad at 0, 2; called bad at 0, 1 -> selection 2/4, TPR 1/2, FPR 1/2, precision 1/2
    assert male == {
        "size": 4,
        "accuracy": 0.5,
        "selection_rate": 0.5,
        "true_positive_rate": 0.5,
        "false_positive_rate": 0.5,
        "precision": 0.5,
        "base_rate": 0.5,
    }
    # female: actual bad at 4, 5; called bad at 4 -> selection 1/4, TPR 1/2, FPR 0, precision 1
    assert female["selection_rate"] == 0.25 and female["false_positive_rate"] == 0.0
    assert report["sex"]["demographic_parity_difference"] == pytest.approx(0.25)
    assert report["sex"]["demographic_parity_ratio"] == pytest.approx(0.5)
    assert report["sex"]["equalized_odds_difference"] == pytest.approx(0.5)
    assert any("four-fifths" in flag for flag in report["sex"]["flags"])
    assert (
        report["age_band"]["groups"]["<=25"]["size"] == 3
    )  # 20, 25 (right-closed), 22
    # the same figures from fairlearn's own between-group functions
    from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

    sex = np.array(["male"] * 4 + ["female"] * 4)
    actual, called = y == "bad", pred == "bad"
    assert report["sex"]["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(actual, called, sensitive_features=sex)
    )
    assert report["sex"]["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(actual, called, sensitive_features=sex)
    )
