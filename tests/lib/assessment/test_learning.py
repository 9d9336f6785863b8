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


def test_the_curve_is_the_same_fitted_side_by_side_or_one_after_the_other(
    xor_setup, monkeypatch
):
    from functools import partial

    import polars as pl

    from model_training.lib.algorithms.cv import cv_splits
    from model_training.lib.assessment.learning import learning_curve
    from model_training.lib.core.frames import split_xy
    from model_training.lib.core.threads import THREADS_ENV
    from model_training.lib.problems import get_problem
    from model_training.lib.stage.assessments import _curve_predictions
    from model_training.lib.training.configs import config_fit_params, pipeline_for
    from tests.conftest import conf_params

    parts, _, _, plan = xor_setup
    rows = pl.concat([parts["train"], parts["validation"]])
    x, y = split_xy(rows, plan)
    config = {
        "model": "random_forest",
        "params": {"n_estimators": 15, "max_depth": 4},
        "imbalance": "none",
    }
    problem = get_problem(plan.spec.problem_type)

    def curve(threads):
        monkeypatch.setenv(THREADS_ENV, str(threads))
        return learning_curve(
            pipeline_for(plan, config, conf_params("tuning"), 0),
            x,
            y,
            cv_splits(rows, y, plan, 0),
            plan,
            partial(_curve_predictions, problem, plan),
            partial(config_fit_params, plan, config),
            [0.02, 0.5, 1.0],
            seed=4,
        )

    alone, side_by_side = curve(1), curve(2)
    assert alone["fitted_in_processes"] == 1
    assert side_by_side["fitted_in_processes"] == 2
    assert alone["points"] == side_by_side["points"]
    assert [p["train_size"] for p in alone["points"]][-1] > 100


def test_a_series_too_short_for_the_curves_folds_is_said_not_failed():
    """A 36-month series: the learning curve's walk-forward folds cannot be
    cut ("k-fold cross-validation requires at least one train/test split"),
    and the curve was reported as failed; it is not computed, with why."""
    from model_training.lib.stage.assessments import compute_learning_curve
    from tests.conftest import conf_params
    from tests.lib.algorithms.test_forecasters import plan_for, series

    frame = series(36)
    plan = plan_for(frame, horizon=6)
    selection = {"selected": {"model": "auto_ets", "params": {}, "imbalance": "none"}}
    curve = compute_learning_curve(
        plan.model_dump(mode="json"),
        frame[:20],
        frame[20:28],
        selection,
        conf_params("tuning", env="test"),
        conf_params("evaluation", {"learning_curve": {"n_splits": 3}}, env="test"),
        0,
    )
    assert curve["points"] == []
    assert curve["verdict"].startswith("not computed (too few rows for 3")
