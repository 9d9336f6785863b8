"""SHAP explanations."""

from __future__ import annotations

import numpy as np
import polars as pl

from tests.lib.assessment.test_assessment import binary_plan


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
