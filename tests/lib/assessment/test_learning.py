"""Learning-curve verdicts."""

from __future__ import annotations

from model_training.lib.assessment.learning import verdict
from tests.lib.assessment.test_assessment import binary_plan


def test_learning_curve_verdicts():
    plan = binary_plan()
    overfit = [{"train_mean": 0.99, "validation_mean": 0.75}]
    assert verdict(overfit, plan)["verdict"].startswith("overfitting")
    flat = [
        {"train_mean": 0.71, "validation_mean": 0.70},
        {"train_mean": 0.71, "validation_mean": 0.70},
    ]
    assert verdict(flat, plan)["verdict"].startswith("possible underfitting")
