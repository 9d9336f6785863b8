"""The inference pipeline's steps (its nodes are thin adapters to these)."""

from __future__ import annotations

import logging
from typing import Any

import polars as pl

from model_training.lib.core.errors import InputError, Problem
from model_training.lib.core.frames import input_columns, split_xy
from model_training.lib.core.params import InferenceParams
from model_training.lib.core.plan import load_plan
from model_training.lib.core.threads import scoring_threads
from model_training.lib.data_quality.structure import offending_values
from model_training.lib.problems import get_problem

logger = logging.getLogger(__name__)


def score_new_data(
    model_package: dict[str, Any],
    new_data: pl.DataFrame,
    plan: dict[str, Any],
    options: InferenceParams,
) -> pl.DataFrame:
    """Predict new rows with the package (the newest version, or ``model_version``).

    Bad input gets one clear error: missing feature columns, or numeric columns
    holding text. Categories the model never saw are scored as unknown (as in
    training) and listed in a ``warnings`` column; extra columns are ignored.

    Returns:
        Identifier columns, the decision (``predicted``), class probabilities
        (``score_<class>``) and the package version and threshold used.
    """
    resolved = load_plan(plan)
    metadata = model_package["metadata"]
    source = options.input
    missing = [c for c in input_columns(resolved) if c not in new_data.columns]
    problems = []
    if missing:
        problems.append(
            Problem(
                f"{source}, column(s) {', '.join(missing)}",
                "missing: the model needs every feature column",
                "add the column(s); missing values inside a column are fine",
            )
        )
    if new_data.height == 0:
        problems.append(
            Problem(
                source,
                "the file has a header but no rows to score",
                "add the rows to score below the header",
            )
        )
    for column in resolved.numeric_features:
        if column not in new_data.columns:
            continue
        values = new_data.get_column(column)
        if not values.dtype.is_numeric():
            if values.cast(pl.Float64, strict=False).null_count() > values.null_count():
                problems.append(
                    Problem(
                        f"{source}, column '{column}'",
                        "values that are not numbers: "
                        + offending_values(new_data, column, "numeric"),
                        "fix or empty those values (an empty cell is scored as missing)",
                    )
                )
            continue
        infinite = values.cast(pl.Float64).is_infinite()
        if infinite.any():
            lines = [i + 2 for i in infinite.arg_true().head(5).to_list()]
            problems.append(
                Problem(
                    f"{source}, column '{column}'",
                    f"{int(infinite.sum())} infinite value(s) (lines "
                    f"{', '.join(map(str, lines))}): a model cannot score them",
                    "replace them with a number or leave the cell empty (missing)",
                )
            )
    if problems:
        raise InputError(
            f"Cannot score {source} with {resolved.spec.epic_id}_model v{model_package['version']}",
            problems,
        )
    x, _ = split_xy(new_data, resolved)  # (a forecaster also gets the time column)
    notes = pl.lit("")
    reference = metadata.get("known_categories") or {}
    for column in resolved.categorical_features:
        known = reference.get(column)
        if known:
            notes = notes + pl.when(
                pl.col(column).is_not_null() & ~pl.col(column).is_in(known)
            ).then(pl.lit(f"unseen {column}; ")).otherwise(pl.lit(""))
    # with_columns broadcasts the literal when there is no categorical feature
    warnings = x.with_columns(notes.alias("__warnings")).get_column("__warnings")
    warnings = warnings.alias("warnings")
    problem = get_problem(resolved.spec.problem_type)
    with scoring_threads(x.height):  # a few rows: one OpenMP thread
        y_pred, y_score = problem.predict(model_package["model"], x, resolved)
    out = {
        c: new_data.get_column(c)
        for c in resolved.spec.id_columns
        if c in new_data.columns
    }
    for column in (resolved.spec.time_column, resolved.spec.series_column):
        if column and column in new_data.columns:
            out[column] = new_data.get_column(column)
    out["predicted"] = pl.Series(list(y_pred))
    for name, values in problem.score_columns(y_score, resolved).items():
        out[name] = pl.Series(values)
    out["warnings"] = warnings.str.strip_chars()
    out["model_version"] = pl.Series([model_package["version"]] * x.height)
    threshold = metadata.get("decision_threshold")
    if threshold is not None:
        out["decision_threshold"] = pl.Series([threshold] * x.height)
    flagged = int((warnings != "").sum())
    if flagged:
        logger.warning(
            "%d of %d rows have categories the model never saw: scored as unknown (see 'warnings')",
            flagged,
            x.height,
        )
    logger.info(
        "Scored %d rows with %s_model v%s",
        x.height,
        resolved.spec.epic_id,
        model_package["version"],
    )
    return pl.DataFrame(out)
