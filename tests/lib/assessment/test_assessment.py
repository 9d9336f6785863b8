"""Evaluation building blocks against hand-computed fixtures."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sklearn import metrics as skm

from model_training.lib.assessment import business, fairness, robustness
from model_training.lib.assessment.bootstrap import bootstrap_ci
from model_training.lib.assessment.learning import verdict
from model_training.lib.assessment.test_metrics import (
    classification_details,
    regression_details,
)
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.spec import ModelingSpec
from tests.conftest import conf_params


def binary_plan(**spec) -> ModelingPlan:
    fields = {
        "epic_id": "x",
        "problem_type": "binary_classification",
        "target": "y",
        "positive_class": "bad",
        "primary_metric": "roc_auc",
        "cost_matrix": {"labels": ["good", "bad"], "costs": [[0, 1], [5, 0]]},
        **spec,
    }
    return ModelingPlan(
        spec=ModelingSpec(**fields),
        numeric_features=["age"],
        categorical_features=["sex"],
        classes=["good", "bad"],
        cv_strategy="stratified_kfold",
        greater_is_better=True,
    )


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


def test_classification_details_match_scikit_learn():
    plan = binary_plan()
    y = np.array(["bad", "good", "good", "bad", "good"], dtype=object)
    pred = np.array(["bad", "good", "bad", "good", "good"], dtype=object)
    p_bad = np.array([0.8, 0.3, 0.6, 0.4, 0.1])
    details = classification_details(y, pred, np.column_stack([1 - p_bad, p_bad]), plan)
    expected = skm.confusion_matrix(y, pred, labels=["good", "bad"]).tolist()
    assert details["confusion_matrix"]["rows_actual_columns_predicted"] == expected
    assert details["classification_report"]["bad"]["recall"] == pytest.approx(0.5)


def test_bootstrap_interval_brackets_the_estimate():
    plan = binary_plan()
    rng = np.random.default_rng(0)
    truth = rng.random(400) < 0.3
    p_bad = np.clip(truth * 0.3 + rng.random(400) * 0.7, 0, 1)
    y = np.where(truth, "bad", "good").astype(object)
    scores = np.column_stack([1 - p_bad, p_bad])
    ci = bootstrap_ci(
        ["roc_auc"], y, np.where(p_bad > 0.5, "bad", "good"), scores, plan, 200, 0
    )["roc_auc"]
    point = skm.roc_auc_score(truth, p_bad)
    assert ci["low"] < point < ci["high"]
    assert 0.02 < ci["high"] - ci["low"] < 0.2


def test_regression_interval_coverage():
    y = np.arange(100, dtype=float)
    pred = y + np.tile([-2.0, 2.0, -0.5, 0.5], 25)
    details = regression_details(y, pred, {"0.5": 1.0, "0.9": 2.0})
    assert details["prediction_intervals"]["0.5"]["coverage"] == pytest.approx(0.5)
    assert details["prediction_intervals"]["0.9"]["coverage"] == pytest.approx(1.0)


def test_out_of_distribution_rows():
    plan = binary_plan()
    train = pl.DataFrame({"age": [20.0, 30.0, 40.0], "sex": ["m", "f", "m"]})
    test = pl.DataFrame({"age": [25.0, 50.0, 35.0, 30.0], "sex": ["m", "f", "x", "f"]})
    y = np.array(["bad", "good", "good", "bad"], dtype=object)
    ood = robustness.out_of_distribution(test, train, y, y, None, plan)
    assert ood["rows"] == 2 and ood["share"] == 0.5
    assert ood["reasons"] == {"age outside training range": 1, "sex unseen category": 1}


def test_learning_curve_verdicts():
    plan = binary_plan()
    overfit = [{"train_mean": 0.99, "validation_mean": 0.75}]
    assert verdict(overfit, plan)["verdict"].startswith("overfitting")
    flat = [
        {"train_mean": 0.71, "validation_mean": 0.70},
        {"train_mean": 0.71, "validation_mean": 0.70},
    ]
    assert verdict(flat, plan)["verdict"].startswith("possible underfitting")


def test_sampled_shap_on_an_array_fitted_model_raises_no_feature_name_warnings():
    import warnings

    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.assessment.shap_explain import shap_values

    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "age": rng.integers(20, 70, 120).astype(float),
            "sex": rng.choice(["f", "m"], 120),
        }
    )
    y = np.where(frame["age"].to_numpy() + rng.normal(0, 8, 120) > 45, "bad", "good")
    plan = binary_plan()
    model = build_pipeline(plan, algorithm("classification", "svm_rbf"), {}, 0)
    model.fit(frame, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = shap_values(model, frame, frame, plan, 0, 20)
    assert result["explainer"].startswith("PermutationExplainer")
    assert not [w for w in caught if "feature names" in str(w.message)]


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
