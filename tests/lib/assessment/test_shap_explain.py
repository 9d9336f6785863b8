"""SHAP explanations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.lib.assessment.test_assessment import binary_plan


def _age_and_sex() -> tuple[pl.DataFrame, np.ndarray]:
    """120 applicants: an age that drives the label, and a sex that does not."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "age": rng.integers(20, 70, 120).astype(float),
            "sex": rng.choice(["f", "m"], 120),
        }
    )
    y = np.where(frame["age"].to_numpy() + rng.normal(0, 8, 120) > 45, "bad", "good")
    return frame, y


def _fitted_svm_and_linear(frame: pl.DataFrame, y: np.ndarray, plan) -> tuple:
    """An SVM (explained by sampling) and a logistic regression (exactly)."""
    from model_training.lib.algorithms.registry import algorithm, build_pipeline

    return tuple(
        build_pipeline(plan, algorithm("classification", name), {}, 0).fit(frame, y)
        for name in ("svm_rbf", "logistic_regression")
    )


def test_sampled_shap_on_an_array_fitted_model_raises_no_feature_name_warnings():
    import warnings

    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.assessment.shap_explain import shap_values

    frame, y = _age_and_sex()
    plan = binary_plan()
    model = build_pipeline(plan, algorithm("classification", "svm_rbf"), {}, 0)
    model.fit(frame, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = shap_values(model, frame, frame, plan, 0, 20)
    assert result["explainer"].startswith("PermutationExplainer")
    assert not [w for w in caught if "feature names" in str(w.message)]


def test_a_model_agnostic_explainer_explains_the_rows_its_evaluation_cap_affords():
    """An SVM is explained by a permutation explainer that scores (2 x columns
    + 1) x 100 rows per explained row: under a cap it explains fewer rows and
    says why; a linear model is not capped; an ensemble holding the SVM
    explains the capped rows with every member, so their values add up."""
    from model_training.lib.algorithms.ensemble import EnsembleClassifier
    from model_training.lib.assessment.shap_explain import (
        BACKGROUND_ROWS,
        shap_values,
    )

    frame, y = _age_and_sex()
    plan = binary_plan()
    svm, linear = _fitted_svm_and_linear(frame, y, plan)
    columns = svm[:-1].transform(frame[:1]).shape[1]
    per_row = (2 * columns + 1) * BACKGROUND_ROWS
    capped = shap_values(svm, frame, frame, plan, 0, 60, max_evaluations=25 * per_row)
    assert len(capped["rows"]) == 25 and capped["values"].shape[0] == 25
    assert (
        "max_evaluations" in capped["row_cap"] and f"{per_row:,}" in capped["row_cap"]
    )
    free = shap_values(linear, frame, frame, plan, 0, 60, max_evaluations=25 * per_row)
    assert len(free["rows"]) == 60 and free["row_cap"] is None
    both = EnsembleClassifier(
        members=[linear, svm], weights=[0.5, 0.5], names=["lr", "svm"]
    ).fit(frame, y)
    mixed = shap_values(both, frame, frame, plan, 0, 60, max_evaluations=25 * per_row)
    assert len(mixed["rows"]) == 25 and mixed["by_feature"].shape == (25, 2)
    assert mixed["row_cap"] is not None
    # never fewer than 20 rows, however low the cap
    floor = shap_values(svm, frame, frame, plan, 0, 60, max_evaluations=1)
    assert len(floor["rows"]) == 20


def test_every_tree_learner_gets_the_exact_tree_explainer():
    """LightGBM, CatBoost, a forest and histogram boosting are explained by
    TreeExplainer (exact, every row) rather than the sampled permutation
    explainer, whose row cap left a million-row LightGBM model 20 rows."""
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.assessment.shap_explain import shap_values

    frame, y = _age_and_sex()
    plan = binary_plan()
    for name in ("lightgbm", "catboost", "random_forest", "hist_gradient_boosting"):
        params = {"n_estimators": 20} if name in ("lightgbm", "random_forest") else {}
        model = build_pipeline(plan, algorithm("classification", name), params, 0)
        model.fit(frame, y)
        result = shap_values(model, frame, frame, plan, 0, 60)
        assert result["explainer"] == "TreeExplainer", name
        assert result["values"].shape[0] == 60
        # age drives the label, sex does not
        importance = result["by_feature"].abs().mean()
        assert importance["age"] > importance["sex"], name


def test_under_a_run_budget_the_agnostic_explainer_explains_what_the_time_affords():
    from model_training.lib.assessment.shap_explain import (
        MIN_TIMED_ROWS,
        explainable_rows,
        shap_values,
    )

    frame, y = _age_and_sex()
    plan = binary_plan()
    svm, linear = _fitted_svm_and_linear(frame, y, plan)
    # no time left: the fewest rows, and the reason names the budget
    rushed = shap_values(svm, frame, frame, plan, 0, 60, 10**9, seconds=1e-9)
    assert len(rushed["rows"]) == MIN_TIMED_ROWS
    assert (
        "run budget" in rushed["row_cap"] and "per explained row" in rushed["row_cap"]
    )
    # time enough (a day): every row asked for
    assert explainable_rows(svm, frame, 60, 10**9, seconds=86_400.0) == (60, None)
    # exact explainers are never timed nor capped
    assert explainable_rows(linear, frame, 60, 10**9, seconds=1e-9) == (60, None)


def test_a_log_target_model_is_explained_in_log_units_and_an_ensemble_in_target_units():
    """A regressor fitted on log(1 + price) is explained on that scale and
    says so; in an ensemble beside a raw-scale member it is converted to price
    units at its base value, so that the two add up: the converted values are
    the log ones times the output's slope there."""
    from model_training.lib.algorithms.ensemble import EnsembleRegressor
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.assessment.shap_explain import shap_values
    from model_training.lib.core.frames import split_xy
    from tests.lib.algorithms.test_target_transform import price_parts_and_plan

    parts, plan = price_parts_and_plan()
    x, y = split_xy(parts["train"], plan)
    ridge = algorithm("regression", "ridge")
    logged = build_pipeline(plan, ridge, {"target_transform": "log1p"}, 0).fit(x, y)
    raw = build_pipeline(plan, ridge, {}, 0).fit(x, y)
    alone = shap_values(logged, x, x, plan, 0, 50)
    assert alone["log_target"] and alone["explainer"] == "LinearExplainer"
    # in log units the base value is near the mean log price, not the mean price
    assert abs(alone["base_value"] - np.log1p(y).mean()) < 0.5
    assert not shap_values(raw, x, x, plan, 0, 50)["log_target"]

    ensemble = EnsembleRegressor(
        members=[build_pipeline(plan, ridge, {"target_transform": "log1p"}, 0)],
        weights=[1.0],
    ).fit(x, y)
    combined = shap_values(ensemble, x, x, plan, 0, 50)
    assert "converted to target units" in combined["explainer"]
    # its output is s e^z - 1 (s: the smearing factor RMSE calls for)
    assert alone["smearing"] > 1.0
    slope = np.exp(alone["base_value"]) * alone["smearing"]
    np.testing.assert_allclose(
        combined["by_feature"].to_numpy(), alone["by_feature"].to_numpy() * slope
    )
    assert combined["base_value"] == pytest.approx(slope - 1)
