"""Selection among tuned models: cross-validation on train + validation, the
one-standard-error rule, validation as a reported check."""

from __future__ import annotations

import polars as pl
import pytest

from model_training.lib.training.selection import select_model
from tests.conftest import conf_params


def test_cross_validation_decides_where_a_tiny_validation_split_disagrees(xor_setup):
    """A 12-row validation split (an unlucky one: its labels are flipped)
    favours a stump over a forest that the cross-validation on all rows ranks
    far ahead; the forest is chosen and the disagreement is reported."""
    parts, _, _, plan = xor_setup
    rows = pl.concat([parts["train"], parts["validation"]])
    tiny = rows.head(12).with_columns(
        pl.when(pl.col("label") == "yes")
        .then(pl.lit("no"))
        .otherwise(pl.lit("yes"))
        .alias("label")
    )
    train = rows.slice(12)
    tuning = {
        "models": [
            {
                "model": "random_forest",
                "status": "ok",
                "params": {"n_estimators": 60, "max_depth": 8, "min_samples_leaf": 1},
                "metrics": {"cv_mean": 0.9},
            },
            {
                "model": "random_forest",
                "status": "ok",
                "params": {"n_estimators": 20, "max_depth": 1, "min_samples_leaf": 1},
                "metrics": {"cv_mean": 0.6},
            },
        ]
    }
    result = select_model(plan, train, tiny, tuning, {}, {}, conf_params("tuning"), 0)
    deep, stump = result["models"][:2]
    assert deep["cv_mean"] > stump["cv_mean"] + 3 * deep["cv_se"]
    assert result["selected"]["params"]["max_depth"] == 8
    assert result["protocol"]["repeats"] == 3 and result["protocol"]["folds"] == 3
    assert len(deep["cv_fold_scores"]) == 9
    assert (
        stump["validation_metrics"]["roc_auc"] > deep["validation_metrics"]["roc_auc"]
    )
    assert (
        "validation (12 rows) would have chosen random_forest"
        in result["validation_check"]
    )
    # the forest is also held against the best constant on the same nine folds
    trivial = result["trivial_reference"]
    assert len(trivial["cv_fold_scores"]) == 9 and trivial["beats"]
    assert trivial["margin"] == pytest.approx(deep["cv_mean"] - trivial["cv_mean"])


def _tuned_forest(duration_s: float) -> dict:
    """A tuning record of one forest whose best trial took ``duration_s`` on
    1,800 rows and 3 folds."""
    params = {"n_estimators": 20, "max_depth": 6, "min_samples_leaf": 1}
    return {
        "cross_validation": {"n_rows": 1800, "n_splits": 3},
        "models": [
            {
                "model": "random_forest",
                "status": "ok",
                "params": params,
                "metrics": {"cv_mean": 0.9},
                "children": [
                    {"state": "COMPLETE", "cv_mean": 0.9, "duration_s": duration_s}
                ],
            }
        ],
    }


def test_a_run_budget_that_cannot_afford_every_row_judges_a_sample_and_the_refit_reuses_it(
    xor_setup,
):
    """Judging the forest on all 3,000 rows is projected from its tuning trial
    at far more than the selection's time left: the contenders are judged on
    the smallest sample (2,000 rows), said in the report, and the final
    calibration reuses the out-of-fold predictions of the very same folds."""
    import time

    from model_training.lib.core.budget import Budget
    from model_training.lib.core.plan import build_plan
    from model_training.lib.data_quality.epic_builder import split_frame
    from model_training.lib.training.final_fit import fit_final
    from model_training.lib.training.protocol import MIN_SELECTION_ROWS
    from tests.conftest import make_xor_frame

    _, schema, spec, _ = xor_setup
    parts = split_frame(make_xor_frame(3000, seed=3), seed=0, stratify="label")
    plan = build_plan(spec, schema, parts["train"])
    options = conf_params("tuning", {"ensemble": {"enabled": False}})
    # 100 s into a run whose selection is due at 200 s: 100 s left
    tight = Budget(
        time_s=1000.0, started=time.time() - 100, checkpoints={"selection": 0.2}
    )
    kept: dict = {}
    result = select_model(
        plan,
        parts["train"],
        parts["validation"],
        _tuned_forest(1000.0),
        {},
        {},
        options,
        0,
        budget=tight,
        keep_oof=kept,
    )
    protocol = result["protocol"]
    assert protocol["judged_rows"] == MIN_SELECTION_ROWS == protocol["max_rows"]
    assert protocol["rows"] > MIN_SELECTION_ROWS
    assert "seeded sample of 2,000" in result["run_budget"]["notes"][0]
    # the refit on every row, projected from the trial (1,000 s for 2 x 1,800
    # row-fits), and what follows it, are kept: the selection was due at once
    spent = result["run_budget"]
    assert spent["projected_refit_s"] == pytest.approx(
        1000 / 3600 * protocol["rows"], abs=0.1
    )
    assert spent["reserved_s"] > tight.time_s and spent["selection_due_s"] == 0
    _, info = fit_final(
        plan,
        parts["train"],
        parts["validation"],
        result,
        options,
        0,
        budget=tight,
        selection_oof=kept.get("oof"),
    )
    assert info["out_of_fold_from"] == "the selection's folds (no refit)"
    roomy = Budget(time_s=1e7, started=time.time(), checkpoints={"selection": 0.9})
    free = select_model(
        plan,
        parts["train"],
        parts["validation"],
        _tuned_forest(0.5),
        {},
        {},
        options,
        0,
        budget=roomy,
    )
    assert free["protocol"]["judged_rows"] == free["protocol"]["rows"]
    assert not free["run_budget"]["bound"] and not free["run_budget"]["notes"]
    assert free["run_budget"]["reserved_s"] < 20


@pytest.mark.parametrize("max_rows", [100_000, 150])
def test_the_validation_check_fitted_beside_the_folds_is_a_fit_on_train(
    xor_setup, max_rows, monkeypatch
):
    """The check runs as one more fold of train + validation, in the folds'
    worker batches; its scores are those of the configuration fitted on the
    training rows (at most tuning.max_rows of them) and scored on validation,
    as when it was fitted on its own."""
    from model_training.lib.core.frames import split_xy
    from model_training.lib.core.metrics import compute_metrics
    from model_training.lib.problems import get_problem
    from model_training.lib.training.configs import config_fit_params, pipeline_for
    from model_training.lib.training.protocol import capped_rows

    parts, _, _, plan = xor_setup
    options = conf_params("tuning", {"max_rows": max_rows})
    params = {"n_estimators": 20, "max_depth": 6, "min_samples_leaf": 1}
    tuning = {
        "models": [
            {
                "model": "random_forest",
                "status": "ok",
                "params": params,
                "metrics": {"cv_mean": 0.9},
            }
        ]
    }
    from model_training.lib.training import selection

    batches = []
    original = selection.fold_predictions

    def counted(pipeline, x, y, fits, *args, **kwargs):
        batches.append(len(fits))
        return original(pipeline, x, y, fits, *args, **kwargs)

    monkeypatch.setattr(selection, "fold_predictions", counted)
    result = select_model(
        plan, parts["train"], parts["validation"], tuning, {}, {}, options, 0
    )
    # one batch: the nine folds (3 x 3 repeats) and the check beside them
    assert batches == [9 + 1]
    row = result["models"][0]
    config = {"model": "random_forest", "params": params, "imbalance": "none"}
    x_train, y_train = split_xy(parts["train"], plan)
    x_valid, y_valid = split_xy(parts["validation"], plan)
    for y, x, name in ((y_train, x_train, "train"), (y_valid, x_valid, "valid")):
        keep = capped_rows(y, plan, 0, max_rows)
        if keep is not None:
            if name == "train":
                x_train, y_train = x[keep], y[keep]
            else:
                x_valid, y_valid = x[keep], y[keep]
    problem = get_problem(plan.spec.problem_type)
    model = problem.fit(
        pipeline_for(plan, config, options, 0),
        x_train,
        y_train,
        config_fit_params(plan, config, y_train),
    )
    expected = compute_metrics(
        plan.spec.metric_names,
        y_valid,
        *problem.evaluation_predictions(model, x_valid, y_valid, plan),
        plan.metric_context,
    )
    assert row["validation_metrics"] == pytest.approx(expected)
