"""Fit and score the problem type's baselines: the bar every later model must beat."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.frames import split_xy
from model_training.lib.metrics import METRICS, is_better
from model_training.lib.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.problems.base import simple_params


def fit_baselines(
    plan: ModelingPlan, train: pl.DataFrame, validation: pl.DataFrame, seed: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit every baseline on train and score it on validation.

    Returns:
        The results (one entry per baseline with its parameters, validation
        metrics and timings, and the best baseline by the primary metric) and the
        fitted baselines by name.
    """
    problem = get_problem(plan.spec.problem_type)
    x_train, y_train = split_xy(train, plan)
    x_valid, y_valid = split_xy(validation, plan)
    primary = plan.spec.primary_metric
    entries, fitted = [], {}
    best: dict[str, Any] | None = None
    for spec in problem.baselines(plan, seed):
        start = time.perf_counter()
        model = problem.fit(spec.estimator, x_train, y_train)
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        metrics = problem.score(model, x_valid, y_valid, plan)
        predict_time = time.perf_counter() - start
        entry = {
            "name": spec.name,
            "kind": "baseline",
            "description": spec.description,
            "params": simple_params(model),
            "metrics": metrics,
            "fit_time_s": round(fit_time, 4),
            "predict_time_s": round(predict_time, 4),
        }
        entries.append(entry)
        fitted[spec.name] = model
        if best is None or is_better(
            primary, metrics[primary], best["metrics"][primary]
        ):
            best = entry
    assert best is not None
    results = {
        "epic_id": plan.spec.epic_id,
        "problem_type": plan.spec.problem_type,
        "evaluated_on": "validation",
        "primary_metric": primary,
        "greater_is_better": METRICS[primary].greater_is_better,
        "n_train": int(x_train.height),
        "n_validation": int(x_valid.height),
        "models": entries,
        "best": {
            "name": best["name"],
            "primary_metric": primary,
            "value": best["metrics"][primary],
        },
        "summary": {f"best_baseline_{primary}": best["metrics"][primary]},
    }
    return results, fitted


def baseline_bar(results: dict[str, Any]) -> tuple[str, float]:
    """The primary metric and the best baseline's value on it."""
    value = results["best"]["value"]
    return results["primary_metric"], float("nan") if value is None else float(value)


def beats_baseline(results: dict[str, Any], value: float) -> bool:
    """True when ``value`` on the primary metric beats the best baseline."""
    metric, bar = baseline_bar(results)
    return is_better(metric, float(value), bar) and not np.isnan(value)
