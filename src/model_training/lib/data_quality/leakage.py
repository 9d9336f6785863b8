"""Overlap and leakage checks: rows shared between splits, single features that predict the target alone."""

from __future__ import annotations

import numpy as np
import polars as pl

from model_training.lib.core.errors import Problem
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.data_quality.context import Check, Context


def comparable_rows(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The columns as values that compare across splits: numbers as floats
    (a column read as integers in one split and floats in another matches
    value for value), anything else as text."""
    return frame.select(
        pl.col(c).cast(pl.Float64)
        if frame.schema[c].is_numeric()
        else pl.col(c).cast(pl.String)
        for c in columns
    )


def row_hashes(rows: pl.DataFrame) -> pl.Series:
    return rows.hash_rows(seed=0)


def duplicated_rows(rows: pl.DataFrame, hashes: pl.Series | None = None) -> int:
    """Rows equal to another row of the same frame. Rows are hashed first
    (``hashes``, when the caller has them) and only those sharing a hash are
    compared in full, so the count is exact at the cost of one hash per row
    (comparing every row as text took 17 s of 800,000 rows by 50 columns)."""
    hashes = row_hashes(rows) if hashes is None else hashes
    shared = hashes.is_duplicated()
    if not shared.any():
        return 0
    return int(rows.filter(shared).is_duplicated().sum())


def rows_also_in(
    rows: pl.DataFrame,
    reference: pl.DataFrame,
    hashes: pl.Series | None = None,
    known: pl.Series | None = None,
) -> list[int]:
    """Positions of ``rows`` equal to a row of ``reference`` (missing values
    equal), found by row hashes (``hashes`` and ``known``, when the caller
    has them) and confirmed in full."""
    hashes = row_hashes(rows) if hashes is None else hashes
    known = row_hashes(reference) if known is None else known
    maybe = hashes.is_in(known.unique().implode())
    if not maybe.any():
        return []
    candidates = rows.with_row_index("_row").filter(maybe)
    same_hash = reference.filter(known.is_in(hashes.filter(maybe).unique().implode()))
    columns = rows.columns
    return (
        candidates.join(same_hash.unique(), on=columns, how="semi", nulls_equal=True)
        .get_column("_row")
        .sort()
        .to_list()
    )


def check_group_overlap(ctx: Context) -> Check:
    """Groups of the spec's ``group_column`` found in train and in a held-out
    split: cross-validation keeps groups together, so held-out scores on rows
    of groups train has seen would measure something else (a warning: the
    user may mean to score known groups)."""
    column = ctx.spec.group_column
    if not column or ctx.spec.time_column or not ctx.present(column):
        return Check("group_overlap", "pass", "no group column to keep together")
    train = ctx.frames["train"].get_column(column).drop_nulls().unique()
    shared = {}
    for split in ctx.held_out:
        groups = ctx.frames[split].get_column(column).drop_nulls().unique()
        shared[split] = (groups.len(), groups.filter(groups.is_in(train.implode())))
    details = {
        "groups_also_in_train": {s: found.len() for s, (_, found) in shared.items()},
        "examples": {s: found.head(5).to_list() for s, (_, found) in shared.items()},
    }
    found = [
        f"{found.len()} of the {n} groups in {ctx.file(s)} "
        f"(e.g. {', '.join(map(str, found.head(3).to_list()))})"
        for s, (n, found) in shared.items()
        if found.len()
    ]
    if not found:
        return Check(
            "group_overlap",
            "pass",
            f"no group of '{column}' is in train and a held-out split",
            [column],
            details,
        )
    return Check(
        "group_overlap",
        "warn",
        f"{'; '.join(found)} also occur in train: held-out scores are on groups "
        "the model has seen, not new ones; re-split by whole groups "
        f"(model-training-epic from-csv --group-column {column})",
        [column],
        details,
    )


def check_duplicates(ctx: Context) -> Check:
    columns = [
        c.name
        for c in ctx.schema.columns
        if c.role not in ("identifier",) and ctx.present(c.name)
    ]
    rows = {s: comparable_rows(f, columns) for s, f in ctx.frames.items()}
    hashes = {s: row_hashes(f) for s, f in rows.items()}  # once per split
    within = {s: duplicated_rows(f, hashes[s]) for s, f in rows.items()}
    lines = {
        # the CSV line: the header is line 1
        split: [
            i + 2
            for i in rows_also_in(
                rows[split], rows["train"], hashes[split], hashes["train"]
            )
        ]
        for split in ctx.held_out
    }
    across = {split: len(found) for split, found in lines.items()}
    details = {
        "within_split_duplicated_rows": within,
        "rows_also_in_train": across,
        "lines_also_in_train": {s: found[:50] for s, found in lines.items()},
    }
    limit = float(ctx.t.cross_split_duplicate_fraction)

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


def single_feature_score(
    train_x: pl.Series,
    train_y: np.ndarray,
    valid_x: pl.Series,
    valid_y: np.ndarray,
    spec: ModelingSpec,
) -> float:
    """Score a one-feature lookup model fitted on train, on validation: the
    mean target (binary, regression) or the majority class of each of the
    feature's values (numeric ones binned into 20 quantiles)."""
    from sklearn.metrics import accuracy_score, r2_score, roc_auc_score

    if train_x.dtype.is_numeric() and train_x.n_unique() > 20:
        edges = np.unique(
            np.nanquantile(
                train_x.cast(pl.Float64).drop_nulls().to_numpy(), np.linspace(0, 1, 21)
            )
        )

        def keys(s: pl.Series) -> pl.Series:
            values = s.cast(pl.Float64).fill_null(np.nan).to_numpy()
            out = np.searchsorted(edges, values, side="right").astype(np.int64)
            out[np.isnan(values)] = -1  # missing
            return pl.Series("key", out)
    else:

        def keys(s: pl.Series) -> pl.Series:
            return s.cast(pl.String).fill_null("\x00missing").rename("key")

    k_train, k_valid = keys(train_x), keys(valid_x)
    if spec.kind.binary:
        positive = (train_y.astype(str) == str(spec.positive_class)).astype(float)
        scores = _lookup(k_train, positive, k_valid, float(positive.mean()))
        truth = (valid_y.astype(str) == str(spec.positive_class)).astype(int)
        if len(np.unique(truth)) < 2:
            return float("nan")
        auc = roc_auc_score(truth, scores)
        return float(max(auc, 1 - auc))
    if spec.kind.classification:
        labels = train_y.astype(str)
        majority = (
            pl.DataFrame({"key": k_train, "y": labels})
            .group_by("key", "y")
            .len()
            .sort(["key", "len", "y"], descending=[False, True, False])
            .unique(subset="key", keep="first", maintain_order=True)
        )
        values, counts = np.unique(labels, return_counts=True)
        overall = values[np.argmax(counts)]
        predicted = (
            pl.DataFrame({"key": k_valid})
            .join(
                majority.select("key", "y"), on="key", how="left", maintain_order="left"
            )
            .get_column("y")
            .fill_null(overall)
            .to_numpy()
        )
        return float(accuracy_score(valid_y.astype(str), predicted))
    y_train = train_y.astype(float)
    predicted = _lookup(k_train, y_train, k_valid, float(y_train.mean()))
    return float(r2_score(valid_y.astype(float), predicted))


def _lookup(
    k_train: pl.Series, values: np.ndarray, k_valid: pl.Series, default: float
) -> np.ndarray:
    """Each validation key's mean of ``values`` over the training rows with
    that key (``default`` for a key unseen in training)."""
    means = (
        pl.DataFrame({"key": k_train, "v": values})
        .group_by("key")
        .agg(pl.col("v").mean())
    )
    return (
        pl.DataFrame({"key": k_valid})
        .join(means, on="key", how="left", maintain_order="left")
        .get_column("v")
        .fill_null(default)
        .to_numpy()
    )


def conclusive_rows(limit: float, alpha: float = 0.05) -> int:
    """Validation rows that make a near-perfect single-feature score
    conclusive: with fewer, even a perfect score does not show, at
    ``1 - alpha`` confidence, that the feature scores at least ``limit``
    (``limit ** n >= alpha`` while ``n < log(alpha) / log(limit)``: 149 rows
    for 0.98). Below it, a near-perfect score must be seen across the
    training rows too before the screen calls it leakage: on 30 validation
    rows of iris, petal length alone classified every row, as a strong
    feature can."""
    return int(np.ceil(np.log(alpha) / np.log(limit))) if 0 < limit < 1 else 0


def _halves_score(column: pl.Series, y: np.ndarray, spec: ModelingSpec) -> float:
    """The one-feature lookup fitted on one half of the training rows and
    scored on the other, both ways (seeded halves), averaged."""
    order = np.random.default_rng(0).permutation(len(y))
    a, b = np.sort(order[: len(y) // 2]), np.sort(order[len(y) // 2 :])
    both = [
        single_feature_score(column[fit], y[fit], column[held], y[held], spec)
        for fit, held in ((a, b), (b, a))
    ]
    return float(np.nanmean(both)) if np.isfinite(both).any() else float("nan")


# The screen is statistical: above these many rows it runs on a seeded sample.
LEAKAGE_TRAIN_ROWS = 50_000
LEAKAGE_VALID_ROWS = 20_000


def check_leakage(ctx: Context) -> Check:
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
    sampled = train.height > LEAKAGE_TRAIN_ROWS or valid.height > LEAKAGE_VALID_ROWS
    if train.height > LEAKAGE_TRAIN_ROWS:
        train = train.sample(LEAKAGE_TRAIN_ROWS, seed=0)
    if valid.height > LEAKAGE_VALID_ROWS:
        valid = valid.sample(LEAKAGE_VALID_ROWS, seed=0)
    if train.height < 10 or valid.height < 10:
        return Check("leakage", "pass", "too few rows to screen for leakage")
    y_train = train.get_column(spec.target).to_numpy()
    y_valid = valid.get_column(spec.target).to_numpy()
    limit = float(ctx.t.leakage_score)
    conclusive = conclusive_rows(limit)
    scores, flagged, on_train, doubtful = {}, [], {}, []
    for column in ctx.features:
        if not ctx.present(column):
            continue
        try:
            score = single_feature_score(
                train.get_column(column),
                y_train,
                valid.get_column(column),
                y_valid,
                spec,
            )
            if score >= limit and valid.height < conclusive:
                on_train[column] = round(
                    _halves_score(train.get_column(column), y_train, spec), 4
                )
        except (ValueError, TypeError):
            continue
        scores[column] = round(score, 4)
        if score < limit:
            continue
        if column not in on_train or on_train[column] >= limit:
            flagged.append(column)
        else:
            doubtful.append(column)
    details = {
        **(
            {"sample": f"{train.height} training and {valid.height} validation rows"}
            if sampled
            else {}
        ),
        "single_feature_validation_score": dict(
            sorted(scores.items(), key=lambda kv: -(kv[1] if kv[1] == kv[1] else -1))
        ),
        **({"single_feature_training_halves_score": on_train} if on_train else {}),
    }
    metric = (
        ("ROC-AUC" if spec.kind.binary else "accuracy")
        if spec.kind.classification
        else "R²"
    )
    if not flagged and doubtful:
        return Check(
            "leakage",
            "warn",
            f"{', '.join(repr(c) for c in doubtful)} predict(s) '{spec.target}' almost "
            f"perfectly on the {valid.height} validation rows ({metric} "
            f"{', '.join(f'{scores[c]:.3f}' for c in doubtful)}) but not across "
            f"the training rows ({', '.join(f'{on_train[c]:.3f}' for c in doubtful)}): "
            "too few rows to tell leakage from a strong feature; check how the "
            "column is made",
            doubtful,
            details,
        )
    if not flagged:
        return Check(
            "leakage",
            "pass",
            f"no single feature predicts the target alone (score < {limit})",
            details=details,
        )
    status = "fail" if ctx.t.leakage_blocks else "warn"
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
