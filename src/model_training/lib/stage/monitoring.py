"""The monitoring pipeline's steps: new rows against the monitoring baseline."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import polars as pl

from model_training.lib.core.errors import InputError, OutputsKept, Problem
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import METRICS, canonical
from model_training.lib.core.params import InferenceParams, MonitoringParams
from model_training.lib.core.plan import load_plan
from model_training.lib.figures.monitoring import feature_drift, prediction_drift
from model_training.lib.problems import get_problem
from model_training.lib.reporting.monitoring import compare_with_baseline
from model_training.lib.stage.inference import score_new_data

logger = logging.getLogger(__name__)


def _output(predictions: pl.DataFrame, plan: Any) -> Any:
    """The monitored number per row, as the baseline recorded it at training."""
    columns = [f"score_{c}" for c in plan.classes or []]
    if "score" in predictions.columns:  # an anomaly score
        columns = ["score"]
    if columns:
        return predictions.get_column(columns[-1]).to_numpy()
    return predictions.get_column("predicted").cast(pl.Float64).to_numpy()


def _performance(model_package, new_data, plan) -> dict[str, float] | None:
    target = plan.spec.target
    if not target or target not in new_data.columns:
        return None
    labelled = new_data.filter(pl.col(target).is_not_null())
    if labelled.height == 0:
        return None
    x, y = split_xy(labelled, plan)
    problem = get_problem(plan.spec.problem_type)
    return problem.score(model_package["model"], x, y, plan)


def check_new_data(
    model_package: dict[str, Any],
    new_data: pl.DataFrame,
    plan: dict[str, Any],
    inference: InferenceParams,
    options: MonitoringParams,
    run_clock: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compare new rows with the package's monitoring baseline (the report is
    stamped with the run's start, from ``run_clock``).

    The rows are scored as the inference pipeline scores them (same checks,
    same one-message errors); then per-feature drift (PSI on the baseline's
    bins and a chi-square test), missing-rate changes, unseen categories,
    prediction drift and, when the file holds the target, performance against
    the test performance at training. Returns the report and its figures.
    """
    resolved = load_plan(plan)
    baseline = model_package.get("monitoring_baseline")
    if not baseline:
        raise InputError(
            [
                Problem(
                    f"{model_package.get('directory', 'models')}, version "
                    f"{model_package.get('version')}",
                    "the package has no monitoring baseline "
                    f"(monitoring_baseline_v{model_package.get('version')}.json)",
                    "retrain (kedro run) to write a package with its baseline",
                )
            ]
        )
    predictions = score_new_data(model_package, new_data, plan, inference)
    greater = METRICS[canonical(resolved.spec.primary_metric)].greater_is_better
    result = compare_with_baseline(
        baseline,
        new_data,
        _output(predictions, resolved),
        _performance(model_package, new_data, resolved),
        greater,
        options.alpha,
    )
    report = {
        "epic_id": resolved.spec.epic_id,
        "checked_at": datetime.fromtimestamp(run_clock["started"], UTC).isoformat(
            timespec="seconds"
        ),
        "input": inference.input,
        "package_version": model_package.get("version"),
        "baseline_created": baseline.get("creation_date"),
        "alert_thresholds": baseline["alert_thresholds"],
        "alpha": options.alpha,
        **result,
    }
    for alert in result["alerts"]:
        logger.warning("Monitoring alert: %s", alert)
    logger.info(
        "Monitoring %s: %d rows, %d alert(s)",
        inference.input,
        result["rows"],
        len(result["alerts"]),
    )
    figures = {
        "feature_drift": feature_drift(
            result, baseline["alert_thresholds"]["psi_threshold"]
        ),
        "prediction_drift": prediction_drift(
            result, baseline.get("prediction_output", "the output")
        ),
    }
    return report, figures


def enforce_monitoring(report: dict[str, Any], options: MonitoringParams) -> None:
    """End with exit code 1 on an alert when ``fail_on_alert`` is set (the
    report and figures are written either way)."""
    if report["alerts"] and options.fail_on_alert:
        raise OutputsKept(
            f"Monitoring raised {len(report['alerts'])} alert(s) on {report['input']} "
            "(the report and figures were written):\n"
            + "\n".join(f"  - {a}" for a in report["alerts"])
            + "\nSet monitoring.fail_on_alert: false to record alerts without failing."
        )
