"""Stage steps 5 and 9 (first part): pick the final configuration, refit it on train + validation."""

from __future__ import annotations

import logging
import time
from typing import Any

import polars as pl

from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.algorithms.registry import algorithm, build_pipeline, fit_params
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import is_better
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem

logger = logging.getLogger(__name__)


def configuration(
    entry: dict[str, Any], defaults: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A tuned model's full configuration: defaults overridden by the best trial."""
    params = dict(entry["params"])
    imbalance = params.pop(
        "imbalance", entry.get("start_params", {}).get("imbalance", "none")
    )
    return {
        "model": entry["model"],
        "params": {**(defaults.get(entry["model"]) or {}), **params},
        "imbalance": imbalance,
    }


def pipeline_for(
    plan: ModelingPlan, config: dict[str, Any], options: TuningParams, seed: int
) -> Any:
    """The unfitted pipeline of a configuration (``{model, params, imbalance}``)."""
    problem = get_problem(plan.spec.problem_type)
    return build_pipeline(
        plan,
        algorithm(problem.task, config["model"]),
        config["params"],
        seed,
        imbalance=config["imbalance"],
        feature_selection=options.feature_selection,
        selection_options=options.feature_selection_options,
    )


def select_model(
    plan: ModelingPlan,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    tuning: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    options: TuningParams,
    seed: int,
) -> dict[str, Any]:
    """Refit each tuned configuration on train and pick the best on validation.

    Validation took no part in tuning, so it judges the tuned models fairly.
    """
    problem = get_problem(plan.spec.problem_type)
    x_train, y_train = split_xy(train, plan)
    x_valid, y_valid = split_xy(validation, plan)
    primary = plan.spec.primary_metric
    rows, best = [], None
    for entry in tuning["models"]:
        if entry["status"] != "ok":
            rows.append(
                {
                    "model": entry["model"],
                    "status": "failed",
                    "reason": "no completed trial",
                }
            )
            continue
        config = configuration(entry, defaults)
        pipeline = pipeline_for(plan, config, options, seed)
        model = problem.fit(
            pipeline, x_train, y_train, fit_params(plan, config["imbalance"], y_train)
        )
        metrics = problem.score(model, x_valid, y_valid, plan)
        row = {
            **config,
            "status": "ok",
            "cv_mean": entry["metrics"]["cv_mean"],
            "validation_metrics": metrics,
        }
        rows.append(row)
        if best is None or is_better(
            primary, metrics[primary], best["validation_metrics"][primary]
        ):
            best = row
    if best is None:
        raise ValueError(
            "no tuned model completed a trial; see tuning.json for the errors"
        )
    logger.info(
        "Selected %s: validation %s = %.4f",
        best["model"],
        primary,
        best["validation_metrics"][primary],
    )
    return {
        "epic_id": plan.spec.epic_id,
        "primary_metric": primary,
        "selected": {k: best[k] for k in ("model", "params", "imbalance")},
        "rationale": (
            f"{best['model']} has the best validation {primary} "
            f"({best['validation_metrics'][primary]:.4f}) among the tuned models; validation was "
            "not used for tuning"
        ),
        "models": rows,
    }


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
        lambda y_fit: fit_params(plan, config["imbalance"], y_fit),
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
    info["summary"] = {f"oof_{k}": v for k, v in decided.get("oof_metrics", {}).items()}
    if "threshold" in decided:
        info["summary"]["decision_threshold"] = decided["threshold"]["threshold"]
    if "calibration" in decided:
        info["summary"]["ece_before"] = decided["calibration"]["ece_before"]
        info["summary"]["ece_after"] = decided["calibration"]["ece_after"]
    return model, info
