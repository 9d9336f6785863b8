"""Nodes of the baseline pipeline."""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from model_training.lib.core.plan import load_plan
from model_training.lib.training.baseline import fit_baselines

logger = logging.getLogger(__name__)


def fit_baseline_models(
    plan: dict[str, Any], train: pl.DataFrame, validation: pl.DataFrame, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit the problem type's baselines on train and score them on validation.

    Args:
        plan: the modeling plan from data_validation.
        train: ``train_features``.
        validation: ``validation_features``.
        seed: the run's random seed.

    Returns:
        The baseline results (per baseline: parameters, validation metrics,
        timings; and the best baseline) and the fitted baselines by name.
    """
    results, models = fit_baselines(load_plan(plan), train, validation, seed)
    for entry in results["models"]:
        logger.info(
            "Baseline %-20s %s = %.4f (fit %.3f s)",
            entry["name"],
            results["primary_metric"],
            entry["metrics"][results["primary_metric"]],
            entry["fit_time_s"],
        )
    logger.info(
        "Best baseline: %s (%s = %.4f)",
        results["best"]["name"],
        results["primary_metric"],
        results["best"]["value"],
    )
    return results, models
