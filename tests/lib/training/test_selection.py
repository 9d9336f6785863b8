"""Selection among tuned models: cross-validation on train + validation, the
one-standard-error rule, validation as a reported check."""

from __future__ import annotations

import polars as pl

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
