"""Successive halving of the trial budget over models."""

from __future__ import annotations

from model_training.lib.training.allocation import first_round_trials, second_round


def _result(model, cv, trials, status="ok"):
    return {
        "model": model,
        "status": status,
        "metrics": {"cv_mean": cv},
        "n_trials": trials,
    }


def test_one_or_two_models_get_their_whole_budget_at_once():
    assert first_round_trials(10, 1) == 10
    assert first_round_trials(10, 2) == 10
    assert first_round_trials(10, 3) == 5
    assert first_round_trials(1, 4) == 1


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
