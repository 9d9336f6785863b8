"""Feature checks: missing and non-finite values, unseen categories, constant, identifier-like and high-cardinality columns."""

from __future__ import annotations

import re

import polars as pl

from model_training.lib.core.errors import Problem
from model_training.lib.core.plan import NUMERIC_DTYPES
from model_training.lib.data_quality.context import Check, Context, column_kind


def check_missing(ctx: Context) -> Check:
    table = {
        split: {
            c: int(n)
            for c, n in zip(f.columns, f.null_count().row(0), strict=True)
            if n
        }
        for split, f in ctx.frames.items()
    }
    limit = float(ctx.t.missing_warn_fraction)
    heavy = sorted(
        {
            c
            for split, f in ctx.frames.items()
            for c, n in table[split].items()
            if f.height and n / f.height > limit
        }
    )
    any_missing = sorted({c for cols in table.values() for c in cols})
    if heavy:
        return Check(
            "missing_values",
            "warn",
            f"columns more than {limit:.0%} missing in some split: imputed inside the model pipeline",
            heavy,
            {"null_counts": table},
        )
    if any_missing:
        return Check(
            "missing_values",
            "warn",
            "some values are missing: imputed inside the model pipeline (fitted on training folds only)",
            any_missing,
            {"null_counts": table},
        )
    return Check(
        "missing_values", "pass", "no missing values", details={"null_counts": table}
    )


def check_non_finite(ctx: Context) -> Check:
    problems, found = [], {}
    for split, frame in ctx.frames.items():
        for column in ctx.features:
            if column not in frame.columns or not frame.schema[column].is_float():
                continue
            series = frame.get_column(column)
            n_inf = int(series.is_infinite().sum())
            n_nan = int(series.is_nan().sum())
            if n_inf or n_nan:
                found.setdefault(split, {})[column] = {"inf": n_inf, "nan": n_nan}
            if n_inf:
                lines = [
                    i + 2 for i in series.is_infinite().arg_true().head(5).to_list()
                ]
                problems.append(
                    Problem(
                        f"{ctx.file(split)}, column '{column}'",
                        f"{n_inf} infinite value(s) (line(s) {', '.join(map(str, lines))}"
                        + (" ...)" if n_inf > len(lines) else ")"),
                        "replace them with a finite value or leave them empty (missing) in "
                        "the feature-engineering stage",
                    )
                )
    if problems:
        return Check(
            "non_finite",
            "fail",
            "infinite values in features",
            sorted({c for d in found.values() for c in d}),
            {"counts": found},
            problems,
        )
    if found:
        return Check(
            "non_finite",
            "warn",
            "NaN values in features are treated as missing",
            sorted({c for d in found.values() for c in d}),
            {"counts": found},
        )
    return Check("non_finite", "pass", "all numeric values are finite")


def categorical_features(ctx: Context) -> list[str]:
    return [
        c
        for c in ctx.features
        if ctx.present(c)
        and (
            ctx.declared(c) not in NUMERIC_DTYPES
            or column_kind(ctx.frames["train"].schema[c]) == "text"
        )
        and ctx.declared(c) not in ("date", "datetime")
    ]


def check_unseen_categories(ctx: Context) -> Check:
    found: dict[str, dict[str, list[str]]] = {}
    for column in categorical_features(ctx):
        seen = set(
            ctx.frames["train"]
            .get_column(column)
            .cast(pl.String)
            .drop_nulls()
            .to_list()
        )
        for split in ctx.held_out:
            values = set(
                ctx.frames[split]
                .get_column(column)
                .cast(pl.String)
                .drop_nulls()
                .to_list()
            )
            new = sorted(values - seen)
            if new:
                found.setdefault(column, {})[split] = new[:10]
    if found:
        return Check(
            "unseen_categories",
            "warn",
            f"categories in {'/'.join(ctx.held_out)} that training never saw: encoded as unknown",
            sorted(found),
            {"unseen": found},
        )
    return Check(
        "unseen_categories",
        "pass",
        f"every {'/'.join(ctx.held_out)} category occurs in train",
    )


def check_constant(ctx: Context) -> Check:
    train = ctx.frames["train"]
    limit = float(ctx.t.near_constant_share)
    constant, near = [], {}
    for column in ctx.features:
        if column not in train.columns or train.height == 0:
            continue
        series = train.get_column(column)
        if series.n_unique() <= 1:
            constant.append(column)
            continue
        top = series.value_counts(sort=True).row(0)[1] / train.height
        if top >= limit:
            near[column] = round(top, 4)
    if constant or near:
        return Check(
            "constant_columns",
            "warn",
            "constant or near-constant features carry little information",
            constant + sorted(near),
            {"constant": constant, "near_constant_top_share": near},
        )
    return Check("constant_columns", "pass", "no constant or near-constant features")


def check_identifier_like(ctx: Context) -> Check:
    train = ctx.frames["train"]
    limit = float(ctx.t.identifier_unique_share)
    flagged = {}
    for column in ctx.features:
        if column not in train.columns or train.height < 20:
            continue
        series = train.get_column(column)
        share = series.n_unique() / train.height
        if share < limit or series.dtype.is_float():
            continue
        if series.dtype.is_integer() and not _looks_like_id(column, series):
            continue  # many distinct amounts are normal; ids are names or near-ranges
        flagged[column] = round(share, 4)
    if flagged:
        named = ", ".join(f"'{c}' ({flagged[c]:.0%} distinct)" for c in sorted(flagged))
        return Check(
            "identifier_like",
            "warn",
            f"feature(s) {named} have (almost) one distinct value per row and look like "
            "identifiers, which a model memorises instead of learning from; if they "
            f"are, set their role to identifier in {ctx.schema.source} or list them "
            f"in id_columns of {ctx.spec.location}",
            sorted(flagged),
            {"unique_share": flagged},
        )
    return Check("identifier_like", "pass", "no identifier-like features")


_ID_NAME = re.compile(r"(^id$|_id$|^id_|_key$|_no$|number|code|uuid)", re.IGNORECASE)


def _looks_like_id(name: str, series: pl.Series) -> bool:
    """An integer column looks like an id by its name or by filling a near-range."""
    if _ID_NAME.search(name):
        return True
    span = float(series.max()) - float(series.min()) + 1
    return span <= 2 * series.len()


def check_cardinality(ctx: Context) -> Check:
    limit = int(ctx.t.high_cardinality)
    flagged = {
        c: ctx.frames["train"].get_column(c).n_unique()
        for c in categorical_features(ctx)
        if ctx.frames["train"].get_column(c).n_unique() > limit
    }
    if flagged:
        return Check(
            "high_cardinality",
            "warn",
            f"categorical features with more than {limit} categories",
            sorted(flagged),
            {"n_unique": flagged},
        )
    return Check(
        "high_cardinality",
        "pass",
        f"no categorical feature has more than {limit} categories",
    )


# a text feature is called date-like when this share of its sampled values
# parses as dates or times (polars infers the format from the values)
DATE_LIKE_SHARE = 0.9
DATE_SAMPLE = 1000


def check_date_like(ctx: Context) -> Check:
    """Features holding dates or times: the models read them as categories
    (each date one category, a date unseen in training unknown), not as points
    in time, so the trend, season or age they carry is lost."""
    found = []
    for c in ctx.features:
        if not ctx.present(c) or column_kind(ctx.frames["train"].schema[c]) in (
            "numeric",
            "bool",
        ):
            continue
        values = ctx.frames["train"].get_column(c).drop_nulls().head(DATE_SAMPLE)
        if ctx.declared(c) in ("date", "datetime") or values.dtype.is_temporal():
            found.append(c)
        elif values.dtype == pl.String and values.len():
            try:
                parsed = values.str.to_datetime(strict=False).drop_nulls().len()
            except pl.exceptions.PolarsError:  # no date format fits
                continue
            if parsed >= DATE_LIKE_SHARE * values.len():
                found.append(c)
    if not found:
        return Check("date_like", "pass", "no feature holds dates or times")
    return Check(
        "date_like",
        "warn",
        f"feature(s) {', '.join(repr(c) for c in found)} hold dates or times, "
        "which the models read as categories, not as points in time; derive "
        "numbers from them in the feature files (days since an event, month, "
        "day of week) or set their role to ignore in the feature schema",
        found,
    )
