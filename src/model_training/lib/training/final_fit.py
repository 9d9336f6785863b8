"""Stage step 5, the end: refit the selected configuration on train +
validation, calibrate it and choose its decision threshold (the problem
type's ``finalize``), from the same folds the selection judged on."""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv import order_for_cv, with_folds
from model_training.lib.core.budget import Budget
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.configs import config_fit_params, pipeline_for
from model_training.lib.training.protocol import capped_splits

logger = logging.getLogger(__name__)


def _reusable(
    record: dict[str, Any] | None,
    config: dict[str, Any],
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, float] | None:
    """The selection's out-of-fold predictions as ``out_of_fold`` returns
    them, when they are of this configuration on exactly these folds."""
    if not record or any(
        record.get(k) != config.get(k) for k in ("model", "params", "imbalance")
    ):
        return None
    rows = np.concatenate([valid for _, valid in splits])
    if not np.array_equal(np.asarray(record["rows"]), rows):
        return None
    return np.asarray(record["preds"]), record["scores"], rows, 0.0


def _affordable_folds(
    plan: ModelingPlan, selection: dict[str, Any], budget: Budget | None
) -> tuple[int, str | None]:
    """The folds of the out-of-fold pass the budget affords, and why fewer."""
    folds = plan.spec.cross_validation.n_splits
    if budget is None or not budget.bounded or not plan.spec.kind.classification:
        return folds, None
    chosen = selection["selected"]["model"]
    per_fit = next(
        (
            row.get("cv_fit_time_s") or 0.0
            for row in selection.get("models", [])
            if row.get("model") == chosen
        ),
        0.0,
    )
    if per_fit <= 0 or budget.affords("selection", per_fit * (folds + 1)):
        return folds, None
    affordable = max(2, min(folds, int(budget.left("selection") / per_fit) - 1))
    if affordable >= folds:
        return folds, None
    return affordable, budget.note(
        "selection",
        f"calibration and threshold from {affordable}-fold out-of-fold "
        f"predictions instead of {folds} (each fit about {per_fit:.0f} s)",
    )


def fit_final(
    plan: ModelingPlan,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    selection: dict[str, Any],
    options: TuningParams,
    seed: int,
    budget: Budget | None = None,
    selection_oof: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Refit the selected configuration on train + validation, then calibrate
    and set the threshold from out-of-fold predictions.

    The out-of-fold pass refits the model once per fold. When the run budget's
    selection checkpoint cannot afford that (projected from the selection's
    own fit time of the configuration), fewer folds are used, at least two;
    ``folds_for_calibration`` and a note say so. When the selection already
    holds this configuration's out-of-fold predictions on the same folds
    (``selection_oof``), they are reused and no fold is refitted.
    """
    problem = get_problem(plan.spec.problem_type)
    combined = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), plan
    )
    x, y = split_xy(combined, plan)
    config = selection["selected"]
    pipeline = pipeline_for(plan, config, options, seed)
    # the rows the selection judged on (fewer when the run budget bound there)
    max_rows = (selection.get("protocol") or {}).get("max_rows", options.max_rows)
    reused = _reusable(
        selection_oof, config, capped_splits(combined, y, plan, seed, max_rows)
    )
    folds, note = (
        (plan.spec.cross_validation.n_splits, None)
        if reused is not None
        else _affordable_folds(plan, selection, budget)
    )
    if folds < plan.spec.cross_validation.n_splits:
        logger.warning("Final fit: %s", note)
        plan = with_folds(plan, folds)
    splits = capped_splits(combined, y, plan, seed, max_rows)
    start = time.perf_counter()
    model, decided = problem.finalize(
        pipeline,
        x,
        y,
        plan,
        splits,
        partial(config_fit_params, plan, config),  # picklable: folds may run in workers
        options,
        seed,
        oof=reused,
    )
    info = {
        "epic_id": plan.spec.epic_id,
        "model": config["model"],
        "params": config["params"],
        "imbalance": config["imbalance"],
        "refit_on": "train+validation",
        "n_rows": len(y),
        "features": plan.features,
        "fit_and_finish_s": round(time.perf_counter() - start, 3),
        "folds_for_calibration": len(splits),
        "out_of_fold_from": "the selection's folds (no refit)"
        if reused is not None
        else "refits on the folds",
        **({"run_budget_note": note} if note else {}),
        **decided,
    }
    if config.get("members"):
        info["members"] = config["members"]
    if "cluster_count" in selection:
        info["cluster_count"] = selection["cluster_count"]
    info["summary"] = {f"oof_{k}": v for k, v in decided.get("oof_metrics", {}).items()}
    if "threshold" in decided:
        info["summary"]["decision_threshold"] = decided["threshold"]["threshold"]
    if "calibration" in decided:
        info["summary"]["ece_before"] = decided["calibration"]["ece_before"]
        info["summary"]["ece_after"] = decided["calibration"]["ece_after"]
    return model, info
