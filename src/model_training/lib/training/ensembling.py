"""Stage step 5 (ensembles): a post-hoc ensemble as one more contender of the selection.

For forecasts, the members are combined into one forecaster that shares the
history. The pool is every tuned configuration and, optionally, every other candidate
that beat the trivial baselines, each at its defaults. All of them were fitted on
the selection's own folds, so their out-of-fold predictions line up row for
row. The greedy ensemble (:mod:`model_training.lib.algorithms.ensemble`) is
scored with cross-fitted weights on the same folds as the single models and
enters the selection only when its mean beats the best single model's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from model_training.lib.algorithms.ensemble import (
    ENSEMBLE,
    CombinedForecaster,
    EnsembleClassifier,
    EnsembleRegressor,
    combine,
    cross_fitted,
    greedy_weights,
)
from model_training.lib.core.budget import Budget
from model_training.lib.core.frames import label_array
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.params import EnsembleOptions, TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.training.protocol import candidate_fit_seconds, refit_seconds

logger = logging.getLogger(__name__)


def ensembling(plan: ModelingPlan, options: Any) -> bool:
    """Whether the selection builds an ensemble: when enabled, for supervised
    models and forecasts (cluster ids of different models do not correspond;
    anomaly scores of different detectors are on different scales)."""
    return bool(options.ensemble.enabled) and plan.spec.kind.target == "required"


def averaged(plan: ModelingPlan, y_pred: np.ndarray, y_score: Any) -> np.ndarray:
    """What an ensemble averages: class probabilities, or predicted values."""
    if plan.spec.kind.classification:
        return np.asarray(y_score, dtype=float)
    return np.asarray(y_pred, dtype=float)


def score_average(
    plan: ModelingPlan, truth: np.ndarray, prediction: np.ndarray
) -> float:
    """The primary metric of an averaged prediction against the truth (rows a
    walk-forward forecast could not reach, NaN, are left out)."""
    primary = plan.spec.primary_metric
    if plan.spec.kind.temporal:
        ok = np.isfinite(prediction)
        truth, prediction = np.asarray(truth, dtype=float)[ok], prediction[ok]
    if plan.spec.kind.classification:
        decided = label_array(plan.classes)[np.argmax(prediction, axis=1)]
        return compute_metrics(
            [primary], truth, decided, prediction, plan.metric_context
        )[primary]
    return compute_metrics([primary], truth, prediction, None, plan.metric_context)[
        primary
    ]


def ensemble_estimator(
    plan: ModelingPlan, members: list[Any], config: dict[str, Any]
) -> Any:
    """The unfitted ensemble of a selection's ensemble configuration: over
    member pipelines, or for forecasts, one forecaster combining the members'
    forecasters (per series when the plan has several)."""
    weights = [m["weight"] for m in config["members"]]
    names = [m["model"] for m in config["members"]]
    if plan.spec.kind.temporal:
        from imblearn.pipeline import Pipeline

        from model_training.lib.algorithms.registry import configure_forecaster

        forecasters = []
        for pipeline in members:
            forecaster = pipeline.steps[-1][1]
            forecasters.append(getattr(forecaster, "forecaster", None) or forecaster)
        combined = CombinedForecaster(members=forecasters, weights=weights, names=names)
        return Pipeline([("model", configure_forecaster(combined, plan))])
    kind = EnsembleClassifier if plan.spec.kind.classification else EnsembleRegressor
    return kind(members=members, weights=weights, names=names)


def ensemble_contender(
    plan: ModelingPlan,
    pool: list[dict[str, Any]],
    y: np.ndarray,
    y_valid: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    repeats: int,
    options: EnsembleOptions,
    best_single: dict[str, Any],
) -> dict[str, Any] | None:
    """The greedy ensemble over the pool, as a selection row, or None.

    Args:
        pool: per model ``config``, ``source`` (tuned or candidate),
            ``fold_predictions`` (one array per fold of ``splits``),
            ``validation_prediction`` (fitted on train) and ``cv_fit_time_s``.
        y: the truth of the rows the folds index (train + validation).
        y_valid: the validation truth, for the reported check.
        best_single: the selection row of the best single model.

    Returns:
        A row like the single models' (``model`` is ``ensemble``, ``members``
        holds each member's configuration and weight, ``kept`` says whether it
        beat the best single model under the same CV, ``reason`` why not), or
        None when there is nothing to combine.
    """
    if not options.enabled or len(pool) < 2:
        return None
    greater = plan.greater_is_better
    per_fold = len(splits) // repeats

    def score_rows(prediction: np.ndarray, rows: np.ndarray) -> float:
        return score_average(plan, y[rows], prediction)

    fold_predictions = [m["fold_predictions"] for m in pool]
    scores, _ = cross_fitted(
        fold_predictions, splits, per_fold, score_rows, greater, options.rounds
    )
    # the shipped weights: chosen on every out-of-fold prediction of every repeat
    rows = np.concatenate([valid for _, valid in splits])
    pooled = [np.concatenate(m["fold_predictions"]) for m in pool]
    weights, oof_score = greedy_weights(
        pooled, lambda p: score_rows(p, rows), greater, options.rounds
    )
    used = [i for i, w in enumerate(weights) if w > 0]
    if len(used) < 2:
        logger.info(
            "Ensemble: greedy selection keeps %s alone; no ensemble",
            pool[used[0]]["config"]["model"],
        )
        return None
    members = [
        {**pool[i]["config"], "source": pool[i]["source"], "weight": float(weights[i])}
        for i in used
    ]
    mean = float(np.nanmean(scores))
    sign = 1.0 if greater else -1.0
    kept = sign * (mean - best_single["cv_mean"]) > 0
    validation = combine(
        [pool[i]["validation_prediction"] for i in used], weights[used]
    )
    row = {
        "model": ENSEMBLE,
        "params": {},
        "imbalance": "none",
        "members": members,
        "status": "ok",
        "kept": bool(kept),
        "cv_mean": mean,
        "cv_std": float(np.nanstd(scores)),
        "cv_fold_scores": [float(v) for v in scores],
        "cv_fit_time_s": round(sum(pool[i]["cv_fit_time_s"] for i in used), 4),
        "interpretability": 1,
        "weights_chosen_on": "out-of-fold predictions of every fold (the shipped weights); "
        "each fold's score uses weights chosen without that fold",
        "oof_score_of_shipped_weights": float(oof_score),
        "validation_metrics": {
            plan.spec.primary_metric: score_average(plan, y_valid, validation)
        },
    }
    if not kept:
        row["reason"] = (
            f"cross-validated {plan.spec.primary_metric} {mean:.4f} does not beat the best "
            f"single model, {best_single['model']} ({best_single['cv_mean']:.4f})"
        )
    logger.info(
        "Ensemble of %s: cross-validated %s %.4f against %.4f for %s alone (%s)",
        ", ".join(f"{m['model']} x{m['weight']:.2f}" for m in members),
        plan.spec.primary_metric,
        mean,
        best_single["cv_mean"],
        best_single["model"],
        "kept as a contender" if kept else "not kept",
    )
    return row


def candidate_members(
    candidates: dict[str, Any],
    tuning: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    folds: int,
    options: TuningParams,
    budget: Budget,
    judge: Callable[[dict[str, Any]], dict[str, Any]],
    kin: Callable[[str], str] = str,
) -> list[dict[str, Any]]:
    """Ensemble members from the candidates that were not tuned, at their
    defaults: those that beat the trivial baselines on validation beyond noise
    and were fitted on every training row (a subsampled one is too slow for
    repeated folds), one per family of algorithms (``kin(name)``,
    :attr:`Algorithm.kin`): a candidate whose family has a tuned model in
    the pool, or an earlier candidate (they come cheapest first), is left
    out. Gradient-boosted tree learners at their defaults beside a tuned one
    make near copies of its predictions: on the eleven ensembles of the
    quality benchmark the greedy selection gave a LightGBM or
    HistGradientBoosting candidate no weight, while their folds took a third
    of the default epic's selection. ``judge(config)`` gives a
    configuration's member record (its predictions on the selection's folds)."""
    tuned = {m["model"] for m in tuning["models"]}
    families = {kin(name): name for name in tuned}
    members = []
    for entry in candidates.get("models", []):
        if (
            entry.get("status") != "ok"
            or entry["name"] in tuned
            or entry.get("versus_trivial_baseline") != "better"
            or entry.get("subsampled_to")
        ):
            continue
        family = kin(entry["name"])
        if family in families:
            logger.info(
                "Ensemble: candidate %s left out: %s, of the same family (%s), "
                "is in the pool%s",
                entry["name"],
                families[family],
                family,
                " tuned" if families[family] in tuned else "",
            )
            continue
        projected = (entry.get("fit_time_s") or 0.0) * folds
        if not budget.affords("selection", projected):
            logger.info(
                "Ensemble: candidate %s left out: %s",
                entry["name"],
                budget.note(
                    "selection", f"its folds would take about {projected:.0f} s"
                ),
            )
            continue
        if projected > options.ensemble.candidate_seconds:
            logger.info(
                "Ensemble: candidate %s left out: %d selection fits of %.1f s each "
                "would take about %.0f s (tuning.ensemble.candidate_seconds: %.0f)",
                entry["name"],
                folds,
                entry.get("fit_time_s") or 0.0,
                projected,
                options.ensemble.candidate_seconds,
            )
            continue
        config = {
            "model": entry["name"],
            "params": dict(defaults.get(entry["name"]) or {}),
            "imbalance": entry.get("imbalance", "none"),
        }
        judged_at = time.monotonic()
        try:
            member = judge(config)
        except Exception as error:  # a member that fails is left out, with a reason
            logger.warning("Ensemble: candidate %s left out (%s)", entry["name"], error)
            continue
        logger.info(
            "Ensemble: candidate %s at its defaults on %d folds in %.0f s",
            entry["name"],
            folds,
            time.monotonic() - judged_at,
        )
        members.append({**member, "source": "candidate"})
        families[family] = entry["name"]
    return members


def ensemble_refit_seconds(
    ensemble: dict[str, Any],
    tuning: dict[str, Any],
    candidates: dict[str, Any],
    rows: int,
) -> float | None:
    """Projected seconds of an ensemble's final refit on ``rows`` rows: each
    tuned member's from its tuning trials, each candidate member's from its
    fit at the defaults (linear in rows); None when a member has none."""
    tuned = {e["model"]: e for e in tuning.get("models") or []}
    fitted = {e["name"]: e for e in candidates.get("models") or []}
    total = 0.0
    for member in ensemble.get("members") or []:
        name = member["model"]
        if member.get("source") == "tuned":
            seconds = refit_seconds(tuned.get(name), tuning, rows)
        else:
            seconds = candidate_fit_seconds(fitted.get(name), rows)
        if seconds is None:
            return None
        total += seconds
    return total


def unaffordable_ensemble(
    ensemble: dict[str, Any],
    tuning: dict[str, Any],
    candidates: dict[str, Any],
    rows: int,
    budget: Budget,
) -> str | None:
    """When a kept ensemble's final refit on ``rows`` rows (every member's)
    and evaluation, reserved instead of the first contender's, would put the
    selection's deadline in the past (:meth:`Budget.share`: a reserve within
    the share after the selection's checkpoint moves nothing), the ensemble
    stops being a contender: the note, else None."""
    if not ensemble.get("kept"):
        return None
    refits = ensemble_refit_seconds(ensemble, tuning, candidates, rows)
    own = budget.reserving(refits)
    # its reserve only matters when it moves the selection's deadline past now
    if own.reserve_s <= budget.reserve_s or not own.spent("selection"):
        return None
    ensemble["kept"] = False
    ensemble["reason"] = budget.note(
        "selection",
        f"the ensemble's refit of {len(ensemble['members'])} members "
        f"(about {refits:.0f} s) and evaluation would not fit",
    )
    logger.warning("Selection: %s", ensemble["reason"])
    return ensemble["reason"]
