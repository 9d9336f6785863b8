"""The post-hoc ensemble as a contender of the selection, and as the final model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from model_training.lib.algorithms.ensemble import is_ensemble
from model_training.lib.core.plan import build_plan
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.epic_builder import infer_schema, split_frame
from model_training.lib.training.final_fit import fit_final
from model_training.lib.training.selection import select_model
from tests.conftest import conf_params, with_params


@pytest.fixture
def additive():
    """y = a linear trend in ``a`` plus a step in ``b``: a linear model misses
    the step, a shallow forest renders the trend in coarse steps; their errors
    are complementary, so their average beats both."""
    rng = np.random.default_rng(0)
    n = 500
    a, b = rng.random(n), rng.random(n)
    y = 3 * a + 1.0 * (b > 0.5) + rng.normal(0, 0.15, n)
    frame = pl.DataFrame({"row_id": np.arange(n), "a": a, "b": b, "y": y})
    parts = split_frame(frame, seed=0)
    schema = infer_schema(frame, "additive", target="y", roles={"row_id": "identifier"})
    spec = ModelingSpec(
        epic_id="additive",
        problem_type="regression",
        target="y",
        primary_metric="root_mean_squared_error",
        id_columns=["row_id"],
        cross_validation={"n_splits": 3},
    )
    return parts, build_plan(spec, schema, parts["train"])


def _tuned(*configs):
    return {
        "models": [
            {"model": m, "status": "ok", "params": p, "metrics": {"cv_mean": 0.0}}
            for m, p in configs
        ]
    }


LINEAR = ("linear_regression", {})
SHALLOW_FOREST = ("random_forest", {"n_estimators": 30, "max_depth": 3})


def test_an_ensemble_that_beats_its_members_under_the_same_folds_is_chosen(additive):
    parts, plan = additive
    options = conf_params("tuning", env="test")
    result = select_model(
        plan,
        parts["train"],
        parts["validation"],
        _tuned(LINEAR, SHALLOW_FOREST),
        {},
        {},
        options,
        0,
    )
    linear, forest, ensemble = result["models"]
    assert ensemble["model"] == "ensemble" and ensemble["kept"]
    assert {m["model"] for m in ensemble["members"]} == {
        "linear_regression",
        "random_forest",
    }
    assert sum(m["weight"] for m in ensemble["members"]) == pytest.approx(1.0)
    # the same folds for all: fold by fold, the ensemble is judged like its members
    assert len(ensemble["cv_fold_scores"]) == len(linear["cv_fold_scores"])
    assert ensemble["cv_mean"] < min(linear["cv_mean"], forest["cv_mean"])  # RMSE
    assert result["selected"]["model"] == "ensemble"
    assert result["selected"]["members"] == ensemble["members"]

    model, info = fit_final(
        plan, parts["train"], parts["validation"], result, options, 0
    )
    assert is_ensemble(model) and info["model"] == "ensemble"
    x = parts["test"].select(["a", "b"])
    assert np.isfinite(model.predict(x)).all()


def test_an_ensemble_that_does_not_beat_the_best_member_is_not_a_contender(
    xor_setup,
):
    """On the XOR data a logistic regression learns nothing a forest does not
    do better: greedy selection keeps the forest alone, or the ensemble's
    cross-validated score does not beat it; either way the forest is chosen."""
    parts, _, _, plan = xor_setup
    options = conf_params("tuning", env="test")
    result = select_model(
        plan,
        parts["train"],
        parts["validation"],
        _tuned(
            ("logistic_regression", {"C": 1.0}),
            ("random_forest", {"n_estimators": 60, "max_depth": 8}),
        ),
        {},
        {},
        options,
        0,
    )
    assert result["selected"]["model"] == "random_forest"
    for row in result["models"]:
        if row["model"] == "ensemble":
            assert not row["kept"] and "does not beat" in row["reason"]


def test_ensembling_can_be_switched_off(additive):
    parts, plan = additive
    options = conf_params("tuning", env="test")
    options = with_params(
        options, ensemble=options.ensemble.model_copy(update={"enabled": False})
    )
    result = select_model(
        plan,
        parts["train"],
        parts["validation"],
        _tuned(LINEAR, SHALLOW_FOREST),
        {},
        {},
        options,
        0,
    )
    assert [m["model"] for m in result["models"]] == [
        "linear_regression",
        "random_forest",
    ]


def test_forecasts_are_combined_into_one_forecaster():
    """Statistical forecasters judged on the same walk-forward folds get a
    greedy combination judged on those folds too; as a final model it is one
    forecaster whose members share the history."""
    from model_training.lib.algorithms.ensemble import CombinedForecaster
    from model_training.lib.problems.walk_forward import forecaster_of
    from tests.lib.algorithms.test_forecasters import plan_for, series

    frame = series(120)
    plan = plan_for(frame, horizon=6)
    train, validation = frame[:96], frame[96:]
    options = conf_params("tuning", env="test")
    result = select_model(
        plan,
        train,
        validation,
        _tuned(("auto_ets", {}), ("auto_theta", {}), ("mstl", {})),
        {},
        {},
        options,
        0,
    )
    rows = {r["model"]: r for r in result["models"]}
    ensemble = rows["ensemble"]
    assert len(ensemble["members"]) >= 2
    assert len(ensemble["cv_fold_scores"]) == len(rows["auto_ets"]["cv_fold_scores"])
    assert np.isfinite(ensemble["validation_metrics"][plan.spec.primary_metric])
    best = min(r["cv_mean"] for m, r in rows.items() if m != "ensemble")
    assert ensemble["kept"] == (ensemble["cv_mean"] < best)  # MASE: lower is better
    chosen = {
        "selected": {
            "model": "ensemble",
            "params": {},
            "imbalance": "none",
            "members": ensemble["members"],
        }
    }
    model, info = fit_final(plan, train, validation, chosen, options, 0)
    combined = forecaster_of(model)
    assert isinstance(combined, CombinedForecaster)
    assert info["members"] == ensemble["members"]
    future = series(126)[120:].select("month")  # after train + validation
    assert np.isfinite(model.predict(future)).all()


def test_a_fitted_ensemble_survives_the_signed_file_and_keeps_its_preprocessing(
    additive, tmp_path
):
    """What the package and serving rely on: the ensemble pickles through the
    signed joblib file and predicts the same; its preprocessing is kept per
    member."""
    from model_training.datasets import SignedJoblibDataset
    from model_training.lib.stage.reporting import _preprocessing

    parts, plan = additive
    options = conf_params("tuning", env="test")
    selection = select_model(
        plan,
        parts["train"],
        parts["validation"],
        _tuned(LINEAR, SHALLOW_FOREST),
        {},
        {},
        options,
        0,
    )
    model, _ = fit_final(
        plan, parts["train"], parts["validation"], selection, options, 0
    )
    dataset = SignedJoblibDataset(filepath=str(tmp_path / "final_model.joblib"))
    dataset.save(model)
    loaded = dataset.load()
    x = parts["test"].select(["a", "b"])
    assert np.array_equal(loaded.predict(x), model.predict(x))
    steps = _preprocessing(loaded)
    assert sorted(steps) == ["1_linear_regression", "2_random_forest"]
    for pipeline in steps.values():
        assert pipeline.transform(x).shape[0] == x.height


def test_candidates_join_the_pool_unless_too_slow_or_no_better_than_trivial(
    additive, caplog
):
    parts, plan = additive
    options = conf_params("tuning", env="test")

    def candidate(name, seconds, versus="better"):
        return {
            "name": name,
            "status": "ok",
            "imbalance": "none",
            "fit_time_s": seconds,
            "versus_trivial_baseline": versus,
        }

    candidates = {
        "models": [
            candidate("random_forest", 0.05),
            candidate("ridge", 100.0),  # 100 s x the selection folds: too slow
            candidate("lasso", 0.01, versus="tie"),  # learned nothing
        ]
    }
    with caplog.at_level("INFO"):
        result = select_model(
            plan,
            parts["train"],
            parts["validation"],
            _tuned(LINEAR),
            candidates,
            {"random_forest": {"n_estimators": 30, "max_depth": 3}},
            options,
            0,
        )
    ensemble = next(r for r in result["models"] if r["model"] == "ensemble")
    sources = {m["model"]: m["source"] for m in ensemble["members"]}
    assert sources == {"linear_regression": "tuned", "random_forest": "candidate"}
    assert "candidate ridge left out" in caplog.text


def test_an_ensembles_learning_curve_is_its_largest_members(additive):
    from model_training.lib.stage.assessments import compute_learning_curve

    parts, plan = additive
    selection = {
        "selected": {
            "model": "ensemble",
            "params": {},
            "imbalance": "none",
            "members": [
                {
                    **dict(zip(("model", "params"), LINEAR, strict=True)),
                    "imbalance": "none",
                    "weight": 0.3,
                },
                {
                    **dict(zip(("model", "params"), SHALLOW_FOREST, strict=True)),
                    "imbalance": "none",
                    "weight": 0.7,
                },
            ],
        }
    }
    curve = compute_learning_curve(
        plan.model_dump(mode="json"),
        parts["train"],
        parts["validation"],
        selection,
        conf_params("tuning", env="test"),
        conf_params("evaluation", env="test"),
        0,
    )
    assert curve["points"], curve
    assert curve["note"].startswith(
        "curve of the ensemble's largest member, random_forest"
    )


def test_an_ensemble_whose_refit_the_budget_cannot_keep_is_not_a_contender():
    """Its members' refits (a tuned one from its trial, a candidate from its
    default fit) need more than the reserve kept for one model: with the
    selection out of time it is reported, not chosen."""
    import time

    from model_training.lib.core.budget import Budget
    from model_training.lib.training.ensembling import (
        ensemble_refit_seconds,
        unaffordable_ensemble,
    )

    tuning = {
        "cross_validation": {"n_rows": 1000, "n_splits": 5},
        "models": [
            {
                "model": "catboost",
                "status": "ok",
                "metrics": {"cv_mean": 0.8},
                "children": [{"state": "COMPLETE", "cv_mean": 0.8, "duration_s": 40.0}],
            }
        ],
    }
    candidates = {
        "models": [{"name": "svm_rbf", "fit_time_s": 5.0, "fitted_rows": 500}]
    }

    def ensemble():
        return {
            "kept": True,
            "members": [
                {"model": "catboost", "source": "tuned"},
                {"model": "svm_rbf", "source": "candidate"},
            ],
        }

    # catboost: 40 s for 4 x 1,000 row-fits, 2,000 rows: 20 s; svm: 20 s
    assert ensemble_refit_seconds(ensemble(), tuning, candidates, 2000) == (
        pytest.approx(40.0)
    )
    checkpoints = {"selection": 0.8}
    late = Budget(time_s=100.0, started=time.time() - 79.0, checkpoints=checkpoints)
    late = late.reserving(20.0)  # one model's refit kept: 55 s
    out = ensemble()
    note = unaffordable_ensemble(out, tuning, candidates, 2000, late)
    assert note and not out["kept"] and "2 members" in out["reason"]
    roomy = Budget(time_s=1e6, started=time.time(), checkpoints=checkpoints)
    out = ensemble()
    assert unaffordable_ensemble(out, tuning, candidates, 2000, roomy) is None
    assert out["kept"]
    # 50 s before the selection's checkpoint (less than the 78 s more the
    # ensemble reserves, more than any stall), but the ensemble's larger reserve
    # (95 s) still fits in the 20 % after it: nothing moves, it stays
    near = Budget(time_s=1000.0, started=time.time() - 750.0, checkpoints=checkpoints)
    out = ensemble()
    assert (
        unaffordable_ensemble(out, tuning, candidates, 2000, near.reserving(1.0))
        is None
    )
    assert out["kept"]


def test_the_learning_curve_leaves_the_final_refit_and_evaluation_their_time(
    additive,
):
    """The curve may run before the final fit: it is skipped when its fits
    and the time the selection kept for the refit and what follows it do not
    fit before the evaluation checkpoint."""
    import time

    from model_training.lib.core.budget import Budget
    from model_training.lib.stage.assessments import compute_learning_curve

    parts, plan = additive
    config = {
        **dict(zip(("model", "params"), LINEAR, strict=True)),
        "imbalance": "none",
    }
    selection = {
        "selected": config,
        "models": [{"model": config["model"], "cv_fit_time_s": 0.001}],
        "protocol": {"judged_rows": 100},
        "run_budget": {"projected_refit_s": 60.0},
    }
    # 100 s before the evaluation checkpoint: the kept 135 s do not fit
    budget = Budget(
        time_s=1000.0, started=time.time() - 850.0, checkpoints={"evaluation": 0.95}
    )

    def curve(chosen):
        return compute_learning_curve(
            plan.model_dump(mode="json"),
            parts["train"],
            parts["validation"],
            chosen,
            conf_params("tuning", env="test"),
            conf_params("evaluation", env="test"),
            0,
            budget,
        )

    skipped = curve(selection)
    assert skipped["points"] == [] and "not computed" in skipped["skipped_by_budget"]
    cheap = {**selection, "run_budget": {"projected_refit_s": 1.0}}
    assert curve(cheap)["points"]


def test_one_candidate_per_family_of_algorithms_joins_the_pool(caplog):
    from model_training.lib.algorithms.registry import algorithm
    from model_training.lib.core.budget import unlimited
    from model_training.lib.training.ensembling import candidate_members

    options = conf_params("tuning", env="test")
    names = ["lightgbm", "catboost", "hist_gradient_boosting", "svm_rbf", "mlp"]
    candidates = {
        "models": [
            {
                "name": name,
                "status": "ok",
                "imbalance": "none",
                "fit_time_s": 0.01,
                "versus_trivial_baseline": "better",
            }
            for name in names
        ]
    }

    def pool(tuned):
        judged = candidate_members(
            candidates,
            {"models": [{"model": m} for m in tuned]},
            {},
            15,
            options,
            unlimited(),
            lambda config: {"config": config},
            lambda name: algorithm("classification", name).kin,
        )
        return [m["config"]["model"] for m in judged]

    with caplog.at_level("INFO"):
        # a tuned CatBoost stands for the gradient-boosted trees
        assert pool(["catboost", "logistic_regression"]) == ["svm_rbf", "mlp"]
    assert (
        "candidate lightgbm left out: catboost, of the same family "
        "(gradient-boosted trees), is in the pool tuned" in caplog.text
    )
    # none tuned: the first of them (cheapest first) stands for the rest
    assert pool(["logistic_regression"]) == ["lightgbm", "svm_rbf", "mlp"]
    # without families every candidate is its own
    assert len(
        candidate_members(
            candidates,
            {"models": []},
            {},
            15,
            options,
            unlimited(),
            lambda config: {"config": config},
        )
    ) == len(names)
