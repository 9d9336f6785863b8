"""Structural checks: rows, the schema's and the spec's columns, column types."""

from __future__ import annotations

import polars as pl

from model_training.lib.core.errors import Problem
from model_training.lib.core.plan import resolve_cv_strategy
from model_training.lib.core.times import parse_times
from model_training.lib.data_quality.context import (
    _POLARS_KIND,
    Check,
    Context,
    column_kind,
)


def check_schema_columns(ctx: Context) -> Check:
    problems, extra = [], {}
    for split, frame in ctx.frames.items():
        missing = [c.name for c in ctx.schema.columns if c.name not in frame.columns]
        if missing:
            problems.append(
                Problem(
                    f"{ctx.file(split)}, column(s) {', '.join(missing)}",
                    "listed in the feature schema but missing from the file",
                    f"add the column(s) to the file, or remove them from {ctx.schema.source}",
                )
            )
        unlisted = [c for c in frame.columns if ctx.schema.column(c) is None]
        if unlisted:
            extra[split] = unlisted
    if problems:
        return Check(
            "schema_columns",
            "fail",
            "schema columns missing from files",
            problems=problems,
        )
    if extra:
        return Check(
            "schema_columns",
            "warn",
            "columns in the files but not in the feature schema are ignored",
            columns=sorted({c for cols in extra.values() for c in cols}),
            details={"unlisted": extra},
        )
    return Check("schema_columns", "pass", "every schema column is in every split")


def check_spec_columns(ctx: Context) -> Check:
    spec, problems = ctx.spec, []
    named: list[tuple[str, str]] = [
        (key, getattr(spec, key))
        for key in (
            "target",
            "group_column",
            "time_column",
            "region_column",
            "label_column",
        )
        if getattr(spec, key)
    ]
    named += [(f"id_columns[{i}]", c) for i, c in enumerate(spec.id_columns)]
    named += [
        (f"sensitive_features[{i}].column", s.column)
        for i, s in enumerate(spec.sensitive_features)
    ]
    known = [c.name for c in ctx.schema.columns]
    for key, column in named:
        if ctx.schema.column(column) is None:
            problems.append(
                Problem(
                    f"{spec.location}, key '{key}'",
                    f"column '{column}' is not in the feature schema",
                    "use one of: " + ", ".join(known),
                )
            )
    if problems:
        return Check(
            "spec_columns", "fail", "the spec names unknown columns", problems=problems
        )
    return Check("spec_columns", "pass", "every column the spec names exists")


def check_dtypes(ctx: Context) -> Check:
    problems, widened = [], []
    for info in ctx.schema.columns:
        if not ctx.present(info.name):
            continue
        kinds = {
            s: "null"  # an entirely empty column reads as text: judge it as missing
            if f.get_column(info.name).null_count() == f.height
            else column_kind(f.schema[info.name])
            for s, f in ctx.frames.items()
        }
        expected = _POLARS_KIND[info.dtype]
        for split, kind in kinds.items():
            if kind in ("null", expected) or (expected == "bool" and kind == "numeric"):
                continue
            if expected == "text":
                widened.append(info.name)  # numbers read as text categories: fine
                continue
            if expected == "temporal" and kind == "text":
                parsed = parse_times(ctx.frames[split].get_column(info.name))
                if (
                    parsed.null_count()
                    == ctx.frames[split].get_column(info.name).null_count()
                ):
                    continue
            problems.append(
                Problem(
                    f"{ctx.file(split)}, column '{info.name}'",
                    f"declared {info.dtype} in the feature schema but holds {kind} "
                    f"values: {offending_values(ctx.frames[split], info.name, expected)}",
                    f"clean the values, or declare the column as string in {ctx.schema.source}",
                )
            )
        if (
            len({str(f.schema[info.name]) for f in ctx.frames.values()}) > 1
            and info.name not in widened
        ):
            widened.append(info.name)
    if problems:
        return Check(
            "dtypes", "fail", "column types do not match the schema", problems=problems
        )
    if widened:
        return Check(
            "dtypes",
            "warn",
            "columns read with different types across splits or as text; they are cast to the schema type",
            columns=sorted(set(widened)),
        )
    return Check("dtypes", "pass", "column types match the schema in every split")


def offending_values(frame: pl.DataFrame, column: str, expected: str) -> str:
    """The values that do not parse as ``expected``, with their CSV lines (the
    header is line 1), e.g. "'abc' (line 7), 'n/a' (line 12)"."""
    text = frame.get_column(column).cast(pl.String)
    if expected == "numeric":
        bad = (
            text.is_not_null()
            & text.str.strip_chars().cast(pl.Float64, strict=False).is_null()
        )
    elif expected == "temporal":
        bad = text.is_not_null() & parse_times(text).is_null()
    else:
        bad = text.is_not_null()
    rows = frame.with_row_index("_line").filter(bad).head(3)
    shown = [
        f"{value!r} (line {line + 2})"
        for line, value in zip(
            rows.get_column("_line").to_list(),
            rows.get_column(column).cast(pl.String).to_list(),
            strict=True,
        )
    ]
    total = int(bad.sum())
    more = f" and {total - len(shown)} more" if total > len(shown) else ""
    return ", ".join(shown) + more


def check_rows(ctx: Context) -> Check:
    """Every split has data rows (a header-only file is a clear mistake)."""
    problems = [
        Problem(
            ctx.file(split),
            "the file has a header but no data rows",
            "write the split's rows (re-run the feature-engineering stage, or "
            "`model-training-epic from-csv ... --force`)",
        )
        for split, frame in ctx.frames.items()
        if frame.height == 0
    ]
    if problems:
        return Check("rows", "fail", "a split has no rows", problems=problems)
    return Check("rows", "pass", "every split has rows")


def check_sample_size(ctx: Context, *, train_too: bool = True) -> Check:
    """Warn when a split is too small for its scores to be trusted.

    Few training rows (absolutely, or per feature) make the fitted models
    unstable; a held-out split of few rows, or with few rows of some class,
    gives a score whose confidence interval is wide. Forecasts are judged by
    their own horizon-block folds and are not checked here. ``train_too``:
    judge the training rows as well as the held-out splits.
    """
    if ctx.spec.kind.temporal:
        return Check("sample_size", "pass", "forecasts: judged by walk-forward folds")
    t = ctx.t
    notes, details = [], {}
    train = ctx.frames["train"].height
    features = len(ctx.features)
    details["train_rows"] = train
    details["features"] = features
    if train_too and (
        train < t.small_training_rows or train < t.training_rows_per_feature * features
    ):
        notes.append(
            f"train has {train} rows for {features} feature(s) (fewer than "
            f"{t.small_training_rows}, or {t.training_rows_per_feature} per feature): "
            "fitted models are unstable and the cross-validated scores in "
            "model_selection.json are the better guide; more rows are the fix"
        )
    target = ctx.spec.target if ctx.spec.kind.classification else None
    for split in ctx.held_out:
        frame = ctx.frames[split]
        smallest = None
        if target and target in frame.columns and frame.height:
            counts = frame.get_column(target).drop_nulls().value_counts()
            smallest = int(counts.get_column("count").min() or 0)
        details[f"{split}_rows"] = frame.height
        if smallest is not None:
            details[f"{split}_smallest_class_rows"] = smallest
        if frame.height < t.small_held_out_rows or (
            smallest is not None and smallest < t.small_held_out_class_rows
        ):
            what = f"{split} has {frame.height} rows" + (
                f" (smallest class {smallest})" if smallest is not None else ""
            )
            notes.append(
                f"{what}: its scores have wide confidence intervals; judge by the "
                "intervals and the cross-validated scores, not the point values"
            )
    if notes:
        return Check("sample_size", "warn", "; ".join(notes), details=details)
    return Check("sample_size", "pass", "enough rows in every split", details=details)


def check_group_folds(ctx: Context) -> Check:
    """Group k-fold needs at least as many groups in train as folds (the
    tuning cuts train into them): seven sites split 4/1/2 by from-csv left
    five folds of four groups, which scikit-learn refuses mid-run."""
    spec = ctx.spec
    column = spec.group_column
    if (
        resolve_cv_strategy(spec) not in ("group_kfold", "stratified_group_kfold")
        or not column
        or not ctx.present(column)
    ):
        return Check("group_folds", "pass", "no group k-fold cross-validation")
    groups = ctx.frames["train"].get_column(column).n_unique()
    folds = spec.cross_validation.n_splits
    details = {"train_groups": groups, "n_splits": folds}
    if groups >= folds:
        return Check(
            "group_folds",
            "pass",
            f"{groups} groups of '{column}' in train for {folds} folds",
            [column],
            details,
        )
    fix = (
        f"set cross_validation.n_splits to {groups} in {spec.location}, or "
        "re-split with more groups in train"
        if groups >= 2
        else "re-split so that train holds at least two groups"
    )
    return Check(
        "group_folds",
        "fail",
        f"train holds {groups} group(s) of '{column}' for {folds} folds",
        [column],
        {**details, "fitting_n_splits": groups if groups >= 2 else None},
        [
            Problem(
                f"{ctx.file('train')}, column '{column}'",
                f"{groups} group(s) for {folds} group k-fold folds: every fold "
                "needs groups of its own",
                fix,
            )
        ],
    )
