"""Nodes of the tuning pipeline."""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.budget import budget_from
from model_training.lib.core.params import BudgetParams, ModelingParams, TuningParams
from model_training.lib.core.plan import load_plan
from model_training.lib.training.final_fit import fit_final
from model_training.lib.training.selection import select_model
from model_training.lib.training.tuning import tune_models


def tune_hyperparameters(
    plan: dict[str, Any],
    train: pl.DataFrame,
    shortlist: list[str],
    candidate_results: dict[str, Any],
    modeling: ModelingParams,
    options: TuningParams,
    seed: int,
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> dict[str, Any]:
    """Optuna search with cross-validation on train for each shortlisted model
    (tuning.json); the candidates' fit times project the final refit the run
    budget keeps time for."""
    return tune_models(
        load_plan(plan),
        train,
        shortlist,
        modeling.defaults,
        options,
        seed,
        row_guards=modeling.row_guard,
        budget=budget_from(budget, run_clock, train.height),
        candidates=candidate_results,
    )


def select_final_model(
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    tuning_results: dict[str, Any],
    candidate_results: dict[str, Any],
    modeling: ModelingParams,
    options: TuningParams,
    seed: int,
    budget: BudgetParams,
    run_clock: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Judge the tuned configurations and their post-hoc ensemble by
    cross-validation on train + validation; pick one (model_selection.json),
    and keep its out-of-fold predictions for the final calibration."""
    kept: dict[str, Any] = {}
    selection = select_model(
        load_plan(plan),
        train,
        validation,
        tuning_results,
        candidate_results,
        modeling.defaults,
        options,
        seed,
        budget=budget_from(budget, run_clock, train.height),
        keep_oof=kept,
    )
    return selection, kept.get("oof") or {}  # {}: none to reuse (Kedro saves no None)


def fit_final_model(
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    model_selection: dict[str, Any],
    options: TuningParams,
    seed: int,
    budget: BudgetParams,
    run_clock: dict[str, Any],
    selection_oof: dict[str, Any] | None,
) -> tuple[Any, dict[str, Any]]:
    """Refit the chosen configuration on train + validation; calibrate; choose the threshold."""
    return fit_final(
        load_plan(plan),
        train,
        validation,
        model_selection,
        options,
        seed,
        budget_from(budget, run_clock, train.height),
        selection_oof,
    )
