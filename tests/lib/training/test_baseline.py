"""Baselines: the bar a candidate must clear, with noise."""

from __future__ import annotations

from model_training.lib.training.baseline import compare_to, fit_baselines


def test_a_difference_within_noise_is_a_tie():
    bar = {"primary_metric": "roc_auc", "value": 0.80, "standard_error": 0.02}
    assert compare_to(bar, 0.82, 0.02) == "tie"  # 0.02 < 1.96 * 0.028
    assert compare_to(bar, 0.90, 0.02) == "better"
    assert compare_to(bar, 0.70, 0.02) == "worse"
    assert compare_to(bar, float("nan"), 0.02) == "worse"
    lower = {"primary_metric": "log_loss", "value": 0.5, "standard_error": 0.01}
    assert compare_to(lower, 0.4, 0.01) == "better"  # lower is better


def test_baselines_report_the_best_and_its_standard_error(xor_setup):
    parts, _, _, plan = xor_setup
    results, models = fit_baselines(plan, parts["train"], parts["validation"], 0)
    names = [m["name"] for m in results["models"]]
    assert names == ["majority_class", "stratified_random", "logistic_regression"]
    assert results["best"]["name"] in names and set(models) == set(names)
    assert all(m.get("standard_error") is not None for m in results["models"])
