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
