"""Stage steps 5 and 9 (first part): pick the final configuration, refit it on train + validation."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.algorithms.cv_eval import fold_scores
from model_training.lib.algorithms.early_stopping import carried_iterations
from model_training.lib.algorithms.registry import algorithm, build_pipeline, fit_params
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem

logger = logging.getLogger(__name__)


def configuration(
    entry: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    n_rows: int | None = None,
) -> dict[str, Any]:
    """A tuned model's full configuration: defaults overridden by the best trial,
    and for boosted trees the iteration count early stopping learned, scaled to
    the ``n_rows`` the configuration will be fitted on."""
    params = dict(entry["params"])
    imbalance = params.pop(
        "imbalance", entry.get("start_params", {}).get("imbalance", "none")
    )
    learned = entry.get("learned_iterations")
    if learned and n_rows:
        params[learned["param"]] = carried_iterations(learned, n_rows)
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


# Below this many rows of train + validation, the selection CV is repeated with
# other shuffles (random k-fold strategies only), so its noise is measured well.
SMALL_DATA_ROWS = 2000
REPEATS_ON_SMALL_DATA = 3
SHUFFLED_STRATEGIES = ("kfold", "stratified_kfold")


def selection_splits(
    frame: pl.DataFrame, y: np.ndarray, plan: ModelingPlan, seed: int
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The folds every contender is judged on (the same for all), and the number
    of repeats: k-fold on train + validation, repeated on small data."""
    repeats = (
        REPEATS_ON_SMALL_DATA
        if len(y) < SMALL_DATA_ROWS and plan.cv_strategy in SHUFFLED_STRATEGIES
        else 1
    )
    splits: list[tuple[np.ndarray, np.ndarray]] = []
    for r in range(repeats):
        splits += cv_splits(frame, y, plan, seed + r)
    return splits, repeats


def corrected_standard_error(
    scores: list[float], n_train: float, n_test: float
) -> float:
    """Standard error of a mean of (repeated) cross-validation scores, with
    Nadeau and Bengio's correction for the overlap of training sets: the
    variance of the mean is ``var * (1 / J + n_test / n_train)``."""
    values = np.asarray([v for v in scores if np.isfinite(v)], dtype=float)
    if len(values) < 2:
        return float("nan")
    variance = float(np.var(values, ddof=1))
    return float(np.sqrt(variance * (1 / len(values) + n_test / n_train)))


def one_standard_error_choice(
    contenders: list[dict[str, Any]], greater_is_better: bool
) -> tuple[dict[str, Any], str]:
    """The simplest contender whose CV mean is within one standard error of the
    best one's (Breiman's one-standard-error rule); simpler means more
    interpretable, then faster to fit. Returns the choice and the rule applied."""
    sign = 1.0 if greater_is_better else -1.0
    best = max(contenders, key=lambda c: sign * c["cv_mean"])
    se = best["cv_se"] if np.isfinite(best["cv_se"]) else 0.0
    bar = best["cv_mean"] - sign * se
    close = [c for c in contenders if sign * (c["cv_mean"] - bar) >= 0]
    chosen = min(
        close,
        key=lambda c: (-(c.get("interpretability") or 0), c.get("cv_fit_time_s") or 0),
    )
    if chosen is best:
        rule = (
            f"{best['model']} has the best cross-validated mean ({best['cv_mean']:.4f}, "
            f"standard error {se:.4f})"
            + (
                "; no simpler contender is within one standard error"
                if len(contenders) > 1
                else ""
            )
        )
    else:
        rule = (
            f"one-standard-error rule: {chosen['model']} ({chosen['cv_mean']:.4f}) is "
            f"within one standard error ({se:.4f}) of the best, {best['model']} "
            f"({best['cv_mean']:.4f}), and simpler (interpretability "
            f"{chosen.get('interpretability')} against {best.get('interpretability')})"
        )
    return chosen, rule


def select_model(
    plan: ModelingPlan,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    tuning: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    options: TuningParams,
    seed: int,
) -> dict[str, Any]:
    """Choose among the tuned configurations by cross-validation on train +
    validation (the same folds for every contender, repeated on small data),
    with the one-standard-error rule toward the simpler model.

    Validation alone is too small a judge on small data; each contender's score
    there (fitted on train) is kept as a reported check.
    """
    problem = get_problem(plan.spec.problem_type)
    x_train, y_train = split_xy(train, plan)
    x_valid, y_valid = split_xy(validation, plan)
    combined = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), plan
    )
    x_all, y_all = split_xy(combined, plan)
    splits, repeats = selection_splits(combined, y_all, plan, seed)
    n_train = float(np.mean([len(t) for t, _ in splits]))
    n_test = float(np.mean([len(v) for _, v in splits]))
    primary = plan.spec.primary_metric
    rows, contenders = [], []
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
        config = configuration(entry, defaults, n_rows=len(y_all))
        pipeline = pipeline_for(plan, config, options, seed)
        fit_kwargs = lambda y_fit, c=config: fit_params(plan, c["imbalance"], y_fit)  # noqa: E731
        start = time.perf_counter()
        scores = fold_scores(
            pipeline,
            x_all,
            y_all,
            splits,
            plan,
            lambda model, rows_x: problem.predict(model, rows_x, plan),
            fit_kwargs,
        )
        cv_seconds = time.perf_counter() - start
        model = problem.fit(pipeline, x_train, y_train, fit_kwargs(y_train))
        row = {
            **config,
            "status": "ok",
            "tuning_cv_mean": entry["metrics"]["cv_mean"],
            "cv_mean": float(np.nanmean(scores)),
            "cv_std": float(np.nanstd(scores)),
            "cv_se": corrected_standard_error(scores, n_train, n_test),
            "cv_fold_scores": [float(v) for v in scores],
            "cv_fit_time_s": round(cv_seconds / max(len(splits), 1), 4),
            "interpretability": algorithm(
                problem.task, config["model"]
            ).interpretability,
            "validation_metrics": problem.score(model, x_valid, y_valid, plan),
        }
        rows.append(row)
        if np.isfinite(row["cv_mean"]):
            contenders.append(row)
    if not contenders:
        raise ValueError(
            "no tuned model completed a trial; see tuning.json for the errors"
        )
    chosen, rule = one_standard_error_choice(contenders, plan.greater_is_better)
    sign = 1.0 if plan.greater_is_better else -1.0
    by_validation = max(
        contenders, key=lambda c: sign * c["validation_metrics"][primary]
    )
    check = (
        f"validation agrees: {chosen['model']} is also best there"
        if by_validation is chosen
        else (
            f"validation ({len(y_valid)} rows) would have chosen {by_validation['model']} "
            f"({by_validation['validation_metrics'][primary]:.4f} against "
            f"{chosen['validation_metrics'][primary]:.4f}); a single split of this size "
            "is noisier than the cross-validation"
        )
    )
    logger.info(
        "Selected %s: cross-validated %s %.4f (standard error %.4f) on train + validation",
        chosen["model"],
        primary,
        chosen["cv_mean"],
        chosen["cv_se"],
    )
    return {
        "epic_id": plan.spec.epic_id,
        "primary_metric": primary,
        "selected": {k: chosen[k] for k in ("model", "params", "imbalance")},
        "protocol": {
            "rows": len(y_all),
            "strategy": plan.cv_strategy,
            "folds": len(splits) // repeats,
            "repeats": repeats,
            "standard_error": "Nadeau-Bengio corrected",
            "rule": "one standard error toward the more interpretable, then faster model",
        },
        "rationale": rule,
        "validation_check": check,
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
