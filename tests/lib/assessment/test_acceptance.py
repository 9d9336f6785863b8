"""Acceptance criteria: absolute bounds, relative to the best baseline, CIs that cross."""

from __future__ import annotations

import pytest

from model_training.lib.assessment.acceptance import check_criteria, describe
from model_training.lib.core.spec import ModelingSpec


def performance(cost=0.545, auc=0.756, cost_ci=(0.435, 0.665)):
    return {
        "metrics": {
            "test": {"expected_cost": cost, "roc_auc": auc},
            "test_confidence_intervals": {
                "expected_cost": {"low": cost_ci[0], "high": cost_ci[1]},
                "roc_auc": {"low": 0.68, "high": 0.82},
            },
        },
        "baselines_on_test": {
            "majority_class": {"expected_cost": 0.70, "roc_auc": 0.5},
            "logistic_regression": {"expected_cost": 0.48, "roc_auc": 0.79},
        },
        "latency_ms": {"p95": 3.0},
    }


CRITERIA = {
    "metrics": {"roc_auc": {"min": 0.75}, "expected_cost": {"max": 0.60}},
    "beats_best_baseline": ["expected_cost", "roc_auc"],
    "latency_p95_ms": 200,
}


def test_a_model_costlier_than_the_baseline_fails_the_relative_criterion():
    """credit_risk: 0.545 per applicant passes '<= 0.60' but not 'below the
    best baseline' (0.480), which is what the user story asks."""
    by_name = {c["criterion"]: c for c in check_criteria(CRITERIA, performance())}
    assert by_name["test expected_cost <= 0.6"]["met"]
    relative = next(
        c for c in by_name.values() if "expected_cost better" in c["criterion"]
    )
    assert not relative["met"]
    assert relative["baseline"] == "logistic_regression"
    assert relative["threshold"] == 0.48
    auc = next(c for c in by_name.values() if "roc_auc better" in c["criterion"])
    assert not auc["met"] and auc["baseline"] == "logistic_regression"  # max for AUC
    assert by_name["p95 latency <= 200.0 ms"]["met"]


def test_a_cheaper_model_meets_it():
    results = check_criteria(CRITERIA, performance(cost=0.40, auc=0.81))
    assert all(c["met"] for c in results)


def test_a_confidence_interval_across_the_threshold_is_said():
    results = check_criteria(CRITERIA, performance(cost=0.55, cost_ci=(0.45, 0.66)))
    bound = next(c for c in results if c["criterion"] == "test expected_cost <= 0.6")
    assert bound["met"] and bound["ci_crosses_threshold"]
    assert "crosses the threshold" in describe(bound)
    clear = check_criteria(CRITERIA, performance(cost=0.30, cost_ci=(0.25, 0.35)))
    bound = next(c for c in clear if c["criterion"] == "test expected_cost <= 0.6")
    assert bound["ci_crosses_threshold"] is False
    assert "crosses" not in describe(bound)


def test_the_spec_checks_relative_metric_names():
    base = {
        "epic_id": "x",
        "problem_type": "regression",
        "target": "y",
        "primary_metric": "rmse",
    }
    spec = ModelingSpec.model_validate(
        {**base, "acceptance_criteria": {"beats_best_baseline": ["mae"]}}
    )
    assert spec.acceptance_criteria.beats_best_baseline == ["mean_absolute_error"]
    with pytest.raises(ValueError, match="does not fit problem_type regression"):
        ModelingSpec.model_validate(
            {**base, "acceptance_criteria": {"beats_best_baseline": ["roc_auc"]}}
        )


def test_credit_risk_spec_says_what_its_criteria_say():
    import yaml

    from tests.conftest import PROJECT_ROOT

    folder = PROJECT_ROOT / "docs/objectives/user_stories/credit_risk"
    spec = yaml.safe_load((folder / "modeling_spec.yml").read_text())
    written = (folder / "acceptance_criteria.md").read_text()
    assert "below\n   every baseline" in written or "below every baseline" in written
    assert set(spec["acceptance_criteria"]["beats_best_baseline"]) == {
        "expected_cost",
        "roc_auc",
    }
