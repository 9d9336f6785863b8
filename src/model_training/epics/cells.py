"""A user's CSV cells as their writer meant them: which read as missing, and
names and text tidied before the epic is built (each change said)."""

from __future__ import annotations

import polars as pl

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
