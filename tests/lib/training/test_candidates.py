"""Candidates: comparison table, failures recorded, the noise-aware baseline rule."""

from __future__ import annotations

import pytest

from model_training.lib.core.errors import StageStop
from model_training.lib.training.baseline import compare_to, fit_baselines
from model_training.lib.training.candidates import (
    _summarize,
    require_shortlist,
    train_candidates,
)
from tests.conftest import conf_params, with_params

OPTIONS = conf_params(
    "modeling",
    {
        "defaults": {
            "random_forest": {"n_estimators": 30},
            "catboost": {"iterations": 40, "depth": 3},
            "hist_gradient_boosting": {"max_iter": 30},
            "mlp": {"hidden_layer_sizes": [8], "max_iter": 300},
        },
        "row_guard": {"svm_rbf": 100},
        "latency_repeats": 3,
        "throughput_rows": 100,
    },
)


@pytest.fixture
def compared(xor_setup):
    parts, _, _, plan = xor_setup
    baselines, _ = fit_baselines(plan, parts["train"], parts["validation"], 0)
    broken = with_params(
        OPTIONS, defaults={"mlp": {"hidden_layer_sizes": [8], "alpha": -1.0}}
    )
    results, models = train_candidates(
        plan, parts["train"], parts["validation"], baselines, broken, 0
    )
    return plan, baselines, results, models


def test_every_candidate_is_profiled(compared):
    _, _, results, models = compared
    ok = [m for m in results["models"] if m["status"] == "ok"]
    assert {m["name"] for m in ok} == {
        "logistic_regression",
        "random_forest",
        "lightgbm",
        "catboost",
        "hist_gradient_boosting",
        "svm_rbf",
    }
    for entry in ok:
        assert set(entry["latency_ms"]) == {"p50", "p95", "p99"}
        assert (
            entry["fit_time_s"] > 0
            and entry["size_mb"] > 0
            and entry["throughput_rows_per_s"] > 0
        )
        assert entry["peak_memory_mb"] >= 0
        assert "roc_auc" in entry["metrics"] and "expected_cost" in entry["metrics"]
    assert set(models) == {m["name"] for m in ok}


def test_a_crashing_candidate_is_recorded_and_the_rest_go_on(compared):
    _, _, results, _ = compared
    mlp = next(m for m in results["models"] if m["name"] == "mlp")
    assert mlp["status"] == "failed"
    assert "alpha" in mlp["error"]
    assert results["excluded"]["mlp"].startswith("failed: ")
    assert results["summary"]["n_failed"] == 1


def test_row_guard_subsamples(compared):
    _, _, results, _ = compared
    svm = next(m for m in results["models"] if m["name"] == "svm_rbf")
    assert svm["subsampled_to"] == 100


def test_baseline_rule_reads_ties_within_noise(compared):
    plan, baselines, results, _ = compared
    bar = baselines["best"]
    assert bar["standard_error"] >= 0  # 0 for a constant-score baseline (AUC 0.5)
    for entry in results["models"]:
        if entry["status"] != "ok":
            continue
        assert entry["standard_error"] > 0
        assert entry["versus_baseline"] == compare_to(
            bar, entry["metrics"]["roc_auc"], entry["standard_error"]
        )
        assert entry["beats_baseline"] == (entry["versus_baseline"] == "better")
        if entry["versus_baseline"] == "worse":
            assert entry["name"] not in results["shortlist"]
    # an XOR problem: trees beat the linear baseline clearly, the linear candidate does not
    assert "logistic_regression" not in results["shortlist"]
    assert results["shortlist"] and len(results["shortlist"]) <= plan.spec.search.top_k
    assert require_shortlist(results) == results["shortlist"]


def test_compare_to_is_noise_aware():
    bar = {"primary_metric": "roc_auc", "value": 0.80, "standard_error": 0.02}
    assert compare_to(bar, 0.82, 0.02) == "tie"  # 0.02 < 1.96 * sqrt(2) * 0.02
    assert compare_to(bar, 0.90, 0.02) == "better"
    assert compare_to(bar, 0.70, 0.02) == "worse"
    assert compare_to(bar, float("nan"), 0.02) == "worse"
    loss = {
        "primary_metric": "root_mean_squared_error",
        "value": 10.0,
        "standard_error": 0.1,
    }
    assert compare_to(loss, 9.0, 0.1) == "better"  # lower is better
    assert compare_to(loss, 11.0, 0.1) == "worse"
    perfect = {"primary_metric": "f1_macro", "value": 1.0, "standard_error": 0.0}
    assert compare_to(perfect, 0.995, 0.004) == "tie"
    assert compare_to(perfect, 1.0, 0.0) == "tie"


def _entry(name, value, versus, versus_trivial="better"):
    return {
        "name": name,
        "status": "ok",
        "metrics": {"roc_auc": value},
        "versus_baseline": versus,
        "versus_trivial_baseline": versus_trivial,
    }


def _baselines(algorithm="logistic_regression"):
    best = {
        "name": "logistic_regression" if algorithm else "majority_class",
        "primary_metric": "roc_auc",
        "value": 0.99,
        "standard_error": 0.001,
        "trivial": algorithm is None,
        "algorithm": algorithm,
    }
    trivial = {**best, "name": "majority_class", "value": 0.5, "trivial": True}
    return {"best": best, "best_trivial": trivial}


def test_a_tie_with_a_near_perfect_baseline_goes_on(xor_setup):
    plan = xor_setup[3]
    entries = [
        _entry("catboost", 0.985, "tie"),
        _entry("random_forest", 0.97, "worse"),
        _entry("svm_rbf", 0.989, "tie"),
    ]
    results = _summarize(plan, entries, _baselines())
    assert results["shortlist"] == ["svm_rbf", "catboost"]
    assert results["summary"]["n_tied_with_baseline"] == 2


def test_a_candidate_the_budget_cut_short_stays_a_contender(xor_setup):
    """A boosted fit that the candidates' checkpoint ended early scored below
    what its algorithm does (at a million rows, LightGBM stopped at 74 trees
    behind the logistic baseline): it is shortlisted while it beats the trivial
    baselines; one clearly worse than them is not."""
    plan = xor_setup[3]
    entries = [
        _entry("logistic_regression", 0.9956, "tie"),
        {
            **_entry("lightgbm", 0.874, "worse"),
            "cut_short": "ended after 74 iterations",
        },
        {**_entry("catboost", 0.45, "worse", "worse"), "cut_short": "ended after 1"},
        _entry("random_forest", 0.97, "worse"),
    ]
    results = _summarize(plan, entries, _baselines())
    assert results["shortlist"] == ["logistic_regression", "lightgbm"]
    assert "cut short by the time budget" in results["shortlist_rule"]


def test_a_real_model_baseline_ahead_of_every_candidate_is_tuned_itself(xor_setup):
    plan = xor_setup[3]
    plan = plan.model_copy(
        update={
            "spec": plan.spec.model_copy(
                update={
                    "algorithms": ["logistic_regression", "random_forest", "catboost"]
                }
            )
        }
    )
    entries = [
        _entry("catboost", 0.90, "worse"),
        _entry("random_forest", 0.92, "worse"),
        _entry("logistic_regression", 0.80, "worse"),
    ]
    results = _summarize(plan, entries, _baselines())
    # the baseline's algorithm first (it may become the final model), then the
    # best candidate that still beats the trivial baselines (top_k = 2)
    assert results["shortlist"] == ["logistic_regression", "random_forest"]
    assert "tuned as a contender" in results["shortlist_rule"]
    assert require_shortlist(results) == results["shortlist"]


def test_only_models_worse_than_a_trivial_baseline_stop_the_run(xor_setup):
    plan = xor_setup[3]
    entries = [
        _entry("catboost", 0.40, "worse", "worse"),
        _entry("random_forest", 0.42, "worse", "worse"),
    ]
    results = _summarize(plan, entries, _baselines(algorithm=None))
    assert results["shortlist"] == []
    with pytest.raises(StageStop) as caught:
        require_shortlist(results)
    message = str(caught.value)
    assert "clearly worse than the trivial baseline 'majority_class'" in message
    assert "stops before tuning" in message
    assert "- random_forest: roc_auc = 0.4200" in message


def _past_the_checkpoint(xor_setup, monkeypatch, algorithms, options=OPTIONS):
    """The candidates of ``algorithms`` on XOR, every fit after the first one
    given a deadline that has passed when it starts (so the budget binds
    whatever the machine's speed), within a roomy run budget."""
    import time

    from model_training.lib.algorithms import early_stopping
    from model_training.lib.core.budget import Budget
    from model_training.lib.training import candidates

    parts, _, spec, plan = xor_setup
    plan = plan.model_copy(
        update={"spec": spec.model_copy(update={"algorithms": algorithms})}
    )
    real = early_stopping.deadline_fit_params
    monkeypatch.setattr(
        candidates,
        "deadline_fit_params",
        lambda algo, at: real(algo, time.time() - 1.0),
    )
    roomy = Budget(time_s=1e6, started=time.time(), checkpoints={"candidates": 0.5})
    baselines, _ = fit_baselines(plan, parts["train"], parts["validation"], 0)
    return train_candidates(
        plan, parts["train"], parts["validation"], baselines, options, 0, roomy
    )


def test_a_boosted_candidate_past_the_checkpoint_ends_with_the_iterations_it_has(
    xor_setup, monkeypatch
):
    """A single slow boosted fit after the first candidate stops when the
    candidates' checkpoint passes (here it has passed when the fit starts,
    so the budget binds whatever the machine's speed), keeps its iterations
    and is scored; the report says it was cut short."""
    from model_training.lib.algorithms import early_stopping
    from model_training.lib.training import candidates

    real = early_stopping.deadline_fit_params
    results, models = _past_the_checkpoint(
        xor_setup, monkeypatch, ["logistic_regression", "catboost", "lightgbm"]
    )
    entries = {e["name"]: e for e in results["models"]}
    assert "cut_short" not in entries["logistic_regression"]
    for name in ("catboost", "lightgbm"):
        assert entries[name]["status"] == "ok"
        assert "ended after 1 iterations" in entries[name]["cut_short"]
    assert models["catboost"].steps[-1][1].tree_count_ == 1
    assert models["lightgbm"].steps[-1][1].booster_.current_iteration() == 1
    # without a budget nothing stops a fit
    assert real(candidates.algorithm("classification", "catboost"), float("inf")) == (
        {},
        None,
    )


def test_a_forest_candidate_past_the_checkpoint_ends_with_the_trees_it_has(
    xor_setup, monkeypatch
):
    """A random forest candidate of 36,000 rows ran 50 s past the candidates'
    checkpoint: its trees grow in steps, and past the deadline it keeps the
    first step's trees, is scored and is said to be cut short."""
    from model_training.lib.algorithms import forests

    options = with_params(OPTIONS, defaults={"random_forest": {"n_estimators": 60}})
    results, models = _past_the_checkpoint(
        xor_setup, monkeypatch, ["logistic_regression", "random_forest"], options
    )
    forest = next(e for e in results["models"] if e["name"] == "random_forest")
    assert forest["status"] == "ok"
    assert f"ended after {forests.TREES_PER_STEP} trees" in forest["cut_short"]
    assert len(models["random_forest"].steps[-1][1].estimators_) == 25
