"""Candidates: comparison table, failures recorded, the baseline-beating rule."""

from __future__ import annotations

import pytest

from model_training.lib.baseline import fit_baselines
from model_training.lib.candidates import require_shortlist, train_candidates
from model_training.lib.errors import StageStop

OPTIONS = {
    "defaults": {
        "random_forest": {"n_estimators": 30},
        "catboost": {"iterations": 40, "depth": 3},
        "hist_gradient_boosting": {"max_iter": 30},
        "mlp": {"hidden_layer_sizes": [8], "max_iter": 300},
    },
    "row_guard": {"svm_rbf": 100},
    "latency_repeats": 3,
    "throughput_rows": 100,
}


@pytest.fixture
def compared(xor_setup):
    parts, _, _, plan = xor_setup
    baselines, _ = fit_baselines(plan, parts["train"], parts["validation"], 0)
    broken = {
        **OPTIONS,
        "defaults": {
            **OPTIONS["defaults"],
            "mlp": {"hidden_layer_sizes": [8], "alpha": -1.0},
        },
    }
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


def test_baseline_beating_rule(compared):
    plan, baselines, results, _ = compared
    bar = baselines["best"]["value"]
    for entry in results["models"]:
        if entry["status"] != "ok":
            continue
        assert entry["beats_baseline"] == (entry["metrics"]["roc_auc"] > bar)
        if not entry["beats_baseline"]:
            assert entry["name"] not in results["shortlist"]
            assert (
                results["excluded"][entry["name"]] == "does not beat the best baseline"
            )
    # an XOR problem: trees beat the linear baseline, the linear candidate does not
    assert "logistic_regression" not in results["shortlist"]
    assert results["shortlist"] and len(results["shortlist"]) <= plan.spec.search.top_k
    assert require_shortlist(results) == results["shortlist"]


def test_no_viable_candidate_stops_plainly(compared):
    _, _, results, _ = compared
    nothing = {**results, "shortlist": []}
    with pytest.raises(StageStop) as caught:
        require_shortlist(nothing)
    message = str(caught.value)
    assert "No candidate beats the best baseline" in message
    assert "stops before tuning" in message
    assert "- random_forest: roc_auc = " in message
