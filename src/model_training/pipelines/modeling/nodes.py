"""Nodes of the modeling pipeline."""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.budget import budget_from
from model_training.lib.core.params import BudgetParams, ModelingParams
from model_training.lib.core.plan import load_plan
from model_training.lib.training.candidates import require_shortlist, train_candidates


def train_candidate_models(
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    baseline_results: dict[str, Any],
    options: ModelingParams,
    seed: int,
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit every candidate on train; score and profile it on validation.

    Returns:
        The comparison table (candidates.json) and the fitted candidates.
    """
    return train_candidates(
        load_plan(plan),
        train,
        validation,
        baseline_results,
        options,
        seed,
        budget_from(budget, run_clock, train.height),
    )


def shortlist_candidates(candidate_results: dict[str, Any]) -> list[str]:
    """The top candidates that beat the best baseline; stops the run if there are none."""
    return require_shortlist(candidate_results)
