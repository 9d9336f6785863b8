"""Nodes of the reporting pipeline: thin adapters to model_training.lib.stage.reporting."""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.params import ReportingParams
from model_training.lib.stage import reporting as stage


def build_model_package(
    plan: dict[str, Any],
    final_model: Any,
    final_model_info: dict[str, Any],
    model_performance: dict[str, Any],
    test_evaluation: dict[str, Any],
    test_predictions: pl.DataFrame,
    data_quality_report: dict[str, Any],
    baseline_results: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
    options: ReportingParams,
) -> dict[str, Any]:
    """Everything the versioned package holds: model, preprocessing, metadata, monitoring baseline, card inputs."""
    return stage.build_model_package(
        plan,
        final_model,
        final_model_info,
        model_performance,
        test_evaluation,
        test_predictions,
        data_quality_report,
        baseline_results,
        train,
        validation,
        options,
    )


def prepare_mlflow_model(
    plan: dict[str, Any],
    model_package: dict[str, Any],
    train: pl.DataFrame,
    model_performance: dict[str, Any],
) -> dict[str, Any]:
    """The packaged model with a pandas input example (training rows), exact
    pip pins, and the registered version's description, tags and alias."""
    return stage.prepare_mlflow_model(plan, model_package, train, model_performance)


def verify_outputs(
    plan: dict[str, Any],
    model_package: dict[str, Any],
    registered_model: dict[str, Any],
    final_model: Any,
    validation: pl.DataFrame,
    model_performance: dict[str, Any],
    model_figures: dict[str, Any],
) -> dict[str, Any]:
    """Step 13: the package loads (its sha256 checked by the dataset) and predicts like the"""
    return stage.verify_outputs(
        plan,
        model_package,
        registered_model,
        final_model,
        validation,
        model_performance,
        model_figures,
    )


def write_model_report(
    plan: dict[str, Any],
    model_performance: dict[str, Any],
    verification: dict[str, Any],
    registered_model: dict[str, Any],
    model_figures: dict[str, Any],
) -> str:
    """The run's one-page HTML report: verdict, leaderboard, test metrics against
    the baselines, impact, calibration, importance, fairness, robustness, figures."""
    return stage.write_model_report(
        plan, model_performance, verification, registered_model, model_figures
    )


def enforce_acceptance(
    verification: dict[str, Any], options: ReportingParams, _model_report: str
) -> None:
    """Stop the run when a check failed or a criterion is unmet (unless
    report-only); it takes the report so that the report is written first."""
    return stage.enforce_acceptance(verification, options)
