"""Successive halving of the trial budget over models."""

from __future__ import annotations

import pytest

from model_training.lib.training.allocation import (
    first_round_trials,
    flat_search,
    second_round,
)


def _result(model, cv, trials, status="ok"):
    return {
        "model": model,
        "status": status,
        "metrics": {"cv_mean": cv},
        "n_trials": trials,
    }


def _searched(model, means, best_std, folds=5, pruned=()):
    """A first-round result whose completed trials scored ``means`` (the
    best with fold standard deviation ``best_std``) and pruned ones
    ``pruned`` (partial means)."""
    children = [
        {
            "state": "COMPLETE",
            "cv_mean": m,
            "cv_std": best_std if m == max(means) else 0.5,
            "fold_scores": {f"fold_{i}": m for i in range(folds)},
        }
        for m in means
    ] + [
        {"state": "PRUNED", "cv_mean": None, "partial_cv_mean": p, "cv_std": None}
        for p in pruned
    ]
    return {
        **_result(model, max(means), len(children)),
        "children": children,
    }


def test_one_model_gets_its_whole_budget_at_once_two_or_more_go_in_two_rounds():
    assert first_round_trials(10, 1) == 10
    assert first_round_trials(10, 2) == 5
    assert first_round_trials(10, 3) == 5
    assert first_round_trials(1, 4) == 1


def test_with_two_models_both_go_on_with_their_own_budget():
    """Two rounds of two models spend what one round did: each its n_trials."""
    results = [_result("lightgbm", 0.90, 5), _result("logistic_regression", 0.89, 5)]
    searchable = {"lightgbm": True, "logistic_regression": True}
    totals, record = second_round(results, searchable, 10, greater_is_better=True)
    assert record["kept"] == ["lightgbm", "logistic_regression"]
    assert record["dropped"] == [] and record["flat"] == {}
    assert totals == {"lightgbm": 10, "logistic_regression": 10}


def test_a_flat_search_gives_its_trials_to_the_model_still_finding_differences():
    """The million-row case: the logistic regression's trials all within
    0.0002 ROC-AUC of each other: its second-round trials go to LightGBM,
    which the clock had cut to two trials."""
    flat_lr = _searched(
        "logistic_regression",
        [0.8929, 0.8930, 0.8931, 0.8930],
        0.0022,
        pruned=[0.8925],
    )
    lightgbm = _result("lightgbm", 0.902, 2)
    evidence = flat_search(flat_lr, 0.001)
    assert evidence is not None
    assert evidence["completed_trials"] == 4  # the pruned trial does not count
    assert evidence["span"] == pytest.approx(0.0002)
    assert evidence["limit"] == pytest.approx(0.0008931)
    totals, record = second_round(
        [lightgbm, flat_lr],
        {"lightgbm": True, "logistic_regression": True},
        15,
        greater_is_better=True,
        flat={"logistic_regression": evidence},
    )
    assert record["kept"] == ["lightgbm", "logistic_regression"]
    assert record["flat"] == {"logistic_regression": evidence}
    # 30 trials in all: 7 spent, the other 23 all LightGBM's
    assert totals == {"lightgbm": 2 + 23}
    assert record["total_trials"] == {"lightgbm": 25, "logistic_regression": 5}


def test_what_makes_a_search_flat():
    # the million-row logistic regressions: 0.00017 apart, best 0.893
    large = _searched("lr", [0.89289, 0.89302, 0.89305, 0.89306], 0.00049)
    assert flat_search(large, 0.001) is not None
    assert flat_search(large, 0.0001) is None
    # small data: scores 0.002 apart are not flat at 0.1 % (anes96_vote's
    # CatBoost improved by that much after its fourth trial)
    assert (
        flat_search(_searched("cb", [0.9677, 0.9697, 0.9698, 0.9684], 0.01), 0.001)
        is None
    )
    # lower is better (RMSE): the scale is the score's size
    assert (
        flat_search(_searched("ridge", [55.21, 55.22, 55.23, 55.24], 6.0), 0.001)
        is not None
    )
    # identical scores are flat (an easy problem)
    assert flat_search(_searched("cb", [1.0] * 4, 0.0), 0.001) is not None
    assert flat_search(_searched("km", [0.0] * 4, 0.0), 0.001) is not None
    # too few completed trials (pruned ones do not count), or switched off
    few = _searched("svm", [0.80, 0.80, 0.80], 0.01, pruned=[0.7, 0.7])
    assert flat_search(few, 0.001) is None
    assert flat_search(large, None) is None
    assert flat_search({**large, "status": "failed"}, 0.001) is None


def test_the_leaders_share_what_the_others_did_not_use():
    results = [
        _result("logistic_regression", 0.78, 5),
        _result("catboost", 0.80, 5),
        _result("random_forest", 0.79, 5),
        _result("svm_rbf", 0.70, 5),
    ]
    searchable = dict.fromkeys(
        ["logistic_regression", "catboost", "random_forest", "svm_rbf"], True
    )
    totals, record = second_round(results, searchable, 10, greater_is_better=True)
    assert record["kept"] == ["catboost", "random_forest"]
    assert record["dropped"] == ["logistic_regression", "svm_rbf"]
    # 40 trials in all: 20 spent, 20 left for the two leaders
    assert totals == {"catboost": 15, "random_forest": 15}
    assert sum(record["total_trials"].values()) == 40


def test_lower_is_better_a_failed_model_and_one_with_nothing_to_search():
    results = [
        _result("linear_regression", 3.0, 1),
        _result("lightgbm", 2.5, 5),
        _result("mlp", None, 5, status="failed"),
    ]
    searchable = {"linear_regression": False, "lightgbm": True, "mlp": True}
    totals, record = second_round(results, searchable, 10, greater_is_better=False)
    assert record["kept"] == ["lightgbm", "linear_regression"]
    assert "mlp" in record["dropped"]
    # linear regression has nothing to search: the budget goes to lightgbm
    assert totals == {"lightgbm": 5 + (30 - 11)}
