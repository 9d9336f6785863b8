"""Target checks: missing values, classes per split, spelling, class balance, numeric targets."""

from __future__ import annotations

from typing import Any

import polars as pl

from model_training.lib.core.errors import Problem
from model_training.lib.core.params import Thresholds
from model_training.lib.data_quality.context import Check, Context, column_kind


def check_target(ctx: Context) -> tuple[Check, Check | None]:
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
        spelling = label_spelling(ctx, classes)
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
        if column_kind(train_target.dtype) != "numeric":
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


def imbalance_bar(thresholds: Thresholds, n_classes: int) -> float:
    """The smallest class share that is not called imbalanced.

    ``imbalance_warn_share`` is for two classes (20 % against an even 50 %);
    with k classes an even share is 1/k, so the bar scales by 2/k (8 % for 5).
    """
    return thresholds.imbalance_warn_share * 2 / max(n_classes, 2)


def class_balance_status(
    frame: pl.DataFrame, column: str, thresholds: Thresholds
) -> str:
    """``warn`` when the rarest class of ``column`` is below :func:`imbalance_bar`."""
    shares = frame.get_column(column).drop_nulls().value_counts(normalize=True)
    values = shares.get_column(shares.columns[1]).to_list()
    return "warn" if min(values) < imbalance_bar(thresholds, len(values)) else "pass"


def label_spelling(ctx: Context, classes: list[str]) -> list[Problem]:
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
