"""A new epic from a user's CSV (one file to split, or train/validation/test files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from model_training.epics import gaps
from model_training.epics.cells import MISSING_MARKERS, iso_times, tidy
from model_training.lib.core.kinds import kind
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.context import Context
from model_training.lib.data_quality.epic_builder import (
    default_spec,
    feature_documentation,
    infer_schema,
    split_frame,
    write_epic,
)
from model_training.lib.data_quality.structure import check_group_folds
from model_training.lib.data_quality.time_folds import check_time_folds

REVIEW_NOTE = """
**Generated from the data: review before trusting a model.** Types and roles below
were guessed by `model-training-epic from-csv` (text and boolean columns are
categorical; an integer or text column with one distinct value per row is an
identifier). Correct `feature_schema.yml` (the file the pipelines read), add the
meaning of each column, and mark sensitive attributes (`sensitive: true`).
"""


def build(
    root: Path,
    epic_id: str,
    *,
    target: str | None,
    problem_type: str,
    csv: Path | None = None,
    splits: dict[str, Path] | None = None,
    time_column: str | None = None,
    id_columns: list[str] | None = None,
    ignore_columns: list[str] | None = None,
    group_column: str | None = None,
    label_column: str | None = None,
    contamination: float | None = None,
    frequency: str | None = None,
    horizon: int | None = None,
    series_column: str | None = None,
    seasonal_period: int | None = None,
    seed: int = 42,
    force: bool = False,
    drop_missing_target: bool = False,
    fill_gaps: str | None = None,
    notes: list[str] | None = None,
) -> list[Path]:
    """Write the epic's feature folder and a default modeling spec.

    Either ``csv`` (split 60/20/20 here: stratified for classification,
    chronological when ``time_column`` is given, whole groups of
    ``group_column`` to one split each) or ``splits`` (three files).
    Rows without a target value stop the build with their line numbers, or
    with ``drop_missing_target`` are left out (said in ``notes``, and in the
    feature documentation). A time series with ``fill_gaps`` (``interpolate``
    or ``ffill``) gets its missing periods and empty values filled first
    (:mod:`model_training.epics.gaps`).
    """
    if (csv is None) == (splits is None):
        raise ValueError("give either one CSV or the three split files")
    notes = [] if notes is None else notes
    if csv is not None:
        frame = tidy(_quote_free(_read(csv), notes), notes)
        _require(
            frame,
            [
                c
                for c in (
                    target,
                    time_column,
                    label_column,
                    group_column,
                    *(id_columns or []),
                    *(ignore_columns or []),
                )
                if c
            ],
            csv,
        )
        if time_column:
            frame = iso_times(frame, time_column, csv, notes)
        if fill_gaps and time_column and frequency and target:
            frame = gaps.fill_gaps(
                frame,
                time_column=time_column,
                frequency=frequency,
                target=target,
                series_column=series_column,
                method=fill_gaps,
                notes=notes,
            )
        frame = _with_target(
            frame, target, csv, drop_missing_target, notes, kind(problem_type).temporal
        )
        _two_classes(frame, target, problem_type, csv)
        stratify = {"target": target, "label": label_column}.get(
            kind(problem_type).stratify_on or ""
        )  # classes or anomalies: every split gets its share
        frames = split_frame(
            frame,
            seed=seed,
            stratify=stratify,
            time_column=time_column,
            group_column=group_column,
        )
        origin = f"Made from `{csv.name}`: split 60/20/20 with seed {seed}" + (
            f", whole groups of `{group_column}` to one split each."
            if group_column
            else "."
        )
    else:
        frames = {
            name: tidy(_quote_free(_read(path), notes), notes)
            for name, path in splits.items()
        }
        for name, frame in frames.items():
            _require(
                frame,
                [
                    c
                    for c in (
                        target,
                        time_column,
                        group_column,
                        *(ignore_columns or []),
                    )
                    if c
                ],
                splits[name],
            )
            timed = (
                iso_times(frame, time_column, splits[name], notes)
                if time_column
                else frame
            )
            frames[name] = _with_target(
                timed,
                target,
                splits[name],
                drop_missing_target,
                notes,
                kind(problem_type).temporal,
            )
        frame = pl.concat(list(frames.values()), how="diagonal_relaxed")
        origin = (
            "Made from the given train, validation and test files (no re-splitting)."
        )
    roles = {c: "identifier" for c in id_columns or []}
    roles.update({c: "ignore" for c in ignore_columns or []})  # never an input
    if time_column:
        roles[time_column] = "time"
    if label_column:
        roles[label_column] = "label"  # evaluation only, never a model input
    if series_column:
        roles[series_column] = "group"  # the series id, never a model input
    if group_column:
        roles[group_column] = "group"  # kept together, never a model input
    schema = infer_schema(frame, epic_id, target=target, roles=roles)
    doc = feature_documentation(
        schema,
        title=f"Feature documentation: {epic_id}",
        intro=REVIEW_NOTE
        + "\n"
        + " ".join(
            [
                origin,
                "Read as missing: empty cells and " + ", ".join(MISSING_MARKERS) + ".",
                *notes,
            ]
        ),
        frames=frames,
    )
    extra: dict = {"id_columns": list(id_columns or [])}
    if time_column:
        extra["time_column"] = time_column
    if label_column:
        extra["label_column"] = label_column
    if contamination is not None:
        extra["contamination"] = contamination
    for key, value in (
        ("frequency", frequency),
        ("forecast_horizon", horizon),
        ("seasonal_period", seasonal_period),
        ("series_column", series_column),
        ("group_column", group_column),
    ):
        if value is not None:
            extra[key] = value
    spec = default_spec(epic_id, problem_type, target, frame, **extra)
    spec = _folds_holding_every_class(spec, schema, frames, notes)
    return write_epic(root, epic_id, frames, schema, doc, spec, force=force)


def _read(path: Path) -> pl.DataFrame:
    """The CSV's rows, or one error naming the file, what is wrong and the fix.
    Empty cells and the :data:`MISSING_MARKERS` are missing values."""
    try:
        return pl.read_csv(
            path, infer_schema_length=None, null_values=list(MISSING_MARKERS)
        )
    except pl.exceptions.NoDataError:
        raise ValueError(
            f"{path}: the file is empty; write a header and rows"
        ) from None
    except pl.exceptions.PolarsError as exc:
        what = str(exc).strip().splitlines()[0]
        if "utf-8" in what.lower() or "utf8" in what.lower():
            raise ValueError(
                f"{path}: is not UTF-8 text ({what}). Fix: save it as UTF-8 "
                f"(for example: iconv -f latin1 -t utf-8 {path.name} > utf8.csv)"
            ) from None
        raise ValueError(
            f"{path}: cannot be read as a comma-separated file ({what}). Fix: every "
            "line needs the header's number of fields (quote values that contain "
            "commas), in UTF-8"
        ) from None


def _folds_holding_every_class(
    spec: dict[str, Any], schema: Any, frames: dict[str, pl.DataFrame], notes: list[str]
) -> dict[str, Any]:
    """The spec with fewer folds when, with the default number, some
    time-ordered validation block would lack a class that its ranking metric
    needs (a class that comes in episodes, such as recessions, is absent from
    whole blocks), or train holds fewer groups than group k-fold folds (the
    checks data validation runs); said in ``notes``."""
    try:
        parsed = ModelingSpec.model_validate(spec)
    except ValueError:  # the run's validation names what is wrong
        return spec
    held = {k: frames[k] for k in ("train", "validation")}
    context = Context(held, schema, parsed, None)
    wanted = parsed.cross_validation.n_splits
    reasons = (
        (
            check_time_folds,
            lambda fits: (
                f"with more time-ordered folds some validation block would "
                f"lack a class of `{spec['target']}`, where {parsed.primary_metric} is "
                "undefined"
            ),
        ),
        (
            check_group_folds,
            lambda fits: (
                f"train holds {fits} groups of `{spec.get('group_column')}`, "
                "one per fold at most"
            ),
        ),
    )
    for check_folds, reason in reasons:
        check = check_folds(context)
        fits = check.details.get("fitting_n_splits")
        if check.status == "fail" and fits:
            notes.append(
                f"cross_validation.n_splits is {fits}, not {wanted}: {reason(fits)}."
            )
            return {**spec, "cross_validation": {"n_splits": fits}}
    return spec


def _quote_free(frame: pl.DataFrame, notes: list[str]) -> pl.DataFrame:
    """Columns named without double quotes. The CSV reader keeps a header's
    quotes escaped (``a "b"`` comes back as ``a ""b""``, and doubles again at
    each write and read), so such a column would never match its name in the
    schema; it becomes ``a 'b'`` (said in ``notes``)."""
    renamed = {
        c: c.replace('""', "'").replace('"', "'") for c in frame.columns if '"' in c
    }
    for old, new in renamed.items():
        original = old.replace('""', '"')
        note = (
            f"Column `{original}` was renamed `{new}` (double quotes in column "
            "names do not survive CSV files)."
        )
        if note not in notes:
            notes.append(note)
    return frame.rename(renamed) if renamed else frame


def _two_classes(
    frame: pl.DataFrame, target: str | None, problem_type: str, path: Path
) -> None:
    """A classifier's target needs two classes in the file (no split of one
    class can hold two; binary needs exactly two)."""
    traits = kind(problem_type)
    if not target or not traits.classification:
        return
    classes = frame.get_column(target).drop_nulls().unique().sort().to_list()
    shown = ", ".join(repr(c) for c in classes[:5])
    if len(classes) < 2:
        raise ValueError(
            f"{path}, column '{target}': every row holds {shown or 'no value'}: "
            f"{problem_type} needs at least two classes. Fix: add rows of the "
            "other class(es), or choose another target or problem type "
            "(anomaly_detection learns from one class)"
        )
    if traits.binary and len(classes) > 2:
        raise ValueError(
            f"{path}, column '{target}': {len(classes)} classes ({shown}"
            f"{', ...' if len(classes) > 5 else ''}) for binary_classification. "
            "Fix: --problem-type multiclass_classification, or merge the classes "
            "into two"
        )


def _require(frame: pl.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        hint = next(
            (
                f" (the header looks separated by '{sep}': save the file with commas)"
                for sep in (";", "\t", "|")
                if frame.width == 1 and sep in frame.columns[0]
            ),
            "",
        )
        raise ValueError(
            f"{path}: no column(s) {', '.join(missing)}; columns are: "
            f"{', '.join(frame.columns)}{hint}"
        )


def _with_target(
    frame: pl.DataFrame,
    target: str | None,
    path: Path,
    drop: bool,
    notes: list[str],
    temporal: bool = False,
) -> pl.DataFrame:
    """The rows that have a target value; without ``drop``, rows lacking one
    stop the build (a model cannot learn from them, and a split stratified on
    the target cannot place them)."""
    if not target:
        return frame
    missing = frame.get_column(target).is_null()
    n = int(missing.sum())
    if not n:
        return frame
    if not drop:
        lines = [i + 2 for i in missing.arg_true().head(5).to_list()]
        shown = ", ".join(map(str, lines)) + (" ..." if n > len(lines) else "")
        fix = (
            "fill them in, or pass --fill-gaps interpolate (or ffill) with "
            "--csv (a forecast needs a value for every period: leaving rows "
            "out would leave gaps)"
            if temporal
            else "fill them in, remove them, or pass --drop-missing-target to "
            "leave them out"
        )
        raise ValueError(
            f"{path}, column '{target}': {n} row(s) have no target value "
            f"(line(s) {shown}). Fix: {fix}"
        )
    notes.append(
        f"{n} row(s) of `{path.name}` without a `{target}` value were left out."
    )
    return frame.filter(~missing)
