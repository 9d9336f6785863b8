"""A user's CSV cells as their writer meant them: which read as missing, and
names and text tidied before the epic is built (each change said)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from model_training.lib.core.times import ISO_FORMS, iso_text, parse_times

# cells read as missing, as pandas and R read them: a numeric column with
# "NA" in it is numbers with gaps, not text
MISSING_MARKERS = ("NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A")


# a number as people write it: thousands separators, a currency sign before it
_WRITTEN_NUMBER = r"^[$€£]?-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"


def tidy(frame: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """Header names and text cells as their writer meant them (each change
    said in ``notes``): names without surrounding spaces (`` y `` would not
    be found as ``y``), a name for an unnamed column, text without surrounding
    spaces (`` Male`` and ``Male`` are one category; ``" NA "`` is missing),
    and numbers written with spaces, thousands separators or a currency sign
    (``"$1,234"``) read as numbers instead of as a category per value."""
    names = {}
    for i, old in enumerate(frame.columns):
        new = old.strip() or f"column_{i + 1}"
        if new != old and new not in frame.columns and new not in names.values():
            names[old] = new
    if names:
        notes.append(
            "Column(s) renamed: "
            + ", ".join(f"`{old}` to `{new}`" for old, new in names.items())
            + " (spaces around names, or no name)."
        )
        frame = frame.rename(names)
    doubled = [c for c in frame.columns if "_duplicated_" in c]
    if doubled:
        notes.append(
            f"The header names a column more than once: the later one(s) are "
            f"{', '.join(f'`{c}`' for c in doubled)}."
        )
    stripped, numbers = [], []
    for column in frame.columns:
        values = frame.get_column(column)
        if values.dtype != pl.String:
            continue
        clean = values.str.strip_chars()
        clean = pl.select(
            pl.when(clean.is_in(["", *MISSING_MARKERS])).then(None).otherwise(clean)
        ).to_series()
        present = clean.drop_nulls()
        if present.len() and present.str.contains(_WRITTEN_NUMBER).all():
            digits = clean.str.replace_all(r"[$€£,]", "")
            whole = not present.str.contains(r"\.").any()
            clean = digits.cast(pl.Int64 if whole else pl.Float64, strict=False)
            numbers.append(column)
        elif not clean.equals(values, null_equal=True):
            stripped.append(column)
        frame = frame.with_columns(clean.alias(column))
    if stripped:
        notes.append(
            "Spaces around the text values of "
            + ", ".join(f"`{c}`" for c in stripped)
            + " were removed."
        )
    if numbers:
        notes.append(
            "Read as numbers (spaces, thousands separators and currency signs "
            "removed): " + ", ".join(f"`{c}`" for c in numbers) + "."
        )
    return frame


# ISO 8601 as written in a CSV: a year, a month, a date, or a date and time
# (with seconds, fractions and a zone offset optional)
ISO_TIME = (
    r"^\d{4}(-\d{2}(-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)


def iso_times(
    frame: pl.DataFrame, column: str, path: Path, notes: list[str]
) -> pl.DataFrame:
    """The time column written in one ISO 8601 form (dates alone when every
    time is at midnight). The splits and the forecasts order and read it as
    times; a month written ``2021-01`` stopped data validation with a bare
    parser error, and ``05/01/2021`` (day and month in an unknown order) would
    sort as text. A value in another form, or not a time, stops the build
    with its lines."""
    values = frame.get_column(column)
    if values.dtype.is_temporal():
        return frame.with_columns(iso_text(values).alias(column))
    text = values.cast(pl.String)
    parsed = parse_times(text)
    bad = text.is_not_null() & (~text.str.contains(ISO_TIME) | parsed.is_null())
    if bad.any():
        rows = frame.with_row_index("_line").filter(bad).head(3)
        shown = ", ".join(
            f"line {line + 2}: {value!r}"
            for line, value in zip(
                rows.get_column("_line"), rows.get_column(column), strict=True
            )
        )
        raise ValueError(
            f"{path}, column '{column}': {int(bad.sum())} value(s) not an ISO 8601 "
            f"time ({shown}). Fix: write times as {ISO_FORMS} (in 05/01/2021 the "
            "order of day and month is unknown)"
        )
    written = iso_text(parsed)
    changed = int((written != text).fill_null(False).sum())
    if changed:
        first = (written != text).fill_null(False).arg_max()
        notes.append(
            f"column '{column}': {changed} time(s) rewritten in one ISO 8601 form "
            f"('{text[first]}' as '{written[first]}')"
        )
    return frame.with_columns(written.alias(column))
