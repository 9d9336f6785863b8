"""Business impact in cost terms, hand-computed."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.assessment import business
from tests.lib.assessment.test_assessment import binary_plan


def test_business_costs_are_hand_computed():
    plan = binary_plan()
    y = np.array(["bad", "bad", "good", "good", "good"], dtype=object)
    scores = np.array([0.9, 0.1, 0.2, 0.6, 0.05])
    # the baseline's cost as evaluation measured it (same rows, same threshold)
    impact = business.binary_impact(y, scores, 0.5, 7 / 5, "lr", plan)
    costs = impact["expected_cost_per_1000"]
    # threshold 0.5: one bad accepted (5) + one good rejected (1) = 6 / 5 rows
    assert costs["model"] == pytest.approx(1000 * 6 / 5)
    assert costs["flag_none (accept all)"] == pytest.approx(1000 * 10 / 5)
    assert costs["flag_all (reject all)"] == pytest.approx(1000 * 3 / 5)
    assert costs["baseline lr"] == pytest.approx(1000 * 7 / 5)
    assert impact["bayes_threshold"] == pytest.approx(1 / 6)
    assert impact["saving_per_1000_vs_baseline"] == pytest.approx(1000 * (7 - 6) / 5)
    no_baseline = business.binary_impact(y, scores, 0.5, None, "lr", plan)
    assert no_baseline["saving_per_1000_vs_baseline"] is None
    table = business.translation_table(
        {"precision": 0.5, "recall": 0.5, "roc_auc": 0.8}, plan, 12.0, impact
    )
    meanings = {row["metric"]: row["meaning"] for row in table}
    assert "1 in 2.0 flags is a false alarm" in meanings["precision"]
    assert (
        "within the" not in meanings["p95 latency"]
    )  # no latency criterion in this spec


def test_metrics_a_detector_without_labels_cannot_have_are_left_out():
    """An anomaly detector without a label column reports its label metrics as
    None; the table had raised TypeError on them and the business impact was
    left out of an unseen epic's reports."""
    unknown = dict.fromkeys(
        ("precision", "recall", "f1", "roc_auc", "accuracy", "r2"), None
    )
    table = business.translation_table(
        {**unknown, "mean_absolute_error": float("nan")}, binary_plan(), 2.5, None
    )
    assert [row["metric"] for row in table] == ["p95 latency"]
    table = business.translation_table(
        {**unknown, "recall": 0.8}, binary_plan(), None, None
    )
    assert [row["metric"] for row in table] == ["recall"]
