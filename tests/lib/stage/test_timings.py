"""A budget spent before the run's steps start binds each step the same way
on any machine (so this test does not depend on the clock): the first unit of
work of each step runs, the rest is skipped with the reason, and the timings
section names every step where the budget bound."""

from __future__ import annotations

from model_training.lib.core.budget import Budget
from model_training.lib.stage.assessments import compute_learning_curve
from model_training.lib.stage.timings import run_timings
from model_training.lib.training.baseline import fit_baselines
from model_training.lib.training.candidates import require_shortlist, train_candidates
from model_training.lib.training.selection import select_model
from model_training.lib.training.tuning import tune_models
from tests.conftest import conf_params

CHECKPOINTS = {"candidates": 0.15, "tuning": 0.6, "selection": 0.8, "evaluation": 0.95}


def test_a_spent_budget_binds_every_step_and_is_reported(xor_setup, caplog):
    parts, _, spec, plan = xor_setup
    plan = plan.model_copy(
        update={
            "spec": spec.model_copy(
                update={
                    "algorithms": ["logistic_regression", "random_forest", "catboost"]
                }
            )
        }
    )
    spent = Budget(time_s=1.0, started=0.0, checkpoints=CHECKPOINTS)  # 1970
    modeling = conf_params(
        "modeling",
        {
            "defaults": {
                "random_forest": {"n_estimators": 20},
                "catboost": {"iterations": 20},
            }
        },
    )
    tuning_options = conf_params("tuning", {"storage": None})
    baselines, _ = fit_baselines(plan, parts["train"], parts["validation"], 0)

    candidates, fitted = train_candidates(
        plan, parts["train"], parts["validation"], baselines, modeling, 0, spent
    )
    status = {e["name"]: e["status"] for e in candidates["models"]}
    assert status == {
        "logistic_regression": "ok",
        "random_forest": "skipped",
        "catboost": "skipped",
    }
    assert list(fitted) == ["logistic_regression"]
    assert candidates["summary"]["n_skipped_by_budget"] == 2
    assert "budget.time_s = 1 s" in candidates["excluded"]["catboost"]

    shortlist = require_shortlist(candidates) or ["logistic_regression"]
    tuning = tune_models(
        plan,
        parts["train"],
        [*shortlist, "random_forest"],
        modeling.defaults,
        tuning_options,
        0,
        budget=spent,
        candidates=candidates,
    )
    # the first trial (the defaults) of each model always completes
    assert {m["model"]: m["n_complete"] for m in tuning["models"]} == {
        name: 1 for name in [*shortlist, "random_forest"]
    }
    assert tuning["run_budget"]["bound"]
    # the refit projected from the logistic candidate's fit is kept
    assert candidates["rows"] == {
        "train": parts["train"].height,
        "validation": parts["validation"].height,
    }
    assert tuning["run_budget"]["reserved_s"] > 0
    assert {m["stopped_by"] for m in tuning["models"]} <= {"run budget", "trial budget"}

    selection = select_model(
        plan,
        parts["train"],
        parts["validation"],
        tuning,
        candidates,
        modeling.defaults,
        tuning_options,
        0,
        budget=spent,
    )
    judged = [m for m in selection["models"] if m.get("status") == "ok"]
    assert len(judged) == 1  # the first tuned model, always
    assert any(m.get("status") == "skipped" for m in selection["models"])

    learning = compute_learning_curve(
        plan.model_dump(mode="json"),
        parts["train"],
        parts["validation"],
        selection,
        tuning_options,
        conf_params("evaluation"),
        0,
        spent,
    )
    assert learning["points"] == [] and "budget" in learning["skipped_by_budget"]

    timings = run_timings(
        candidates, tuning, selection, {"fit_and_finish_s": 0.1}, learning, {}, spent
    )
    assert timings["budget_bound"] == [
        "candidates",
        "tuning",
        "selection",
        "evaluation",
    ]
    assert timings["budget_s"] == 1.0
    assert timings["checkpoints_s"]["tuning"] == 0.6
    assert timings["reserved_for_final_fit_s"]["tuning"] > 0
    assert timings["reserved_for_final_fit_s"]["selection"] > 0
    assert timings["due_s"]["selection"] == 0.0  # 1 s cannot hold the reserve
    assert timings["steps_s"]["candidates"] >= 0
    assert "skipped" in caplog.text


def test_the_test_bootstrap_takes_the_resamples_the_budget_affords():
    import time

    import numpy as np

    from model_training.lib.stage.evaluation import MIN_RESAMPLES, affordable_resamples
    from tests.lib.assessment.test_assessment import binary_plan

    plan = binary_plan()
    rng = np.random.default_rng(0)
    y = rng.choice(np.array(["good", "bad"], dtype=object), 300)
    p_bad = rng.random(300)
    scores = np.column_stack([1 - p_bad, p_bad])
    pred = np.where(p_bad > 0.5, "bad", "good")
    options = conf_params("evaluation", {"bootstrap": {"n_boot": 1000}})
    args = (["roc_auc"], y, pred, scores, plan, options)
    assert affordable_resamples(*args, None) == 1000
    spent = Budget(time_s=1.0, started=0.0, checkpoints=CHECKPOINTS)
    assert affordable_resamples(*args, spent) == MIN_RESAMPLES
    ample = Budget(time_s=10_000.0, started=time.time(), checkpoints=CHECKPOINTS)
    assert affordable_resamples(*args, ample) == 1000


def test_the_final_calibration_uses_the_folds_the_budget_affords(xor_setup):
    import time

    from model_training.lib.training.final_fit import _affordable_folds

    _, _, _, plan = xor_setup  # 3 folds
    selection = {
        "selected": {"model": "catboost"},
        "models": [{"model": "catboost", "cv_fit_time_s": 10.0}],
    }
    spent = Budget(time_s=1.0, started=0.0, checkpoints=CHECKPOINTS)
    folds, note = _affordable_folds(plan, selection, spent)
    assert folds == 2 and "2-fold out-of-fold predictions instead of 3" in note
    assert _affordable_folds(plan, selection, None) == (3, None)
    ample = Budget(time_s=10_000.0, started=time.time(), checkpoints=CHECKPOINTS)
    assert _affordable_folds(plan, selection, ample) == (3, None)
