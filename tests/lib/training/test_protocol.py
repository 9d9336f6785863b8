"""The selection protocol: the corrected standard error and the
one-standard-error rule on the fold-by-fold difference."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.training.protocol import (
    candidate_refit_seconds,
    corrected_standard_error,
    judge_seconds,
    judging_order,
    one_standard_error_choice,
    refit_seconds,
)


def _contender(model, folds, interpretability, cost_class=2, members=None):
    row = {
        "model": model,
        "cv_mean": float(np.mean(folds)),
        "cv_se": corrected_standard_error(folds, 400, 100),
        "cv_fold_scores": list(folds),
        "interpretability": interpretability,
        "cost_class": cost_class,
    }
    return {**row, "members": members} if members else row


def test_the_simpler_model_within_one_standard_error_of_the_difference_wins():
    forest = _contender("random_forest", [0.80, 0.84, 0.76, 0.82, 0.78], 2)
    # a shortfall that varies from fold to fold: noise
    logistic = _contender("logistic_regression", [0.81, 0.80, 0.77, 0.80, 0.77], 5)
    chosen, rule = one_standard_error_choice([forest, logistic], True, 400, 100)
    assert chosen is logistic and rule.startswith("one-standard-error rule")
    assert logistic["shortfall_vs_best"] == pytest.approx(0.01)
    # the same mean shortfall, but on every fold alike: a real difference
    steady = _contender("logistic_regression", [0.79, 0.83, 0.75, 0.81, 0.77], 5)
    chosen, rule = one_standard_error_choice([forest, steady], True, 400, 100)
    assert chosen is forest and "best cross-validated mean" in rule
    assert steady["shortfall_se"] == pytest.approx(0.0, abs=1e-12)


def test_only_a_materially_simpler_model_is_preferred_within_noise():
    best = [0.80, 0.84, 0.76, 0.82, 0.78]
    close = [0.81, 0.80, 0.77, 0.80, 0.77]
    boosted = _contender("catboost", best, 2, cost_class=2)
    # one cost class cheaper is not simpler: the best mean wins
    forest = _contender("random_forest", best, 2, cost_class=3)
    lighter = _contender("catboost", close, 2, cost_class=2)
    chosen, rule = one_standard_error_choice([forest, lighter], True, 400, 100)
    assert chosen is forest and "no materially simpler contender" in rule
    # two classes cheaper is
    svm = _contender("svm_rbf", best, 2, cost_class=4)
    chosen, rule = one_standard_error_choice([svm, lighter], True, 400, 100)
    assert chosen is lighter and "cost class 2 against 4" in rule
    # one model is simpler than an ensemble; among those within noise the
    # cheapest class, then the best mean
    ensemble = _contender(
        "ensemble", best, 1, cost_class=None, members=[{"model": "a"}, {"model": "b"}]
    )
    forest_close = _contender("random_forest", close, 2, cost_class=3)
    worse = _contender("catboost", [v - 0.002 for v in close], 2, cost_class=2)
    chosen, rule = one_standard_error_choice(
        [ensemble, forest_close, lighter, worse], True, 400, 100
    )
    assert chosen is lighter and "one model against an ensemble of 2" in rule
    assert one_standard_error_choice([boosted, ensemble], True, 400, 100)[0] is boosted
    # a transparent model is, when the spec puts interpretability high
    logistic = _contender("logistic_regression", close, 5, cost_class=1)
    forest_best = _contender("random_forest", best, 2, cost_class=2)
    assert (
        one_standard_error_choice([forest_best, logistic], True, 400, 100)[0]
        is logistic
    )
    low = one_standard_error_choice(
        [forest_best, logistic], True, 400, 100, prefer_transparent=False
    )
    assert low[0] is forest_best


def test_the_choice_does_not_depend_on_measured_times():
    """Fit times recorded with the contenders (a busy machine's or a quiet
    one's) do not enter the rule."""
    best = [0.80, 0.84, 0.76, 0.82, 0.78]
    close = [0.81, 0.80, 0.77, 0.80, 0.77]
    for seconds in (0.01, 1.0, 100.0):
        forest = {**_contender("random_forest", best, 2, 3), "cv_fit_time_s": 1.0}
        boosted = {**_contender("catboost", close, 2, 2), "cv_fit_time_s": seconds}
        chosen, _ = one_standard_error_choice([forest, boosted], True, 400, 100)
        assert chosen is forest


def test_lower_is_better_metrics_use_the_rule_the_other_way():
    boosted = _contender("catboost", [0.40, 0.60, 0.45, 0.55, 0.50], 2)
    ridge = _contender("ridge", [0.50, 0.52, 0.49, 0.55, 0.52], 5)
    worse = _contender("lasso", [0.50, 0.70, 0.55, 0.65, 0.60], 5)
    assert one_standard_error_choice([boosted, ridge], False, 400, 100)[0] is ridge
    assert one_standard_error_choice([boosted, worse], False, 400, 100)[0] is boosted


def test_the_corrected_standard_error_is_wider_than_the_naive_one():
    scores = [0.80, 0.82, 0.78, 0.81, 0.79]
    naive = np.std(scores, ddof=1) / np.sqrt(5)
    corrected = corrected_standard_error(scores, n_train=400, n_test=100)
    assert corrected == pytest.approx(np.std(scores, ddof=1) * np.sqrt(1 / 5 + 1 / 4))
    assert corrected > naive
    assert np.isnan(corrected_standard_error([0.8], 400, 100))


def test_capped_splits_cut_the_folds_from_a_seeded_sample(xor_setup):
    import polars as pl

    from model_training.lib.algorithms.cv import order_for_cv
    from model_training.lib.core.frames import split_xy
    from model_training.lib.training.protocol import capped_splits

    parts, _, _, plan = xor_setup
    frame = order_for_cv(pl.concat([parts["train"], parts["validation"]]), plan)
    _, y = split_xy(frame, plan)
    full = capped_splits(frame, y, plan, 0, None)
    assert sorted(np.concatenate([v for _, v in full]).tolist()) == list(range(len(y)))
    capped = capped_splits(frame, y, plan, 0, 120)
    held = np.concatenate([v for _, v in capped])
    assert len(held) == 120 and len(set(held.tolist())) == 120  # a partition of 120
    for fit, valid in capped:
        assert not set(fit.tolist()) & set(valid.tolist())
        assert fit.max() < len(y) and valid.max() < len(y)  # positions in frame
    again = capped_splits(frame, y, plan, 0, 120)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(capped, again, strict=True))
    # class shares are kept
    assert abs((y[held] == "yes").mean() - (y == "yes").mean()) < 0.02


def test_selection_and_calibration_share_capped_folds_and_the_refit_uses_every_row(
    xor_setup,
):
    from model_training.lib.training.final_fit import fit_final
    from model_training.lib.training.selection import select_model
    from tests.conftest import conf_params

    parts, _, _, plan = xor_setup
    options = conf_params("tuning", {"storage": None, "max_rows": 150})
    tuning = {
        "models": [
            {
                "model": "random_forest",
                "status": "ok",
                "params": {"n_estimators": 30, "max_depth": 6},
                "metrics": {"cv_mean": 0.9},
            }
        ]
    }
    kept: dict = {}
    selection = select_model(
        plan,
        parts["train"],
        parts["validation"],
        tuning,
        {},
        {},
        options,
        0,
        keep_oof=kept,
    )
    assert len(kept["oof"]["rows"]) == 150
    _, info = fit_final(
        plan,
        parts["train"],
        parts["validation"],
        selection,
        options,
        0,
        selection_oof=kept["oof"],
    )
    assert info["out_of_fold_from"] == "the selection's folds (no refit)"
    assert info["n_rows"] == parts["train"].height + parts["validation"].height


def test_judging_is_projected_from_the_best_trial_scaled_to_the_folds_and_rows():
    tuning = {"cross_validation": {"n_rows": 1000, "n_splits": 5}}
    entry = {
        "metrics": {"cv_mean": 0.8},
        "children": [
            {"state": "COMPLETE", "cv_mean": 0.7, "duration_s": 100.0},
            {"state": "COMPLETE", "cv_mean": 0.8, "duration_s": 10.0},
        ],
    }
    # the best trial fitted 5 folds of 800 rows (4,000 row-fits) in 10 s; 15
    # folds of 2,000 rows and the validation-check fit are 30,000 row-fits
    assert judge_seconds(entry, tuning, 15, 2000) == pytest.approx(75.0)
    assert judge_seconds({**entry, "children": []}, tuning, 15, 2000) is None
    assert judge_seconds(entry, {}, 15, 2000) is None
    # trials on a 500-row subsample: each row cost twice as much
    sampled = {**entry, "tuned_rows": 500}
    assert judge_seconds(sampled, tuning, 15, 2000) == pytest.approx(150.0)
    # boosted trees carry the learned iterations, scaled to the refit's rows
    # (at most doubled): the judged configuration costs that much more
    boosted = {
        **entry,
        "learned_iterations": {"per_fold": [100] * 5, "inner_rows": 700},
    }
    assert judge_seconds(boosted, tuning, 15, 2000, 1050) == pytest.approx(112.5)
    assert judge_seconds(boosted, tuning, 15, 2000, 10**6) == pytest.approx(150.0)


def test_the_refit_is_projected_on_every_row_with_the_carried_iterations():
    tuning = {"cross_validation": {"n_rows": 1000, "n_splits": 5}}
    cheap = {
        "status": "ok",
        "metrics": {"cv_mean": 0.8},
        "children": [{"state": "COMPLETE", "cv_mean": 0.8, "duration_s": 1.0}],
    }
    costly = {
        **cheap,
        "tuned_rows": 100,
        "children": [{"state": "COMPLETE", "cv_mean": 0.8, "duration_s": 4.0}],
        "learned_iterations": {"per_fold": [50] * 5, "inner_rows": 50},
    }
    # 4 s for 4 x 100 row-fits: 0.01 s a row, iterations doubled, 8,000 rows
    assert refit_seconds(costly, tuning, 8000) == pytest.approx(160.0)
    assert refit_seconds(cheap, tuning, 8000) == pytest.approx(2.0)
    # a forest whose trials fitted 100 of its 300 trees costs three times more
    forest = {
        **cheap,
        "trial_trees": {"param": "n_estimators", "trials": 100, "configuration": 300},
    }
    assert refit_seconds(forest, tuning, 8000) == pytest.approx(6.0)
    assert judge_seconds(forest, tuning, 5, 1000) == pytest.approx(3.75)
    assert refit_seconds({**cheap, "status": "failed"}, tuning, 8000) is None
    assert refit_seconds(None, tuning, 8000) is None


def test_before_tuning_the_refit_is_projected_from_the_shortlisted_candidates():
    candidates = {
        "rows": {"train": 600, "validation": 200},
        "models": [
            {"name": "lr", "status": "ok", "fit_time_s": 1.0, "fitted_rows": 600},
            {"name": "gbm", "status": "ok", "fit_time_s": 3.0, "fitted_rows": 300},
            {"name": "svm", "status": "ok", "fit_time_s": 99.0, "fitted_rows": 600},
        ],
    }
    # gbm: 3 s on 300 rows, 800 rows to refit (svm is not shortlisted)
    assert candidate_refit_seconds(candidates, ["lr", "gbm"]) == pytest.approx(8.0)
    assert candidate_refit_seconds(candidates, ["lr"]) == pytest.approx(800 / 600)
    assert candidate_refit_seconds({}, ["lr"]) is None


def test_the_selection_judges_the_best_tuned_model_first():
    def entry(model, mean, status="ok"):
        return {"model": model, "status": status, "metrics": {"cv_mean": mean}}

    tuned = [
        entry("logistic_regression", 0.893),
        entry("svm_rbf", None, "failed"),
        entry("lightgbm", 0.902),
        entry("catboost", 0.898),
    ]
    order = [e["model"] for e in judging_order(tuned, greater_is_better=True)]
    assert order == ["lightgbm", "catboost", "logistic_regression", "svm_rbf"]
    losses = [entry("ridge", 3.1), entry("lasso", 2.9), entry("mlp", None, "failed")]
    order = [e["model"] for e in judging_order(losses, greater_is_better=False)]
    assert order == ["lasso", "ridge", "mlp"]
