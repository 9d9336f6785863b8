"""Test-set details: classification report and curves, regression intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from model_training.lib.assessment.test_metrics import (
    classification_details,
    regression_details,
)
from tests.lib.assessment.test_assessment import binary_plan


def test_classification_details_match_scikit_learn():
    plan = binary_plan()
    y = np.array(["bad", "good", "good", "bad", "good"], dtype=object)
    pred = np.array(["bad", "good", "bad", "good", "good"], dtype=object)
    p_bad = np.array([0.8, 0.3, 0.6, 0.4, 0.1])
    details = classification_details(y, pred, np.column_stack([1 - p_bad, p_bad]), plan)
    expected = skm.confusion_matrix(y, pred, labels=["good", "bad"]).tolist()
    assert details["confusion_matrix"]["rows_actual_columns_predicted"] == expected
    assert details["classification_report"]["bad"]["recall"] == pytest.approx(0.5)


def test_regression_interval_coverage():
    y = np.arange(100, dtype=float)
    pred = y + np.tile([-2.0, 2.0, -0.5, 0.5], 25)
    details = regression_details(y, pred, {"0.5": 1.0, "0.9": 2.0})
    assert details["prediction_intervals"]["0.5"]["coverage"] == pytest.approx(0.5)
    assert details["prediction_intervals"]["0.9"]["coverage"] == pytest.approx(1.0)
