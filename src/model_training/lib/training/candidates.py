"""Stage step 3: train every candidate once, compare them on validation, shortlist.

Each candidate is fitted on train with its default hyperparameters and scored on
validation with every metric of the problem type, plus fit time, peak memory,
single-row latency, batch throughput and serialized size. Each is compared
with the best baseline on the primary metric, noise included (a difference
within the bootstrap error is a tie, not a defeat). The top ``k`` of those not
clearly worse go on to tuning; when an untuned baseline that is a real model
(logistic regression, least squares) is clearly ahead of every candidate, its
algorithm is tuned too and may be shipped. Only when every model is clearly
worse than a trivial baseline (majority class, mean, naive) does the run stop.
"""

from __future__ import annotations

import logging
import time
import traceback
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.early_stopping import deadline_fit_params
from model_training.lib.algorithms.registry import algorithm, build_pipeline, fit_params
from model_training.lib.core.budget import Budget, unlimited
from model_training.lib.core.errors import StageStop
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import METRICS
from model_training.lib.core.params import ModelingParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.profiling import (
    measure,
    predict_latency_ms,
    serialized_size_mb,
    throughput_rows_per_s,
)
from model_training.lib.problems import get_problem
from model_training.lib.training.baseline import NOISE_Z, compare_to, score_with_noise
from model_training.lib.training.guards import guarded_rows, row_guard
from model_training.lib.training.shortlist_cv import rank_by_cv, small_validation

logger = logging.getLogger(__name__)


def fixed_imbalance(plan: ModelingPlan, options: list[str]) -> str:
    """The spec's imbalance strategy when it is fixed and the algorithm supports it, else none."""
    wanted = plan.spec.imbalance
    return wanted if wanted in options and wanted not in ("auto",) else "none"


def candidate_names(plan: ModelingPlan) -> list[str]:
    """The spec's ``algorithms``, or every candidate of the problem type."""
    problem = get_problem(plan.spec.problem_type)
    return list(plan.spec.algorithms or problem.default_candidates())


def train_candidates(
    plan: ModelingPlan,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    baseline_results: dict[str, Any],
    options: ModelingParams,
    seed: int,
    budget: Budget | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit, score and profile every candidate.

    Args:
        plan: the modeling plan.
        train, validation: the splits.
        baseline_results: the baseline pipeline's results (the bar to beat).
        options: ``modeling`` parameters: ``defaults`` (hyperparameters per
            algorithm), ``row_guard`` (rows per algorithm), ``latency_repeats``,
            ``throughput_rows``.
        seed: random seed.
        budget: the run's time budget; once the candidates' checkpoint has
            passed, the remaining candidates are skipped (the first always runs).

    Returns:
        The comparison (one entry per candidate, failed and skipped ones with
        their reason) and the fitted candidates by name.
    """
    budget = budget or unlimited()
    started = time.monotonic()
    problem = get_problem(plan.spec.problem_type)
    x_train, y_train = split_xy(train, plan)
    x_valid, y_valid = split_xy(validation, plan)
    primary = plan.spec.primary_metric
    has_cost = plan.spec.cost_matrix is not None
    entries, fitted = [], {}
    names = candidate_names(plan)
    pipelines: dict[str, tuple[Any, str]] = {}  # unfitted, for the ranking CV
    for position, name in enumerate(names, start=1):
        entry: dict[str, Any] = {"name": name, "kind": "candidate"}
        if entries and budget.spent("candidates"):
            entries.append(_skipped(entry, budget))
            continue
        logger.info(
            "Candidate %d/%d: fitting %s (%.0f s so far)...",
            position,
            len(names),
            name,
            time.monotonic() - started,
        )
        try:
            algo = algorithm(problem.task, name)
            params = dict(options.defaults.get(name) or {})
            imbalance = fixed_imbalance(plan, algo.imbalance_options(has_cost))
            entry.update({"description": algo.description, "imbalance": imbalance})
            guard = row_guard(algo, options.row_guard, len(plan.features))
            keep = guarded_rows(y_train, guard, seed, plan.spec.kind.classification)
            x_fit, y_fit = x_train, y_train
            if keep is not None:
                x_fit, y_fit = x_train[keep], y_train[keep]
                entry["subsampled_to"] = int(guard)
                logger.warning(
                    "Candidate %s: fitted on a %d-row subsample of %d training rows "
                    "(its cost grows faster than linearly with rows and columns; "
                    "modeling.row_guard, for 20 features, shrinks with more)",
                    name,
                    guard,
                    len(y_train),
                )
            pipeline = build_pipeline(plan, algo, params, seed, imbalance=imbalance)
            # a boosted fit after the first candidate ends at the checkpoint
            # with the iterations it has (one CatBoost fit of 600,000 rows
            # took 106 s, past the checkpoint by as much)
            stop_kwargs, stop = (
                deadline_fit_params(algo, budget.deadline("candidates"))
                if entries
                else ({}, None)
            )
            model, fit_seconds, peak_mb = measure(
                lambda p=pipeline, x=x_fit, y=y_fit, i=imbalance, k=stop_kwargs: (
                    problem.fit(p, x, y, {**fit_params(plan, i, y), **k})
                )
            )
            if stop is not None and stop.stopped_at is not None:
                entry["cut_short"] = budget.note(
                    "candidates",
                    f"{name}'s fit ended after {stop.stopped_at} "
                    + ("trees" if algo.trees_param else "iterations"),
                )
                logger.warning("Candidate %s: %s", name, entry["cut_short"])
            metrics, se = score_with_noise(problem, model, x_valid, y_valid, plan, seed)
            versus = compare_to(baseline_results["best"], metrics[primary], se)
            versus_trivial = compare_to(
                baseline_results.get("best_trivial") or baseline_results["best"],
                metrics[primary],
                se,
            )
            batch = pl.concat(
                [x_valid] * max(1, options.throughput_rows // max(len(x_valid), 1))
            )
            entry.update(
                {
                    "status": "ok",
                    "params": {**params, "imbalance": imbalance},
                    "fitted_rows": len(y_fit),
                    "metrics": metrics,
                    "standard_error": se,
                    "fit_time_s": round(fit_seconds, 4),
                    "peak_memory_mb": round(peak_mb, 2),
                    "latency_ms": predict_latency_ms(
                        model.predict,
                        x_valid[:1],
                        options.latency_repeats,
                    ),
                    "throughput_rows_per_s": round(
                        throughput_rows_per_s(model.predict, batch, len(batch)), 1
                    ),
                    "size_mb": round(serialized_size_mb(model), 4),
                    "interpretability": algo.interpretability,
                    "versus_baseline": versus,
                    "versus_trivial_baseline": versus_trivial,
                    "beats_baseline": versus == "better",
                }
            )
            pipelines[name] = (pipeline, imbalance)
            fitted[name] = model
            logger.info(
                "Candidate %-24s %s = %.4f  fit %.2f s  p95 %.2f ms%s",
                name,
                primary,
                metrics[primary],
                fit_seconds,
                entry["latency_ms"]["p95"],
                {
                    "better": "",
                    "tie": "  (ties with the best baseline within noise)",
                    "worse": "  (clearly worse than the best baseline)",
                }[versus],
            )
        except Exception as exc:
            entry.update(
                {
                    "status": "failed",
                    "error": f"{type(exc).__name__}: {exc}",
                    "traceback": traceback.format_exc(limit=3),
                    "beats_baseline": False,
                    "versus_baseline": "failed",
                    "versus_trivial_baseline": "failed",
                }
            )
            logger.warning("Candidate %s failed: %s: %s", name, type(exc).__name__, exc)
        entries.append(entry)
    small = small_validation(plan, y_valid)
    if small:
        small = rank_by_cv(
            plan, problem, entries, pipelines, train, validation, seed, budget, small
        )
    summary = _summarize(plan, entries, baseline_results, small)
    summary["rows"] = {"train": len(y_train), "validation": len(y_valid)}
    summary["elapsed_s"] = round(time.monotonic() - started, 2)
    return summary, fitted


def _skipped(entry: dict[str, Any], budget: Budget) -> dict[str, Any]:
    why = budget.note("candidates", f"candidate {entry['name']} skipped")
    logger.warning("Candidate %s skipped: %s", entry["name"], why)
    return {
        **entry,
        "status": "skipped",
        "error": why,
        "beats_baseline": False,
        "versus_baseline": "skipped",
        "versus_trivial_baseline": "skipped",
    }


def _summarize(
    plan: ModelingPlan,
    entries: list[dict[str, Any]],
    baseline_results: dict[str, Any],
    small: str | None = None,
) -> dict[str, Any]:
    primary = plan.spec.primary_metric
    better = METRICS[primary].greater_is_better
    sign = 1.0 if better else -1.0
    ranked = sorted(  # by CV when validation is small (a failed CV: last)
        (e for e in entries if e["status"] == "ok"),
        key=lambda e: (
            -sign
            * np.nan_to_num(
                e["cv"]["mean"] if small and "cv" in e else e["metrics"][primary],
                nan=-sign * np.inf,
            )
        ),
    )
    for rank, entry in enumerate(ranked, 1):
        entry["rank"] = rank
    top_k = plan.spec.search.top_k
    # a fit the budget cut short scored below what the algorithm can do: it
    # stays a contender while it beats the trivial baselines (tuning and the
    # selection fit it in full)
    viable = [
        e
        for e in ranked
        if e["versus_baseline"] in ("better", "tie")
        or (e.get("cut_short") and e["versus_trivial_baseline"] in ("better", "tie"))
    ]
    shortlist = [e["name"] for e in viable[:top_k]]
    best = baseline_results["best"]
    rule = (
        f"the top {top_k} candidates not clearly worse than the best baseline "
        f"'{best['name']}' (a difference within {NOISE_Z} standard errors is a tie), "
        "or cut short by the time budget and better than the trivial baselines"
        + (
            f"; ranked by cross-validation on train + validation: {small}"
            if small
            else ""
        )
    )
    if not shortlist:
        # every candidate is clearly behind the best baseline: when that baseline
        # is a real model, tune its algorithm (it may become the final model),
        # next to the candidates that still beat the trivial baselines
        above_trivial = [
            e for e in ranked if e["versus_trivial_baseline"] in ("better", "tie")
        ]
        failed = {e["name"] for e in entries if e["status"] == "failed"}
        algo = best.get("algorithm")
        promoted = (
            [algo]
            if algo and algo in candidate_names(plan) and algo not in failed
            else []
        )
        shortlist = (
            promoted
            + [e["name"] for e in above_trivial if e["name"] not in promoted][
                : max(top_k - len(promoted), 0)
            ]
        )
        if shortlist:
            rule = (
                f"every candidate is clearly worse than the untuned baseline "
                f"'{best['name']}' on validation; "
                + (
                    f"its algorithm '{promoted[0]}' is tuned as a contender, "
                    if promoted
                    else ""
                )
                + "with the candidates not clearly worse than the best trivial baseline"
            )
            logger.warning("Shortlist: %s", rule)
    return {
        "epic_id": plan.spec.epic_id,
        "evaluated_on": "validation",
        "primary_metric": primary,
        "greater_is_better": better,
        "baseline": best,
        "trivial_baseline": baseline_results.get("best_trivial") or best,
        "models": entries,
        "shortlist": shortlist,
        "shortlist_rule": rule,
        "excluded": {
            e["name"]: (f"{e['status']}: " + e["error"])
            if e["status"] != "ok"
            else f"not in the shortlist ({e['versus_baseline']} against the best baseline, rank {e['rank']})"
            for e in entries
            if e["name"] not in shortlist
        },
        "summary": {
            f"best_candidate_{primary}": ranked[0]["metrics"][primary]
            if ranked
            else None,
            "n_candidates": len(entries),
            "n_failed": sum(e["status"] == "failed" for e in entries),
            "n_skipped_by_budget": sum(e["status"] == "skipped" for e in entries),
            "n_beating_baseline": sum(
                e["versus_baseline"] == "better" for e in entries
            ),
            "n_tied_with_baseline": sum(e["versus_baseline"] == "tie" for e in entries),
        },
    }


def require_shortlist(results: dict[str, Any]) -> list[str]:
    """The shortlist, or stop the run plainly when every model is worse than guessing."""
    if results["shortlist"]:
        return list(results["shortlist"])
    baseline = results["baseline"]
    lines = [
        f"  - {e['name']}: "
        + (
            f"{results['primary_metric']} = {e['metrics'][results['primary_metric']]:.4f}"
            if e["status"] == "ok"
            else e["error"]
        )
        for e in results["models"]
    ]
    trivial = results.get("trivial_baseline") or baseline
    if all(e["status"] != "ok" for e in results["models"]):
        raise StageStop(
            "No candidate could be trained (each one failed), so the run stops before "
            "tuning:\n"
            + "\n".join(lines)
            + "\nThe errors above name the cause; candidates.json has the tracebacks."
        )
    raise StageStop(
        f"Every candidate is clearly worse than the trivial baseline '{trivial['name']}' "
        f"({results['primary_metric']} = {trivial['value']:.4f} on validation, beyond the "
        "noise of the split), so the run stops before tuning:\n"
        + "\n".join(lines)
        + "\nLook at the features (data_quality.json: leakage, constant or mis-typed "
        "columns) and the candidates (candidates.json); a model that is worse than "
        "guessing should not ship."
    )
