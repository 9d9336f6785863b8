"""Cross-validation splitters chosen from the plan (stage step 4.3).

* classification: stratified k-fold; regression: k-fold (both shuffled, seeded);
* a ``group_column``: group k-fold (stratified for classification), groups never
  straddle folds;
* a ``region_column``: spatial, leave-regions-out (group k-fold on the region);
* a ``time_column``: expanding-window ``TimeSeriesSplit`` with the spec's gap,
  rows sorted by time first, never shuffled.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    TimeSeriesSplit,
)

from model_training.lib.core.plan import ModelingPlan


def _groups(frame: pl.DataFrame, plan: ModelingPlan) -> np.ndarray | None:
    column = (
        plan.spec.region_column
        if plan.cv_strategy == "spatial"
        else plan.spec.group_column
    )
    if plan.cv_strategy in ("group_kfold", "stratified_group_kfold", "spatial"):
        if not column or column not in frame.columns:
            raise ValueError(
                f"cross_validation strategy {plan.cv_strategy} needs "
                f"{'region_column' if plan.cv_strategy == 'spatial' else 'group_column'} in the spec"
            )
        return (
            frame.get_column(column).cast(pl.String).fill_null("__missing__").to_numpy()
        )
    return None


def with_folds(plan: ModelingPlan, n_splits: int) -> ModelingPlan:
    """``plan`` with ``n_splits`` cross-validation folds (the rest unchanged)."""
    cv = plan.spec.cross_validation.model_copy(update={"n_splits": n_splits})
    spec = plan.spec.model_copy(update={"cross_validation": cv})
    return plan.model_copy(update={"spec": spec})


def order_for_cv(frame: pl.DataFrame, plan: ModelingPlan) -> pl.DataFrame:
    """Rows in the order CV needs: sorted by time for temporal data, else unchanged."""
    if plan.cv_strategy == "time_series" and plan.spec.time_column:
        keys = [plan.spec.time_column]
        if plan.spec.series_column and plan.spec.series_column in frame.columns:
            keys.append(plan.spec.series_column)
        return frame.sort(keys, maintain_order=True)
    return frame


def cv_splits(
    frame: pl.DataFrame, y: np.ndarray, plan: ModelingPlan, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, validation) row indices of each fold of ``frame``.

    ``frame`` must already be in :func:`order_for_cv` order.
    """
    n_splits = plan.spec.cross_validation.n_splits
    strategy = plan.cv_strategy
    groups = _groups(frame, plan)
    if strategy == "time_series":
        # walk-forward: expanding training window, then a gap, then a validation
        # block; forecasting epics validate on horizon-sized blocks
        horizon = plan.spec.forecast_horizon
        test_size = None
        if plan.spec.kind.temporal and horizon:
            series = plan.spec.series_column
            per_period = (
                frame.get_column(series).n_unique()
                if series and series in frame.columns
                else 1
            )
            test_size = int(horizon) * per_period  # rows of one horizon
            room = len(y) - plan.spec.cross_validation.gap - n_splits * test_size
            n_splits = n_splits if room >= 2 * test_size else max(1, n_splits // 2)
        splitter = TimeSeriesSplit(
            n_splits=n_splits, gap=plan.spec.cross_validation.gap, test_size=test_size
        )
        return list(splitter.split(np.zeros(len(y))))
    if strategy == "stratified_kfold":
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(y)), y))
    if strategy == "kfold":
        return list(
            KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
                np.zeros(len(y))
            )
        )
    if strategy == "stratified_group_kfold":
        splitter = StratifiedGroupKFold(
            n_splits=n_splits, shuffle=True, random_state=seed
        )
        return list(splitter.split(np.zeros(len(y)), y, groups))
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(
            f"{strategy} needs at least {n_splits} groups, found {n_groups}"
        )
    return list(
        GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(
            np.zeros(len(y)), y, groups
        )
    )
