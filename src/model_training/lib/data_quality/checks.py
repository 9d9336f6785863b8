"""Data-quality checks on an epic's feature splits (stage step 1 and more).

:func:`run_checks` returns every check with its status (``pass``, ``warn`` or
``fail``), its figures and the columns concerned. A ``fail`` is blocking: the
caller raises one :class:`~model_training.lib.core.errors.InputError` listing every
blocking problem with the file, column and fix.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.errors import InputError
from model_training.lib.core.params import Thresholds
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.context import Check, Context
from model_training.lib.data_quality.features import (
    check_cardinality,
    check_constant,
    check_date_like,
    check_identifier_like,
    check_missing,
    check_non_finite,
    check_unseen_categories,
)
from model_training.lib.data_quality.leakage import (
    check_duplicates,
    check_group_overlap,
    check_leakage,
)
from model_training.lib.data_quality.structure import (
    check_dtypes,
    check_group_folds,
    check_rows,
    check_sample_size,
    check_schema_columns,
    check_spec_columns,
)
from model_training.lib.data_quality.target import check_target
from model_training.lib.data_quality.temporal import check_regular, check_temporal
from model_training.lib.data_quality.time_folds import check_time_folds


def run_checks(
    frames: dict[str, pl.DataFrame],
    schema: FeatureSchema,
    spec: ModelingSpec,
    thresholds: Thresholds,
    *,
    held_out_only: bool = False,
) -> list[Check]:
    """Run every data-quality check.

    Args:
        frames: ``{"train": ..., "validation": ...}`` (data_validation) or
            ``{"train": ..., "test": ...}`` (evaluation, ``held_out_only``).
        schema: the epic's feature schema.
        spec: the epic's modeling spec.
        thresholds: ``data_validation.thresholds`` from the parameters.
        held_out_only: only the checks that compare a held-out split with
            train (columns, types, target classes, missing and non-finite
            values, time order, unseen categories, overlap with train).

    Returns:
        The checks in a fixed order. Checks that need columns the structural
        checks found missing are skipped.
    """
    ctx = Context(frames, schema, spec, thresholds)
    checks = [check_rows(ctx)]
    if checks[0].status == "fail":
        return checks  # nothing else can be judged on an empty split
    checks += [check_schema_columns(ctx), check_spec_columns(ctx)]
    if any(c.status == "fail" for c in checks):
        return checks
    target, balance = check_target(ctx)
    dtypes = check_dtypes(ctx)
    checks += [dtypes, target]
    if balance is not None and not held_out_only:
        checks.append(balance)  # train's class shares: data_validation said it
    if dtypes.status == "fail":
        return checks  # value checks on mistyped columns would only add noise
    checks += [
        check_missing(ctx),
        check_non_finite(ctx),
        check_temporal(ctx),
        check_regular(ctx),
        check_unseen_categories(ctx),
    ]
    if not held_out_only and all(c.status != "fail" for c in checks):
        checks += [check_time_folds(ctx), check_group_folds(ctx)]
    checks.append(check_sample_size(ctx, train_too=not held_out_only))
    if held_out_only:
        return [*checks, check_duplicates(ctx), check_group_overlap(ctx)]
    checks += [
        check_constant(ctx),
        check_identifier_like(ctx),
        check_cardinality(ctx),
        check_date_like(ctx),
        check_duplicates(ctx),
        check_group_overlap(ctx),
    ]
    if "validation" in frames and all(c.status != "fail" for c in checks):
        checks.append(check_leakage(ctx))  # screening broken data would only add noise
    return checks


def summarize(
    checks: list[Check],
    frames: dict[str, pl.DataFrame],
    spec: ModelingSpec,
    n_features: int,
) -> dict[str, Any]:
    """Build the machine-readable data-quality report."""
    statuses = [c.status for c in checks]
    status = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return {
        "epic_id": spec.epic_id,
        "status": status,
        "summary": {
            "n_checks": len(checks),
            "n_pass": statuses.count("pass"),
            "n_warn": statuses.count("warn"),
            "n_fail": statuses.count("fail"),
            **{f"{split}_size": frame.height for split, frame in frames.items()},
            "n_features": n_features,
        },
        "dtypes": {
            s: {c: str(t) for c, t in f.schema.items()} for s, f in frames.items()
        },
        "checks": [c.as_dict() for c in checks],
    }


def raise_if_blocking(checks: list[Check], epic_id: str) -> None:
    """Raise one :class:`InputError` listing every blocking problem."""
    problems = [p for c in checks if c.status == "fail" for p in c.problems]
    if problems:
        raise InputError(f"Data validation failed for epic '{epic_id}'", problems)
