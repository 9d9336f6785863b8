"""Fit and score the problem type's baselines: the bar every later model must beat."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import METRICS, compute_metrics, is_better
from model_training.lib.core.plan import ModelingPlan
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
        metrics, se = score_with_noise(problem, model, x_valid, y_valid, plan, seed)
        predict_time = time.perf_counter() - start
        entry = {
            "name": spec.name,
            "kind": "baseline",
            "description": spec.description,
            "trivial": spec.algorithm is None,
            "algorithm": spec.algorithm,
            "params": simple_params(model),
            "metrics": metrics,
            "standard_error": se,
            "fit_time_s": round(fit_time, 4),
            "predict_time_s": round(predict_time, 4),
        }
        entries.append(entry)
        fitted[spec.name] = model
    best = _best(entries, primary)
    trivial = _best([e for e in entries if e["trivial"]], primary) or best
    results = {
        "epic_id": plan.spec.epic_id,
        "problem_type": plan.spec.problem_type,
        "evaluated_on": "validation",
        "primary_metric": primary,
        "greater_is_better": METRICS[primary].greater_is_better,
        "n_train": int(x_train.height),
        "n_validation": int(x_valid.height),
        "models": entries,
        "best": _bar(best, primary),
        "best_trivial": _bar(trivial, primary),
        "summary": {f"best_baseline_{primary}": best["metrics"][primary]},
    }
    return results, fitted


def _best(entries: list[dict[str, Any]], primary: str) -> dict[str, Any] | None:
    best = None
    for entry in entries:
        if best is None or is_better(
            primary, entry["metrics"][primary], best["metrics"][primary]
        ):
            best = entry
    return best


def _bar(entry: dict[str, Any], primary: str) -> dict[str, Any]:
    return {
        "name": entry["name"],
        "primary_metric": primary,
        "value": entry["metrics"][primary],
        "standard_error": entry["standard_error"],
        "trivial": entry["trivial"],
        "algorithm": entry["algorithm"],
    }


def score_with_noise(
    problem: Any,
    model: Any,
    x: pl.DataFrame,
    y: np.ndarray,
    plan: ModelingPlan,
    seed: int,
) -> tuple[dict[str, float], float | None]:
    """Every metric of the plan on one split, and the primary metric's
    bootstrap standard error from the same predictions."""
    y_pred, y_score = problem.evaluation_predictions(model, x, y, plan)
    metrics = compute_metrics(
        plan.spec.metric_names, y, y_pred, y_score, plan.metric_context
    )
    primary = plan.spec.primary_metric
    return metrics, standard_error(primary, y, y_pred, y_score, plan, seed)


def standard_error(
    metric: str,
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    plan: ModelingPlan,
    seed: int,
    n_boot: int = 100,
    max_rows: int = 2000,
) -> float | None:
    """Bootstrap standard error of one metric over the rows of a split.

    It measures how much a validation score moves by chance alone, so that a
    difference inside it is read as a tie. Splits larger than ``max_rows`` are
    subsampled and the error scaled back by sqrt(m / n). Rows are treated as
    independent (for forecasts this understates the noise). None when the
    metric cannot be computed on resamples.
    """
    n = len(y)
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    m = min(n, max_rows)
    values = []
    for _ in range(n_boot):
        rows = rng.integers(0, n, m)
        value = compute_metrics(
            [metric],
            y[rows],
            y_pred[rows],
            None if y_score is None else y_score[rows],
            plan.metric_context,
        )[metric]
        if np.isfinite(value):
            values.append(value)
    if len(values) < n_boot // 2:
        return None
    return float(np.std(values, ddof=1) * np.sqrt(m / n))


NOISE_Z = 1.96


def compare_to(bar: dict[str, Any], value: float, se: float | None) -> str:
    """``better``, ``tie`` or ``worse``: a score against a baseline, noise included.

    A difference within 1.96 standard errors of the difference (both scores'
    bootstrap errors, taken as independent, which is conservative) is a tie.
    """
    metric = bar["primary_metric"]
    reference = float("nan") if bar["value"] is None else float(bar["value"])
    value = float("nan") if value is None else float(value)
    if np.isnan(value):
        return "worse"
    if np.isnan(reference):
        return "better"
    errors = [e for e in (bar.get("standard_error"), se) if e is not None]
    tolerance = NOISE_Z * float(np.sqrt(sum(e * e for e in errors)))
    if abs(value - reference) <= tolerance:
        return "tie"
    return "better" if is_better(metric, value, reference) else "worse"
