"""The data_validation pipeline's steps (its nodes are thin adapters to these)."""

from __future__ import annotations

import difflib
import logging
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from model_training.lib.core.errors import InputError, Problem
from model_training.lib.core.params import DataValidationParams
from model_training.lib.core.plan import build_plan, load_plan
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.checks import (
    raise_if_blocking,
    run_checks,
    summarize,
)
from model_training.lib.figures import data as plots
from model_training.lib.figures.data import Figures
from model_training.lib.problems import get_problem, is_registered, registered

logger = logging.getLogger(__name__)


def validate_data(
    train: pl.DataFrame,
    validation: pl.DataFrame,
    feature_schema: FeatureSchema,
    modeling_spec: ModelingSpec,
    epic_id: str,
    options: DataValidationParams,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check the training and validation splits against the schema and the spec.

    The test split is not read here: only the evaluation pipeline reads it, and
    checks it against train (``check_test_split``) before scoring anything.

    Args:
        train: ``train_features``.
        validation: ``validation_features``.
        feature_schema: the epic's machine-readable feature documentation.
        modeling_spec: the epic's modeling spec.
        epic_id: the epic being run (must match the spec's ``epic_id``).
        options: ``data_validation`` parameters (``thresholds``).

    Returns:
        The data-quality report and the modeling plan (the spec resolved
        against the data), as JSON-ready dicts.

    Raises:
        InputError: listing every blocking problem, with file, column and fix.
    """
    _check_identity(modeling_spec, feature_schema, epic_id)
    frames = {"train": train, "validation": validation}
    checks = run_checks(frames, feature_schema, modeling_spec, options.thresholds)
    raise_if_blocking(checks, epic_id)
    plan = build_plan(modeling_spec, feature_schema, train)
    if plan.spec.seasonal_period != modeling_spec.seasonal_period:
        logger.info(
            "Seasonal period %d, implied by the frequency %s (set seasonal_period "
            "in the modeling spec to choose another)",
            plan.spec.seasonal_period,
            plan.spec.frequency,
        )
    report = summarize(checks, frames, modeling_spec, len(plan.features))
    report["tags"] = {
        "data_quality.status": report["status"],
        "data_quality.warnings": ",".join(
            c["name"] for c in report["checks"] if c["status"] == "warn"
        ),
    }
    report["summary_params"] = {
        k: report["summary"][k] for k in ("train_size", "validation_size", "n_features")
    }
    for check in report["checks"]:
        if check["status"] == "warn":
            logger.warning(
                "Data quality warning (%s): %s %s",
                check["name"],
                check["message"],
                check["columns"] or "",
            )
    logger.info(
        "Data quality %s: %d pass, %d warn (report: data_quality.json)",
        report["status"],
        report["summary"]["n_pass"],
        report["summary"]["n_warn"],
    )
    return report, plan.model_dump(mode="json")


def _check_identity(spec: ModelingSpec, schema: FeatureSchema, epic_id: str) -> None:
    problems = []
    if spec.epic_id != epic_id:
        problems.append(
            Problem(
                f"{spec.location}, key 'epic_id'",
                f"says '{spec.epic_id}' but the run is for epic '{epic_id}'",
                f"set epic_id: {epic_id} in the spec",
            )
        )
    if schema.epic_id != epic_id:
        problems.append(
            Problem(
                f"{schema.source}, key 'epic_id'",
                f"says '{schema.epic_id}' but the run is for epic '{epic_id}'",
                f"set epic_id: {epic_id} in the feature schema",
            )
        )
    if not is_registered(spec.problem_type):
        problems.append(
            Problem(
                f"{spec.location}, key 'problem_type'",
                f"'{spec.problem_type}' is not implemented in this version",
                "use one of: " + ", ".join(registered()),
            )
        )
    else:
        known = get_problem(spec.problem_type).default_candidates()
        for name in spec.algorithms or []:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                problems.append(
                    Problem(
                        f"{spec.location}, key 'algorithms'",
                        f"'{name}' is not a {spec.problem_type} algorithm"
                        + (f" (did you mean '{close[0]}'?)" if close else ""),
                        "use some of: " + ", ".join(known) + " (or null for all)",
                    )
                )
    if problems:
        raise InputError(f"Inconsistent inputs for epic '{epic_id}'", problems)


def plot_data_quality(
    report: dict[str, Any],
    plan: dict[str, Any],
    train: pl.DataFrame,
    validation: pl.DataFrame,
) -> dict[str, Figure]:
    """Draw the target distribution (when there is a target) and the missing
    values per column and split; a figure that cannot be drawn is logged and
    left out."""
    resolved = load_plan(plan)
    frames = {"train": train, "validation": validation}
    drawn = Figures()
    if resolved.spec.target:  # no placeholder figure for unsupervised problems
        drawn.add(
            "target_distribution",
            lambda: plots.target_distribution(report, resolved.spec.target, frames),
        )
    drawn.add(
        "missing_values", lambda: plots.missing_values(report, list(train.columns))
    )
    return drawn.figures
