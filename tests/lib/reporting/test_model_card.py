"""The model card's limitations drawn from the choice of model."""

from __future__ import annotations

from model_training.lib.reporting.model_card import selection_limits


def test_a_model_no_better_than_a_constant_and_a_clock_bound_search_are_named():
    note = (
        "lightgbm does not beat the trivial baseline mean by more than one "
        "standard error on the same folds"
    )
    lines = selection_limits(
        {
            "trivial_reference": {"beats": False, "note": note},
            "tuning_clock_bound": ["catboost"],
        }
    )
    assert lines[0] == f"- Under cross-validation, {note}."
    assert lines[1].startswith("- Tuning of catboost was ended by the clock")


def test_a_model_that_beats_the_constant_adds_no_line():
    comparison = {"trivial_reference": {"beats": True, "note": "x beats"}}
    assert selection_limits(comparison) == []
    assert selection_limits({}) == []


def test_a_model_fitted_on_the_log_target_is_described_as_such():
    from model_training.lib.reporting.model_card import _algorithm_line

    logged = {
        "model": "lightgbm",
        "imbalance": "none",
        "params": {"num_leaves": 15, "target_transform": "log1p"},
    }
    raw = {**logged, "params": {"num_leaves": 15, "target_transform": "none"}}
    assert "fitted on log(1 + target)" in _algorithm_line(logged)
    assert "log(1 + target)" not in _algorithm_line(raw)
    ensemble = {
        "members": [
            {**logged, "source": "tuned", "weight": 0.5},
            {**raw, "model": "catboost", "source": "tuned", "weight": 0.5},
        ]
    }
    assert (
        "lightgbm (tuned, imbalance `none`, on log(1 + target)) x0.50, "
        "catboost (tuned, imbalance `none`) x0.50" in _algorithm_line(ensemble)
    )
