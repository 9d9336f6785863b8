"""Nodes of the monitoring pipeline: thin adapters to model_training.lib.stage.monitoring."""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.params import InferenceParams, MonitoringParams
from model_training.lib.stage import monitoring as stage


def check_new_data(
    model_package: dict[str, Any],
    new_data: pl.DataFrame,
    plan: dict[str, Any],
    inference: InferenceParams,
    options: MonitoringParams,
    run_clock: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Drift per feature, missing rates, unseen categories, prediction drift and
    (with the target) performance, against the package's monitoring baseline."""
    return stage.check_new_data(
        model_package, new_data, plan, inference, options, run_clock
    )


def enforce_monitoring(report: dict[str, Any], options: MonitoringParams) -> None:
    """Exit code 1 on an alert when ``monitoring.fail_on_alert`` is set."""
    return stage.enforce_monitoring(report, options)
