"""On a validation split of a few dozen rows, candidates are ranked by one
k-fold cross-validation on train + validation, not by the split alone."""

from __future__ import annotations

import numpy as np

from model_training.lib.training.candidates import _summarize, train_candidates
from model_training.lib.training.shortlist_cv import (
    SMALL_CLASS_ROWS,
    SMALL_VALIDATION_ROWS,
    small_validation,
)
from tests.lib.training.test_candidates import OPTIONS, _baselines, _entry


def test_a_validation_split_is_small_by_rows_or_by_its_rarest_class(xor_setup):
    plan = xor_setup[3]
    few = np.array(["yes", "no"] * 20)
    assert "40 rows" in small_validation(plan, few)
    rare = np.array(["no"] * 300 + ["yes"] * (SMALL_CLASS_ROWS - 1))
    assert f"{SMALL_CLASS_ROWS - 1} rows of class 'yes'" in small_validation(plan, rare)
    enough = np.array(["no"] * 300 + ["yes"] * SMALL_CLASS_ROWS)
    assert len(enough) >= SMALL_VALIDATION_ROWS
    assert small_validation(plan, enough) is None
    # without a target there is no validation score to doubt
    unsupervised = plan.model_copy(
        update={"spec": plan.spec.model_copy(update={"problem_type": "clustering"})}
    )
    assert small_validation(unsupervised, few) is None


def test_the_shortlist_follows_cross_validation_when_validation_is_small(xor_setup):
    """Validation (60 rows) ranks LightGBM first; the folds of train +
    validation rank CatBoost and the forest ahead: they are tuned. A failed
    cross-validation (NaN) ranks last."""
    plan = xor_setup[3]  # top_k 2

    def entry(name, valid, cv):
        return {**_entry(name, valid, "tie"), "cv": {"mean": cv}}

    entries = [
        entry("lightgbm", 0.86, 0.73),
        entry("catboost", 0.66, 0.80),
        entry("random_forest", 0.54, 0.79),
        entry("svm_rbf", 0.70, float("nan")),
    ]
    by_validation = _summarize(plan, [dict(e) for e in entries], _baselines())
    assert by_validation["shortlist"] == ["lightgbm", "svm_rbf"]
    reason = "validation has 60 rows (fewer than 100)"
    by_cv = _summarize(plan, entries, _baselines(), reason)
    assert by_cv["shortlist"] == ["catboost", "random_forest"]
    assert [e["name"] for e in sorted(entries, key=lambda e: e["rank"])][-1] == (
        "svm_rbf"
    )
    assert (
        f"ranked by cross-validation on train + validation: {reason}"
        in (by_cv["shortlist_rule"])
    )


def test_candidates_on_a_small_validation_split_are_cross_validated(xor_setup):
    from model_training.lib.training.baseline import fit_baselines

    parts, _, _, plan = xor_setup
    assert parts["validation"].height < SMALL_VALIDATION_ROWS
    options = OPTIONS.model_copy()
    plan = plan.model_copy(
        update={
            "spec": plan.spec.model_copy(
                update={"algorithms": ["logistic_regression", "random_forest"]}
            )
        }
    )
    baselines, _ = fit_baselines(plan, parts["train"], parts["validation"], 0)
    results, _ = train_candidates(
        plan, parts["train"], parts["validation"], baselines, options, 0
    )
    folds = plan.spec.cross_validation.n_splits
    for entry in results["models"]:
        assert entry["status"] == "ok"
        assert len(entry["cv"]["folds"]) == folds
        assert entry["cv"]["mean"] == np.mean(entry["cv"]["folds"])
        assert entry["cv"]["standard_error"] > 0
    # XOR: the forest is ahead of the linear model in every sense
    forest, linear = (
        next(e for e in results["models"] if e["name"] == n)
        for n in ("random_forest", "logistic_regression")
    )
    assert forest["cv"]["mean"] > linear["cv"]["mean"] + 0.1
    assert forest["rank"] == 1
    assert "ranked by cross-validation" in results["shortlist_rule"]


def test_when_the_budget_cannot_afford_every_fold_validation_ranks(xor_setup):
    """Cheapest first, each candidate is cross-validated while the candidates'
    share of the run budget affords its projected folds; when one's cannot
    be (CatBoost at 6 s a fit on 400 features), the ranking stays on
    validation for all, rather than mixing the two scores."""
    import time
    from functools import partial

    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.core.budget import Budget
    from model_training.lib.problems import get_problem
    from model_training.lib.training.shortlist_cv import rank_by_cv

    parts, _, _, plan = xor_setup
    pipelines = {
        name: (
            build_pipeline(plan, algorithm("classification", name), params, 0),
            "none",
        )
        for name, params in (
            ("logistic_regression", {}),
            ("random_forest", {"n_estimators": 10}),
        )
    }
    entries = [
        {**_entry("random_forest", 0.9, "tie"), "fit_time_s": 1000.0},
        {**_entry("logistic_regression", 0.6, "tie"), "fit_time_s": 0.01},
    ]
    # 1,000 s from now, candidates due at 20 %: 200 s left, far from 3,000
    budget = Budget(time_s=1000.0, started=time.time(), checkpoints={"candidates": 0.2})
    rank = partial(
        rank_by_cv,
        plan,
        get_problem(plan.spec.problem_type),
        entries,
        pipelines,
        parts["train"],
        parts["validation"],
        0,
    )
    ranked_by = rank(budget, "validation has 60 rows (fewer than 100)")
    assert ranked_by is None
    forest, linear = entries
    assert (
        "random_forest not cross-validated (projected at 3000 s)"
        in (forest["cv"]["skipped"])
    )
    assert len(linear["cv"]["folds"]) == 3
    # with room for both, both are cross-validated and the CV ranks
    roomy = Budget(time_s=1e9, started=time.time(), checkpoints={"candidates": 0.2})
    entries[0]["fit_time_s"] = 0.01
    assert rank(roomy, "small") == "small"
    assert all(len(e["cv"]["folds"]) == 3 for e in entries)


def test_a_candidate_fitted_on_a_subsample_is_not_cross_validated_on_every_row(
    xor_setup,
):
    """A row-guarded candidate's fit time says nothing of a fit on every row
    (a forest on 600,000 rows has no guard against that), so it is not
    cross-validated, and validation ranks all; without a budget too."""
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from model_training.lib.core.budget import unlimited
    from model_training.lib.problems import get_problem
    from model_training.lib.training.shortlist_cv import rank_by_cv

    parts, _, _, plan = xor_setup
    pipeline = build_pipeline(plan, algorithm("classification", "svm_rbf"), {}, 0)
    entries = [
        {**_entry("svm_rbf", 0.9, "tie"), "fit_time_s": 0.01, "subsampled_to": 100}
    ]
    ranked_by = rank_by_cv(
        plan, get_problem(plan.spec.problem_type), entries,
        {"svm_rbf": (pipeline, "none")}, parts["train"], parts["validation"], 0,
        unlimited(), "small",
    )  # fmt: skip
    assert ranked_by is None
    assert "fitted on a 100-row subsample" in entries[0]["cv"]["skipped"]
