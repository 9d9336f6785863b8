"""Data-quality checks on an epic's feature splits (stage step 1 and more).

:func:`run_checks` returns every check with its status (``pass``, ``warn`` or
``fail``), its figures and the columns concerned. A ``fail`` is blocking: the
caller raises one :class:`~model_training.lib.core.errors.InputError` listing every
blocking problem with the file, column and fix.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.core.errors import InputError, Problem
from model_training.lib.core.plan import NUMERIC_DTYPES
from model_training.lib.core.spec import FeatureSchema, ModelingSpec

SPLITS = ("train", "validation", "test")
_POLARS_KIND = {
    "int": "numeric",
    "float": "numeric",
    "bool": "bool",
    "string": "text",
    "date": "temporal",
    "datetime": "temporal",
}


@dataclass
class Check:
    """The outcome of one data-quality check."""

    name: str
    status: str
    message: str
    columns: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The check as report JSON (problems rendered as text)."""
        out = {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "columns": self.columns,
            "details": self.details,
        }
        if self.problems:
            out["problems"] = [
                {"where": p.where, "what": p.what, "fix": p.fix} for p in self.problems
            ]
        return out


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "numeric"
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_temporal():
        return "temporal"
    if dtype == pl.Null:
        return "null"
    return "text"


class _Context:
    """The inputs shared by every check."""

    def __init__(
        self,
        frames: dict[str, pl.DataFrame],
        schema: FeatureSchema,
        spec: ModelingSpec,
        thresholds: dict[str, Any],
    ) -> None:
        self.frames = frames
        self.held_out = [s for s in frames if s != "train"]
        self.schema = schema
        self.spec = spec
        self.t = thresholds
        spec_roles = {
            spec.target,
            spec.group_column,
            spec.time_column,
            spec.region_column,
            spec.label_column,
            *spec.id_columns,
        }
        self.features = [
            c.name
            for c in schema.columns
            if c.role == "feature" and c.name not in spec_roles
        ]

    def file(self, split: str) -> str:
        return self.schema.split_file(split)

    def present(self, column: str) -> bool:
        return all(column in f.columns for f in self.frames.values())

    def declared(self, column: str) -> str | None:
        info = self.schema.column(column)
        return info.dtype if info else None


def _schema_columns(ctx: _Context) -> Check:
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


def _spec_columns(ctx: _Context) -> Check:
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


def _dtypes(ctx: _Context) -> Check:
    problems, widened = [], []
    for info in ctx.schema.columns:
        if not ctx.present(info.name):
            continue
        kinds = {
            s: "null"  # an entirely empty column reads as text: judge it as missing
            if f.get_column(info.name).null_count() == f.height
            else _kind(f.schema[info.name])
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
                parsed = (
                    ctx.frames[split]
                    .get_column(info.name)
                    .str.to_datetime(strict=False)
                )
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
        bad = text.is_not_null() & text.str.to_datetime(strict=False).is_null()
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


def _rows(ctx: _Context) -> Check:
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


def _target(ctx: _Context) -> tuple[Check, Check | None]:
    spec = ctx.spec
    if not spec.target or not ctx.present(spec.target):
        return Check("target", "pass", "no target (unsupervised)"), None
    problems = []
    for split, frame in ctx.frames.items():
        nulls = frame.get_column(spec.target).null_count()
        if nulls:
            problems.append(
                Problem(
                    f"{ctx.file(split)}, column '{spec.target}'",
                    f"the target has {nulls} missing value(s)",
                    "drop those rows or fill the target in the feature-engineering stage",
                )
            )
    train_target = ctx.frames["train"].get_column(spec.target).drop_nulls()
    n_unique = train_target.n_unique()
    details: dict[str, Any] = {"n_unique_train": n_unique}
    balance = None
    if spec.kind.classification:
        counts = {
            split: {
                str(k): int(v)
                for k, v in frame.get_column(spec.target).value_counts().iter_rows()
                if k is not None
            }
            for split, frame in ctx.frames.items()
        }
        classes = sorted(counts["train"], key=str)
        spelling = _label_spelling(ctx, classes)
        problems += spelling
        single = {split: list(c) for split, c in counts.items() if len(c) == 1}
        for split, only in single.items():
            problems.append(
                Problem(
                    f"{ctx.file(split)}, column '{spec.target}'",
                    f"the {split} split holds a single class ({only[0]!r}): a model "
                    + (
                        "cannot learn to tell classes apart from it"
                        if split == "train"
                        else "cannot be scored on it (ROC-AUC, F1 and the "
                        "baseline comparison are undefined)"
                    ),
                    "re-split the data stratified by the target so that every split "
                    "holds every class",
                )
            )
        if (
            spec.kind.binary
            and n_unique != 2
            and "train" not in single
            and not spelling
        ):
            problems.append(
                Problem(
                    f"{ctx.file('train')}, column '{spec.target}'",
                    f"binary_classification needs exactly 2 classes, found {n_unique}: {classes[:10]}",
                    f"set problem_type in {spec.location} to "
                    + (
                        "multiclass_classification"
                        if n_unique > 2
                        else "a fitting type"
                    ),
                )
            )
        if not spec.kind.binary and n_unique == 2:
            problems.append(
                Problem(
                    f"{ctx.file('train')}, column '{spec.target}'",
                    f"multiclass_classification needs 3 or more classes, found {n_unique}",
                    f"set problem_type in {spec.location} to binary_classification",
                )
            )
        if (
            spec.positive_class is not None
            and str(spec.positive_class) not in classes
            and "train" not in single
        ):
            problems.append(
                Problem(
                    f"{spec.location}, key 'positive_class'",
                    f"'{spec.positive_class}' is not a class of '{spec.target}'",
                    "use one of: " + ", ".join(classes),
                )
            )
        for split in ctx.held_out:
            unseen = sorted(set(counts[split]) - set(counts["train"]))
            if unseen and "train" not in single:
                problems.append(
                    Problem(
                        f"{ctx.file(split)}, column '{spec.target}'",
                        f"classes {unseen} do not occur in the training split",
                        "re-split the data so that every class occurs in train",
                    )
                )
        too_small = {
            k: v
            for k, v in counts["train"].items()
            if v < spec.cross_validation.n_splits
        }
        if too_small and not spelling:
            problems.append(
                Problem(
                    f"{ctx.file('train')}, column '{spec.target}'",
                    f"classes {sorted(too_small)} have fewer training rows than the "
                    f"{spec.cross_validation.n_splits} cross-validation folds",
                    "merge rare classes, add data, or lower cross_validation.n_splits "
                    f"in {spec.location}",
                )
            )
        total = sum(counts["train"].values())
        shares = {k: v / total for k, v in counts["train"].items()}
        minority = min(shares.values()) if shares else 0.0
        ratio_warn = imbalance_bar(ctx.t, len(shares))
        balance = Check(
            "class_balance",
            "warn" if minority < ratio_warn else "pass",
            f"smallest class share in train is {minority:.1%}"
            + (
                " (imbalanced: see the spec's `imbalance` option)"
                if minority < ratio_warn
                else ""
            ),
            columns=[spec.target],
            details={"counts": counts, "train_shares": shares},
        )
    elif spec.kind.numeric_output:
        if _kind(train_target.dtype) != "numeric":
            problems.append(
                Problem(
                    f"{ctx.file('train')}, column '{spec.target}'",
                    f"{spec.problem_type} needs a numeric target, found {train_target.dtype}",
                    f"clean the target, or set problem_type in {spec.location} to a classification type",
                )
            )
        else:
            finite = train_target.cast(pl.Float64)
            details.update(
                {
                    "mean": finite.mean(),
                    "std": finite.std(),
                    "min": finite.min(),
                    "max": finite.max(),
                }
            )
    if problems:
        return Check(
            "target",
            "fail",
            "the target does not fit the spec",
            [spec.target],
            details,
            problems,
        ), balance
    return Check(
        "target",
        "pass",
        f"target '{spec.target}' fits {spec.problem_type}",
        [spec.target],
        details,
    ), balance


def imbalance_bar(thresholds: dict[str, Any], n_classes: int) -> float:
    """The smallest class share that is not called imbalanced.

    ``imbalance_warn_share`` is for two classes (20 % against an even 50 %);
    with k classes an even share is 1/k, so the bar scales by 2/k (8 % for 5).
    """
    return float(thresholds["imbalance_warn_share"]) * 2 / max(n_classes, 2)


def class_balance_status(
    frame: pl.DataFrame, column: str, thresholds: dict[str, Any]
) -> str:
    """``warn`` when the rarest class of ``column`` is below :func:`imbalance_bar`."""
    shares = frame.get_column(column).drop_nulls().value_counts(normalize=True)
    values = shares.get_column(shares.columns[1]).to_list()
    return "warn" if min(values) < imbalance_bar(thresholds, len(values)) else "pass"


def _label_spelling(ctx: _Context, classes: list[str]) -> list[Problem]:
    """Classes that differ only by surrounding spaces or letter case ('good ', 'Good')."""
    spellings: dict[str, list[str]] = {}
    for cls in classes:
        spellings.setdefault(cls.strip().lower(), []).append(cls)
    clashes = [v for v in spellings.values() if len(v) > 1]
    if not clashes:
        return []
    shown = "; ".join(" and ".join(repr(v) for v in group) for group in clashes[:5])
    return [
        Problem(
            f"{ctx.file('train')}, column '{ctx.spec.target}'",
            f"target values differ only by surrounding spaces or letter case "
            f"({shown}), so one class is counted as several",
            "strip and normalise the target's values in the feature-engineering stage",
        )
    ]


def _missing(ctx: _Context) -> Check:
    table = {
        split: {
            c: int(n)
            for c, n in zip(f.columns, f.null_count().row(0), strict=True)
            if n
        }
        for split, f in ctx.frames.items()
    }
    limit = float(ctx.t["missing_warn_fraction"])
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


def _non_finite(ctx: _Context) -> Check:
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


def _categorical_features(ctx: _Context) -> list[str]:
    return [
        c
        for c in ctx.features
        if ctx.present(c)
        and (
            ctx.declared(c) not in NUMERIC_DTYPES
            or _kind(ctx.frames["train"].schema[c]) == "text"
        )
        and ctx.declared(c) not in ("date", "datetime")
    ]


def _unseen_categories(ctx: _Context) -> Check:
    found: dict[str, dict[str, list[str]]] = {}
    for column in _categorical_features(ctx):
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


def _constant(ctx: _Context) -> Check:
    train = ctx.frames["train"]
    limit = float(ctx.t["near_constant_share"])
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


def _identifier_like(ctx: _Context) -> Check:
    train = ctx.frames["train"]
    limit = float(ctx.t["identifier_unique_share"])
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


def _cardinality(ctx: _Context) -> Check:
    limit = int(ctx.t["high_cardinality"])
    flagged = {
        c: ctx.frames["train"].get_column(c).n_unique()
        for c in _categorical_features(ctx)
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


def _duplicates(ctx: _Context) -> Check:
    columns = [
        c.name
        for c in ctx.schema.columns
        if c.role not in ("identifier",) and ctx.present(c.name)
    ]
    # compare as text: a column read as int in one split and float in another
    # still matches value for value
    rows = {s: f.select(pl.col(columns).cast(pl.String)) for s, f in ctx.frames.items()}
    within = {s: int(f.is_duplicated().sum()) for s, f in rows.items()}
    train_rows = rows["train"].unique()
    lines = {
        split: [
            i + 2  # the CSV line: the header is line 1
            for i in rows[split]
            .with_row_index("_row")
            .join(train_rows, on=columns, how="semi", nulls_equal=True)
            .get_column("_row")
            .to_list()
        ]
        for split in ctx.held_out
    }
    across = {split: len(found) for split, found in lines.items()}
    details = {
        "within_split_duplicated_rows": within,
        "rows_also_in_train": across,
        "lines_also_in_train": {s: found[:50] for s, found in lines.items()},
    }
    limit = float(ctx.t["cross_split_duplicate_fraction"])

    def where(split: str) -> str:
        shown = ", ".join(map(str, lines[split][:5]))
        more = len(lines[split]) - 5
        return f"{ctx.file(split)} lines {shown}" + (
            f" and {more} more" if more > 0 else ""
        )

    heavy = [
        s
        for s, n in across.items()
        if ctx.frames[s].height and n / ctx.frames[s].height > limit
    ]
    if heavy:
        return Check(
            "duplicates",
            "warn",
            f"more than {limit:.0%} of the rows of {', '.join(heavy)} also occur in train "
            f"({'; '.join(where(s) for s in heavy)}): held-out scores will be optimistic; "
            "remove them from the held-out split or re-split without duplicates",
            details=details,
        )
    if any(within.values()) or any(across.values()):
        overlap = [s for s, n in across.items() if n]
        return Check(
            "duplicates",
            "warn",
            "some rows are duplicated within or across splits"
            + (
                f" (also in train: {'; '.join(where(s) for s in overlap)})"
                if overlap
                else ""
            ),
            details=details,
        )
    return Check(
        "duplicates",
        "pass",
        "no duplicated rows within or across splits",
        details=details,
    )


def _single_feature_score(
    train_x: pl.Series,
    train_y: np.ndarray,
    valid_x: pl.Series,
    valid_y: np.ndarray,
    spec: ModelingSpec,
) -> float:
    """Score a one-feature lookup model fitted on train, on validation."""
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if train_x.dtype.is_numeric() and train_x.n_unique() > 20:
        edges = np.unique(
            np.nanquantile(
                train_x.cast(pl.Float64).drop_nulls().to_numpy(), np.linspace(0, 1, 21)
            )
        )

        def keys(s: pl.Series) -> np.ndarray:
            values = s.cast(pl.Float64).to_numpy()
            out = np.searchsorted(edges, values, side="right").astype(str)
            out[np.isnan(values)] = "missing"
            return out
    else:

        def keys(s: pl.Series) -> np.ndarray:
            return np.asarray(
                s.cast(pl.String).fill_null("missing").to_list(), dtype=object
            )

    k_train, k_valid = keys(train_x), keys(valid_x)
    if spec.kind.binary:
        positive = np.array(
            [str(v) == str(spec.positive_class) for v in train_y], dtype=float
        )
        means = _group_means(k_train, positive)
        prior = positive.mean()
        scores = np.array([means.get(k, prior) for k in k_valid])
        truth = np.array(
            [str(v) == str(spec.positive_class) for v in valid_y], dtype=int
        )
        if len(np.unique(truth)) < 2:
            return float("nan")
        auc = roc_auc_score(truth, scores)
        return float(max(auc, 1 - auc))
    if spec.kind.classification:
        majority = {}
        for key in np.unique(k_train):
            values, counts = np.unique(
                train_y[k_train == key].astype(str), return_counts=True
            )
            majority[key] = values[np.argmax(counts)]
        overall = max(set(train_y.astype(str)), key=list(train_y.astype(str)).count)
        predicted = np.array([majority.get(k, overall) for k in k_valid])
        return float(accuracy_score(valid_y.astype(str), predicted))
    y_train = train_y.astype(float)
    means = _group_means(k_train, y_train)
    predicted = np.array([means.get(k, y_train.mean()) for k in k_valid])
    return float(r2_score(valid_y.astype(float), predicted))


def _group_means(keys: np.ndarray, values: np.ndarray) -> dict[Any, float]:
    out = {}
    for key in np.unique(keys):
        out[key] = float(values[keys == key].mean())
    return out


def _leakage(ctx: _Context) -> Check:
    spec = ctx.spec
    if (
        not spec.target
        or not ctx.present(spec.target)
        or spec.kind.target != "required"
        or spec.kind.temporal
    ):
        return Check("leakage", "pass", "no supervised target to screen against")
    train, valid = ctx.frames["train"], ctx.frames["validation"]
    keep_train = train.get_column(spec.target).is_not_null()
    keep_valid = valid.get_column(spec.target).is_not_null()
    train, valid = train.filter(keep_train), valid.filter(keep_valid)
    if train.height < 10 or valid.height < 10:
        return Check("leakage", "pass", "too few rows to screen for leakage")
    y_train = train.get_column(spec.target).to_numpy()
    y_valid = valid.get_column(spec.target).to_numpy()
    limit = float(ctx.t["leakage_score"])
    scores, flagged = {}, []
    for column in ctx.features:
        if not ctx.present(column):
            continue
        try:
            score = _single_feature_score(
                train.get_column(column),
                y_train,
                valid.get_column(column),
                y_valid,
                spec,
            )
        except (ValueError, TypeError):
            continue
        scores[column] = round(score, 4)
        if score >= limit:
            flagged.append(column)
    details = {
        "single_feature_validation_score": dict(
            sorted(scores.items(), key=lambda kv: -(kv[1] if kv[1] == kv[1] else -1))
        )
    }
    if not flagged:
        return Check(
            "leakage",
            "pass",
            f"no single feature predicts the target alone (score < {limit})",
            details=details,
        )
    status = "fail" if ctx.t["leakage_blocks"] else "warn"
    metric = (
        ("ROC-AUC" if spec.kind.binary else "accuracy")
        if spec.kind.classification
        else "R²"
    )
    problems = [
        Problem(
            f"{ctx.file('train')}, column '{c}'",
            f"predicts '{spec.target}' almost perfectly on its own ({metric} {scores[c]:.3f} on "
            "validation): likely target leakage",
            f"remove the column or set its role to ignore in {ctx.schema.source}; if it is "
            "legitimate, set data_validation.thresholds.leakage_blocks: false",
        )
        for c in flagged
    ]
    return Check(
        "leakage",
        status,
        "single features predict the target almost perfectly",
        flagged,
        details,
        problems,
    )


def _temporal(ctx: _Context) -> Check:
    column = ctx.spec.time_column
    if not column or not ctx.present(column):
        return Check("temporal_order", "pass", "no time column")
    ranges, unsorted, problems = {}, [], []
    for split, frame in ctx.frames.items():
        series = frame.get_column(column)
        if series.dtype == pl.String:
            series = series.str.to_datetime(strict=False)
        if series.null_count():
            problems.append(
                Problem(
                    f"{ctx.file(split)}, column '{column}'",
                    f"{series.null_count()} missing or unparsable timestamps",
                    "write timestamps as ISO 8601 (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)",
                )
            )
            continue
        if not series.is_sorted():
            unsorted.append(split)
        ranges[split] = (series.min(), series.max())
    order = [s for s in SPLITS if s in ranges]
    for earlier, later in itertools.pairwise(order):
        if ranges[earlier][1] >= ranges[later][0]:
            problems.append(
                Problem(
                    f"{ctx.file(later)}, column '{column}'",
                    f"{later} starts at {ranges[later][0]}, not after the end of {earlier} "
                    f"({ranges[earlier][1]}): the splits overlap in time",
                    "split the data chronologically: train < validation < test",
                )
            )
    details = {
        "ranges": {s: [str(a), str(b)] for s, (a, b) in ranges.items()},
        "unsorted": unsorted,
    }
    if problems:
        return Check(
            "temporal_order",
            "fail",
            "splits are not in time order",
            [column],
            details,
            problems,
        )
    if unsorted:
        return Check(
            "temporal_order",
            "warn",
            "rows are not sorted by time within a split; they are sorted before use",
            [column],
            details,
        )
    return Check(
        "temporal_order",
        "pass",
        "splits are sorted and in time order",
        [column],
        details,
    )


def _regular(ctx: _Context) -> Check:
    """Time series: unique timestamps on the declared frequency, no gaps.

    Also the splits must follow each other without a gap, and known covariates
    must have values wherever a forecast is made (validation and test).
    """
    import pandas as pd

    spec = ctx.spec
    column = spec.time_column
    if not spec.kind.temporal or not column or not ctx.present(column):
        return Check("regular_timestamps", "pass", "not a time-series epic")
    problems, details = [], {}
    ends = {}
    series_column = spec.series_column
    parts = []
    for split, frame in ctx.frames.items():
        if series_column and series_column in frame.columns:
            for group in frame.partition_by(series_column, maintain_order=True):
                name = group.get_column(series_column)[0]
                parts.append((split, f"{split} (series {name})", group))
        else:
            parts.append((split, split, frame))
    for split, label, frame in parts:
        times = pd.DatetimeIndex(
            pd.to_datetime(
                np.asarray(frame.get_column(column).cast(pl.String)), errors="coerce"
            )
        ).dropna()
        if len(times) == 0:
            continue
        ordered = times.sort_values()
        duplicated = ordered[ordered.duplicated()].unique()
        grid = pd.date_range(ordered[0], ordered[-1], freq=spec.frequency)
        missing = grid.difference(ordered)
        off_grid = ordered.difference(grid)
        first, last = ends.get(split, (ordered[0], ordered[-1]))
        ends[split] = (min(first, ordered[0]), max(last, ordered[-1]))
        details[label] = {
            "duplicates": [
                str(t.date()) if t == t.normalize() else str(t) for t in duplicated[:10]
            ],
            "missing": [
                str(t.date()) if t == t.normalize() else str(t) for t in missing[:10]
            ],
            "off_frequency": [str(t) for t in off_grid[:10]],
            "n_duplicates": len(duplicated),
            "n_missing": len(missing),
            "n_off_frequency": len(off_grid),
        }
        where = f"{ctx.file(split)}, column '{column}'" + (
            label[len(split) :] if label != split else ""
        )
        if len(duplicated):
            problems.append(
                Problem(
                    where,
                    f"{len(duplicated)} duplicated timestamps, e.g. "
                    + ", ".join(details[label]["duplicates"][:5]),
                    "keep one row per period (aggregate duplicates)",
                )
            )
        if len(off_grid):
            problems.append(
                Problem(
                    where,
                    f"{len(off_grid)} timestamps are not on the '{spec.frequency}' grid, e.g. "
                    + ", ".join(details[label]["off_frequency"][:5]),
                    "align timestamps to the frequency (e.g. month start for MS) or "
                    "fix 'frequency' in the modeling spec",
                )
            )
        if len(missing):
            problems.append(
                Problem(
                    where,
                    f"{len(missing)} periods are missing, e.g. "
                    + ", ".join(details[label]["missing"][:5]),
                    "fill the gaps (e.g. carry the last value forward, or interpolate) "
                    "in the feature-engineering stage",
                )
            )
    order = [s for s in SPLITS if s in ends]
    for earlier, later in itertools.pairwise(order):
        if SPLITS.index(later) - SPLITS.index(earlier) != 1:
            continue  # train vs test (evaluation): validation lies between
        expected = pd.date_range(ends[earlier][1], periods=2, freq=spec.frequency)[1]
        if ends[later][0] > expected:
            problems.append(
                Problem(
                    f"{ctx.file(later)}, column '{column}'",
                    f"{later} starts at {ends[later][0]}, but the period after the end "
                    f"of {earlier} is {expected}: the splits leave a gap",
                    "split a continuous series at consecutive periods",
                )
            )
    for name in spec.known_covariates:
        for split in ctx.held_out:
            frame = ctx.frames[split]
            if name in frame.columns and frame.get_column(name).null_count():
                problems.append(
                    Problem(
                        f"{ctx.file(split)}, column '{name}'",
                        f"known covariate has {frame.get_column(name).null_count()} "
                        "missing values where forecasts are made",
                        "a covariate known in advance must be filled for every future "
                        "period; otherwise drop it from known_covariates",
                    )
                )
    if problems:
        return Check(
            "regular_timestamps",
            "fail",
            "timestamps are not one per period at the declared frequency",
            [column],
            details,
            problems,
        )
    return Check(
        "regular_timestamps",
        "pass",
        f"one row per '{spec.frequency}' period, no gaps, splits consecutive",
        [column],
        details,
    )


def run_checks(
    frames: dict[str, pl.DataFrame],
    schema: FeatureSchema,
    spec: ModelingSpec,
    thresholds: dict[str, Any],
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
    ctx = _Context(frames, schema, spec, thresholds)
    checks = [_rows(ctx)]
    if checks[0].status == "fail":
        return checks  # nothing else can be judged on an empty split
    checks += [_schema_columns(ctx), _spec_columns(ctx)]
    if any(c.status == "fail" for c in checks):
        return checks
    target, balance = _target(ctx)
    dtypes = _dtypes(ctx)
    checks += [dtypes, target]
    if balance is not None:
        checks.append(balance)
    if dtypes.status == "fail":
        return checks  # value checks on mistyped columns would only add noise
    checks += [
        _missing(ctx),
        _non_finite(ctx),
        _temporal(ctx),
        _regular(ctx),
        _unseen_categories(ctx),
    ]
    if held_out_only:
        return [*checks, _duplicates(ctx)]
    checks += [
        _constant(ctx),
        _identifier_like(ctx),
        _cardinality(ctx),
        _duplicates(ctx),
    ]
    if "validation" in frames and all(c.status != "fail" for c in checks):
        checks.append(_leakage(ctx))  # screening broken data would only add noise
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
