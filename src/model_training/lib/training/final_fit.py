"""Stage step 5, the end: refit the selected configuration on train +
validation, calibrate it and choose its decision threshold (the problem
type's ``finalize``), from the same folds the selection judged on."""

from __future__ import annotations

import time
from typing import Any

import polars as pl

from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.selection import config_fit_params, pipeline_for


def fit_final(
    plan: ModelingPlan,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    selection: dict[str, Any],
    options: TuningParams,
    seed: int,
) -> tuple[Any, dict[str, Any]]:
    """Refit the selected configuration on train + validation, then calibrate and set the threshold."""
    problem = get_problem(plan.spec.problem_type)
    combined = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), plan
    )
    x, y = split_xy(combined, plan)
    config = selection["selected"]
    pipeline = pipeline_for(plan, config, options, seed)
    splits = cv_splits(combined, y, plan, seed)
    start = time.perf_counter()
    model, decided = problem.finalize(
        pipeline,
        x,
        y,
        plan,
        splits,
        lambda y_fit: config_fit_params(plan, config, y_fit),
        options,
        seed,
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
