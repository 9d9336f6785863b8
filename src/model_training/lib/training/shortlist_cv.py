"""Candidates ranked by cross-validation when the validation split is too small.

The shortlist is the top candidates by their validation score. On a validation
split of a few dozen rows that ranking is noise: a 400-feature set with 30
validation rows ranked CatBoost (0.66) and a random forest (0.54) below
LightGBM (0.86) and left them out of tuning; on its test rows, plain CatBoost
scored 0.80, a random forest 0.79 and LightGBM 0.73. Below
:data:`SMALL_VALIDATION_ROWS` rows (or :data:`SMALL_CLASS_ROWS` rows of its
rarest class), every candidate is also scored by a three-fold cross-validation on
train + validation (every row scored once, the same folds for all), and
ranked by its mean, when the run budget affords every candidate's folds. The
validation scores stay in the record, and the baseline comparison still uses
them (with their noise, most differences there are ties).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv import order_for_cv, with_folds
from model_training.lib.algorithms.cv_eval import fold_scores
from model_training.lib.algorithms.registry import fit_params
from model_training.lib.core.budget import Budget
from model_training.lib.core.frames import split_xy
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.training.protocol import capped_splits, corrected_standard_error

SMALL_VALIDATION_ROWS = 100
SMALL_CLASS_ROWS = 20
RANKING_FOLDS = 3

logger = logging.getLogger(__name__)


def small_validation(plan: ModelingPlan, y_valid: np.ndarray) -> str | None:
    """Why the validation split is too small to rank candidates on alone, or
    None. Only for supervised tabular data: a forecast is ranked walking
    forward, and a model without a target has no validation score to doubt."""
    kind = plan.spec.kind
    if kind.temporal or kind.target != "required":
        return None
    if len(y_valid) < SMALL_VALIDATION_ROWS:
        return (
            f"validation has {len(y_valid)} rows (fewer than {SMALL_VALIDATION_ROWS})"
        )
    if kind.classification:
        labels, counts = np.unique(np.asarray(y_valid).astype(str), return_counts=True)
        rarest = int(counts.argmin())
        if counts[rarest] < SMALL_CLASS_ROWS:
            return (
                f"validation has {counts[rarest]} rows of class '{labels[rarest]}' "
                f"(fewer than {SMALL_CLASS_ROWS})"
            )
    return None


def ranking_folds(
    plan: ModelingPlan, train: pl.DataFrame, validation: pl.DataFrame, seed: int
) -> tuple[pl.DataFrame, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """Train + validation and its :data:`RANKING_FOLDS` folds (the plan's CV
    strategy and seed): every row is scored once, out of fold."""
    combined = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), plan
    )
    x_all, y_all = split_xy(combined, plan)
    folds = min(RANKING_FOLDS, plan.spec.cross_validation.n_splits)
    return x_all, y_all, capped_splits(combined, y_all, with_folds(plan, folds), seed)


def rank_by_cv(
    plan: ModelingPlan,
    problem: Any,
    entries: list[dict[str, Any]],
    pipelines: dict[str, tuple[Any, str]],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    seed: int,
    budget: Budget,
    small: str,
) -> str | None:
    """Cross-validate every fitted candidate (``pipelines``: name to its
    unfitted pipeline and imbalance strategy), cheapest fit first, each while
    the candidates' share of the run budget affords its projected folds.
    Returns ``small`` when every one was cross-validated (rank by CV), else
    None (rank by validation, as the CV of some could not be afforded; the
    reason is logged and kept in the entries)."""
    folds = ranking_folds(plan, train, validation, seed)
    fitted = sorted(
        (e for e in entries if e["status"] == "ok" and e["name"] in pipelines),
        key=lambda e: e["fit_time_s"],
    )
    logger.info("Candidates: %s: ranked by %d-fold CV", small, len(folds[2]))
    fold_rows = float(np.mean([len(fit) for fit, _ in folds[2]]))
    complete = True
    for entry in fitted:
        skipped = _not_cross_validated(entry, fold_rows, len(folds[2]), budget)
        if skipped:
            entry["cv"] = {"skipped": skipped}
            complete = False
            continue
        pipeline, imbalance = pipelines[entry["name"]]
        entry["cv"] = cross_validated(plan, problem, pipeline, imbalance, folds)
    if not complete:
        logger.warning(
            "Candidates: ranked by validation after all: not every candidate "
            "could be cross-validated (the reasons are in candidates.json; %s)",
            small,
        )
    return small if complete else None


def _not_cross_validated(
    entry: dict[str, Any], fold_rows: float, n_folds: int, budget: Budget
) -> str | None:
    """Why a fitted candidate is not cross-validated, or None: it was fitted on
    a row-guarded subsample (its fit time says nothing of every row), or its
    fit's time, scaled to the folds' rows, once per fold, is past what the
    candidates' share of the run budget affords."""
    if entry.get("subsampled_to"):
        return (
            f"{entry['name']} was fitted on a {entry['subsampled_to']}-row "
            "subsample: not cross-validated on every row"
        )
    rows = max(fold_rows / max(entry.get("fitted_rows") or fold_rows, 1.0), 1.0)
    projected = entry["fit_time_s"] * rows * n_folds
    if budget.affords("candidates", projected):
        return None
    return budget.note(
        "candidates",
        f"{entry['name']} not cross-validated (projected at {projected:.0f} s)",
    )


def cross_validated(
    plan: ModelingPlan,
    problem: Any,
    pipeline: Any,
    imbalance: str,
    folds: tuple[pl.DataFrame, np.ndarray, list[tuple[np.ndarray, np.ndarray]]],
) -> dict[str, Any]:
    """The unfitted ``pipeline``'s primary metric on each fold: mean, the
    corrected standard error, and the fold scores."""
    x_all, y_all, splits = folds
    scores = fold_scores(
        pipeline,
        x_all,
        y_all,
        splits,
        plan,
        partial(problem.predict, plan=plan),
        partial(fit_params, plan, imbalance),
    )
    n_fit = float(np.mean([len(fit) for fit, _ in splits]))
    n_held = float(np.mean([len(held) for _, held in splits]))
    return {
        "mean": float(np.nanmean(scores)),
        "standard_error": corrected_standard_error(scores, n_fit, n_held),
        "folds": [float(s) for s in scores],
    }
