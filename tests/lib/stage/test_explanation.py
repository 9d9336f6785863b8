"""The explanation step's budget: permutation importance and partial
dependence run only when their predictions, timed on one pass, end before the
evaluation checkpoint."""

from __future__ import annotations

import time

from model_training.lib.core.budget import Budget
from model_training.lib.stage.explanation import _over_budget

CHECKPOINTS = {"evaluation": 0.95}


def test_the_costly_analyses_run_only_when_their_projection_fits():
    passes: list[int] = []

    def one_pass():  # at least 10 ms, whatever the machine
        passes.append(1)
        time.sleep(0.01)

    roomy = Budget(time_s=1e9, started=time.time(), checkpoints=CHECKPOINTS)
    assert _over_budget(roomy, one_pass, 10) is None
    assert passes == [1]  # timed once
    # 100 s left, a million passes of at least 10 ms: skipped, with the reason
    tight = Budget(time_s=1000.0, started=time.time() - 850.0, checkpoints=CHECKPOINTS)
    note = _over_budget(tight, one_pass, 1_000_000)
    assert note and "partial dependence skipped (about" in note
    # past the checkpoint nothing is timed
    spent = Budget(time_s=10.0, started=0.0, checkpoints=CHECKPOINTS)
    assert "skipped" in _over_budget(spent, one_pass, 1)
    assert passes == [1, 1]
    # no budget: always run, nothing timed
    assert _over_budget(None, one_pass, 10**9) is None
    assert _over_budget(Budget(), one_pass, 10**9) is None
    assert passes == [1, 1]


def test_a_forecast_of_a_series_alone_is_explained_without_features(tmp_path):
    """A daily series with no covariates: nothing to shuffle, so permutation
    importance is empty (it raised AxisError in scikit-learn and the whole
    explanation was left out of an unseen epic's reports)."""
    from model_training.lib.core.frames import split_xy
    from model_training.lib.problems import get_problem
    from model_training.lib.stage.explanation import explain_final_model
    from tests.conftest import conf_params
    from tests.lib.algorithms.test_forecasters import _pipeline, plan_for, series

    frame = series(96)
    plan = plan_for(frame)
    assert plan.features == []
    train, test = frame[:84], frame[84:]
    x, y = split_xy(train, plan)
    model = get_problem("time_series").fit(_pipeline(plan, "auto_ets"), x, y)
    explanations, shap_values = explain_final_model(
        plan.model_dump(mode="json"),
        model,
        {},
        train,
        test,
        conf_params("evaluation"),
        0,
    )
    assert explanations.get("status") != "failed", explanations.get("error")
    assert explanations["permutation"]["values"] == {}
    assert shap_values.height == 0


def test_permutation_importance_shuffles_only_the_features_shap_ranks_highest():
    """A wide frame (400 features on 30 test rows) spent 53 s of a 150 s run
    on 2,000 shuffled passes: at most ``permutation_max_features`` are
    shuffled, those with the largest mean |SHAP|, and the rest are named."""
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.core.frames import split_xy
    from model_training.lib.problems import get_problem
    from model_training.lib.stage.explanation import explain_final_model
    from tests.conftest import conf_params, xor_setup

    parts, _, _, plan = xor_setup.__wrapped__()
    assert len(plan.features) == 4
    x, y = split_xy(parts["train"], plan)
    pipeline = build_pipeline(
        plan, algorithm("classification", "random_forest"), {"n_estimators": 50}, 0
    )
    model = get_problem(plan.spec.problem_type).fit(pipeline, x, y)

    def explain(most):
        options = conf_params("evaluation", {"permutation_max_features": most})
        return explain_final_model(
            plan.model_dump(mode="json"),
            model,
            {},
            parts["train"],
            parts["test"],
            options,
            0,
        )[0]

    explanations = explain(2)
    assert explanations.get("status") != "failed", explanations.get("error")
    shap_rank = list(explanations["shap"]["mean_abs_by_feature"])
    permutation = explanations["permutation"]
    assert set(permutation["values"]) == set(shap_rank[:2]) == {"a", "b"}
    assert permutation["features_shuffled"] == 2 and permutation["of_features"] == 4
    assert "2 of 4 features not shuffled" in permutation["not_shuffled"]
    # at or under the cap, every feature is shuffled and nothing is said
    explanations = explain(4)
    assert set(explanations["permutation"]["values"]) == set(plan.features)
    assert "not_shuffled" not in explanations["permutation"]


def test_a_model_fitted_on_the_log_target_is_explained_in_named_log_units():
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.core.frames import split_xy
    from model_training.lib.stage.explanation import LOG_OUTPUT, explain_final_model
    from tests.conftest import conf_params
    from tests.lib.algorithms.test_target_transform import price_parts_and_plan

    parts, plan = price_parts_and_plan()
    x, y = split_xy(parts["train"], plan)

    def explained(params):
        model = build_pipeline(plan, algorithm("regression", "lightgbm"), params, 0)
        explanations, _ = explain_final_model(
            plan.model_dump(mode="json"),
            model.fit(x, y),
            {},
            parts["train"],
            parts["test"],
            conf_params("evaluation"),
            0,
        )
        return explanations["shap"]

    logged = explained({"n_estimators": 50, "target_transform": "log1p"})
    assert logged["units"] == "log(1 + target)"
    assert logged["output"] == LOG_OUTPUT
    assert "units" not in explained({"n_estimators": 50})
