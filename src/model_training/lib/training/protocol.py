"""The selection protocol: the folds every contender is judged on, the
corrected standard error of cross-validated scores, and the one-standard-error
rule toward a materially simpler model."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv import cv_splits
from model_training.lib.algorithms.early_stopping import carried_iterations
from model_training.lib.core.budget import Budget
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.training.guards import guarded_rows

# Below this many rows of train + validation, the selection CV is repeated with
# other shuffles (random k-fold strategies only), so its noise is measured well.
# Two repeats would save a third of the selection's fits and, by Nadeau and
# Bengio's formula, make the standard error only 5 % larger; but the standard
# error is itself estimated from the fold scores, and with 10 of them that
# estimate varies by about a quarter (1 / sqrt(2 * 9)), enough to decide the
# one-standard-error rule by chance (tried on credit_risk: the rule flipped).
SMALL_DATA_ROWS = 2000
REPEATS_ON_SMALL_DATA = 3
SHUFFLED_STRATEGIES = ("kfold", "stratified_kfold")


# rows the selection judges on at least, however tight the run budget
MIN_SELECTION_ROWS = 2000


def _per_row_fit(entry: dict[str, Any], tuning: dict[str, Any]) -> float | None:
    """Seconds per row of one fit of a tuned configuration: its best trial's
    duration over the rows its folds fitted ((k - 1) * rows of the k folds),
    fit time taken as linear in rows; None without a recorded duration."""
    cv = tuning.get("cross_validation") or {}
    tuned_rows = entry.get("tuned_rows") or cv.get("n_rows")
    tuned_folds = cv.get("n_splits")
    best = (entry.get("metrics") or {}).get("cv_mean")
    durations = [
        c["duration_s"]
        for c in entry.get("children") or []
        if c.get("state") == "COMPLETE"
        and c.get("cv_mean") == best
        and c.get("duration_s")
    ]
    if not (tuned_rows and tuned_folds and durations):
        return None
    return durations[0] / (max(tuned_folds - 1, 1) * tuned_rows)


def _iterations_factor(entry: dict[str, Any], refit_rows: int | None) -> float:
    """How many more boosting iterations the judged and refitted configuration
    has than the trials had: the learned count carried to ``refit_rows``
    (:func:`carried_iterations`, at most doubled) over the folds' mean."""
    learned = entry.get("learned_iterations")
    if not learned or not refit_rows or not learned.get("per_fold"):
        return 1.0
    mean = float(np.mean(learned["per_fold"]))
    return carried_iterations(learned, refit_rows) / mean if mean > 0 else 1.0


def _trees_factor(entry: dict[str, Any]) -> float:
    """How many more trees the judged and refitted forest has than its trials
    fitted (``tuning.search_trees``); a forest's fit time is about linear in
    its trees."""
    trees = entry.get("trial_trees") or {}
    if not trees.get("trials") or not trees.get("configuration"):
        return 1.0
    return trees["configuration"] / trees["trials"]


def _scaled(entry: dict[str, Any], refit_rows: int | None) -> float:
    """The judged configuration's fit over its trials' (iterations, trees)."""
    return _iterations_factor(entry, refit_rows) * _trees_factor(entry)


def judge_seconds(
    entry: dict[str, Any],
    tuning: dict[str, Any],
    folds: int,
    rows: int,
    refit_rows: int | None = None,
) -> float | None:
    """Projected seconds to judge a tuned configuration on ``folds`` folds of
    ``rows`` rows, plus its fit on train for the validation check (about
    ``rows`` more), from its best trial in tuning (:func:`_per_row_fit`), the
    iterations it carries to ``refit_rows`` and a forest's own trees. None
    when tuning recorded no duration."""
    per_row = _per_row_fit(entry, tuning)
    if per_row is None:
        return None
    fitted = rows * max(folds - 1, 1) + rows  # k fits of (k-1)/k each + one
    return per_row * fitted * _scaled(entry, refit_rows)


def refit_seconds(
    entry: dict[str, Any] | None, tuning: dict[str, Any], rows: int
) -> float | None:
    """Projected seconds of a tuned configuration's final refit on ``rows``
    rows, from its best trial, the iterations it carries and a forest's own
    trees; None when nothing can be projected."""
    if not entry or entry.get("status") != "ok":
        return None
    per_row = _per_row_fit(entry, tuning)
    if per_row is None:
        return None
    return per_row * rows * _scaled(entry, rows)


def candidate_fit_seconds(entry: dict[str, Any] | None, rows: int) -> float | None:
    """A candidate's default fit scaled to ``rows`` rows (fit time taken as
    linear in rows); None when it recorded no successful fit."""
    if not entry or entry.get("status", "ok") != "ok":
        return None
    if not entry.get("fit_time_s") or not entry.get("fitted_rows"):
        return None
    return entry["fit_time_s"] * rows / entry["fitted_rows"]


def candidate_refit_rows(candidates: dict[str, Any] | None) -> int:
    """Rows of the final refit, train + validation, as the candidates
    recorded them (0 when they did not)."""
    rows = (candidates or {}).get("rows") or {}
    return (rows.get("train") or 0) + (rows.get("validation") or 0)


def candidate_refit_seconds(
    candidates: dict[str, Any], names: list[str]
) -> float | None:
    """Projected seconds of the final refit on train + validation before
    tuning, from the shortlisted candidates' default fits (the costliest;
    :func:`candidate_fit_seconds`). A tuned configuration may cost more (a
    boosted model can carry up to twice the iterations); the selection
    projects again from the tuning trials. None when the candidates recorded
    no fit."""
    total = candidate_refit_rows(candidates)
    projected = [
        seconds
        for e in candidates.get("models") or []
        if e.get("name") in names
        and (seconds := candidate_fit_seconds(e, total)) is not None
    ]
    return max(projected) if total and projected else None


def leader_refit_seconds(
    results: list[dict[str, Any]],
    tuned_on: dict[str, Any],
    rows: int,
    greater_is_better: bool,
) -> float | None:
    """Projected seconds of the final refit on ``rows`` rows of the model
    that leads the search so far (the one the selection judges first and
    reserves the refit of), from its best trial (:func:`refit_seconds`);
    ``tuned_on`` is tuning.json's ``cross_validation`` (``n_rows``,
    ``n_splits``). None before any model has a timed trial."""
    ordered = judging_order(results, greater_is_better)
    if not ordered or not rows:
        return None
    return refit_seconds(ordered[0], {"cross_validation": tuned_on}, rows)


def judging_order(
    entries: list[dict[str, Any]], greater_is_better: bool
) -> list[dict[str, Any]]:
    """The tuned models in the order the selection judges them: the best
    tuning cross-validated mean first (the one always judged, whose refit is
    reserved), models without a completed trial last. At a million rows the
    shortlist's order put a logistic regression (0.893) first and the budget
    left the tuned LightGBM (0.902) unjudged."""
    sign = 1.0 if greater_is_better else -1.0

    def key(entry: dict[str, Any]) -> tuple[bool, float]:
        mean = (entry.get("metrics") or {}).get("cv_mean")
        ok = entry.get("status") == "ok" and mean is not None
        return (not ok, -sign * mean if ok else 0.0)

    return sorted(entries, key=key)


def affordable_rows(
    entries: list[dict[str, Any]],
    tuning: dict[str, Any],
    budget: Budget,
    rows: int,
    folds: int,
    refit_rows: int | None = None,
) -> tuple[int | None, str | None]:
    """Rows the selection can judge its first contender on before the run
    budget's selection checkpoint (which keeps the reserve for the final fit
    and evaluation, :meth:`Budget.reserving`): None when every row fits (or
    nothing can be projected), else the rows (at least
    :data:`MIN_SELECTION_ROWS`) and the note saying why."""
    first = next((e for e in entries if e.get("status") == "ok"), None)
    seconds = judge_seconds(first, tuning, folds, rows, refit_rows) if first else None
    if not budget.bounded or not seconds:
        return None, None
    left = budget.left("selection")
    if left >= seconds:
        return None, None
    cap = max(MIN_SELECTION_ROWS, int(rows * max(left, 0.0) / seconds))
    if cap >= rows:
        return None, None
    return cap, budget.note(
        "selection",
        f"the contenders are judged on a seeded sample of {cap:,} of {rows:,} "
        f"rows (judging {first['model']} on every row was projected at "
        f"{seconds:.0f} s from its tuning trials)",
    )


def budget_record(
    budget: Budget, notes: list[str], refit: float | None
) -> dict[str, Any]:
    """model_selection.json's ``run_budget``: whether and where it bound, the
    projected final refit, the seconds kept for it and what follows it, and
    when the selection was due (nothing without a budget)."""
    if not budget.bounded:
        return {}
    return {
        "run_budget": {
            "bound": bool(notes),
            "notes": notes,
            "projected_refit_s": None if refit is None else round(refit, 1),
            "reserved_s": round(budget.reserve_s, 1),
            "selection_due_s": round(budget.time_s * budget.share("selection"), 1),
        }
    }


def capped_rows(
    y: np.ndarray, plan: ModelingPlan, seed: int, max_rows: int | None
) -> np.ndarray | None:
    """Sorted positions of at most ``max_rows`` rows (a seeded sample, class
    shares kept; the latest rows of a series), or None to use every row."""
    if max_rows is None or len(y) <= max_rows:
        return None
    if plan.spec.kind.temporal:
        return np.arange(len(y) - max_rows, len(y))
    return guarded_rows(y, max_rows, seed, plan.spec.kind.classification)


def capped_splits(
    frame: pl.DataFrame,
    y: np.ndarray,
    plan: ModelingPlan,
    seed: int,
    max_rows: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``cv_splits`` of ``frame``, cut from at most ``max_rows`` of its rows
    (:func:`capped_rows`), as positions in ``frame``: the selection and the
    final calibration cut the very same folds."""
    keep = capped_rows(y, plan, seed, max_rows)
    if keep is None:
        return cv_splits(frame, y, plan, seed)
    return [
        (keep[fit], keep[held])
        for fit, held in cv_splits(frame[keep], y[keep], plan, seed)
    ]


def selection_splits(
    frame: pl.DataFrame,
    y: np.ndarray,
    plan: ModelingPlan,
    seed: int,
    max_rows: int | None = None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """The folds every contender is judged on (the same for all), and the number
    of repeats: k-fold on train + validation (at most ``max_rows`` of them),
    repeated on small data."""
    repeats = (
        REPEATS_ON_SMALL_DATA
        if len(y) < SMALL_DATA_ROWS and plan.cv_strategy in SHUFFLED_STRATEGIES
        else 1
    )
    splits: list[tuple[np.ndarray, np.ndarray]] = []
    for r in range(repeats):
        splits += capped_splits(frame, y, plan, seed + r, max_rows)
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


# What makes a contender materially simpler than the best one, so that the
# one-standard-error rule prefers it. Only fixed properties of the models
# count, never a measured time: a rule on fit times ("five times faster")
# chose differently on a busy machine (co2: an ensemble under load, MSTL
# when quiet). Simpler is a transparent model (interpretability 4 or 5:
# linear models) against an opaque one, one model against an ensemble of
# several, or an algorithm two cost classes cheaper (``Algorithm.cost``: 1 a
# linear fit or LightGBM, 2 boosted trees, 3 a forest, 4 kernel machines and
# neural networks).
TRANSPARENT = 4
CHEAPER_CLASSES = 2


def materially_simpler(
    contender: dict[str, Any], best: dict[str, Any], prefer_transparent: bool
) -> str | None:
    """Why ``contender`` is materially simpler than ``best``, or None."""
    if contender.get("members"):
        return None
    mine, theirs = (
        contender.get("interpretability") or 0,
        best.get("interpretability") or 0,
    )
    if prefer_transparent and mine >= TRANSPARENT > theirs:
        return f"transparent (interpretability {mine} against {theirs})"
    if best.get("members"):
        return f"one model against an ensemble of {len(best['members'])}"
    mine_c, theirs_c = contender.get("cost_class"), best.get("cost_class")
    if mine_c and theirs_c and mine_c + CHEAPER_CLASSES <= theirs_c:
        return f"cheaper to fit and serve (cost class {mine_c} against {theirs_c})"
    return None


def one_standard_error_choice(
    contenders: list[dict[str, Any]],
    greater_is_better: bool,
    n_train: float,
    n_test: float,
    prefer_transparent: bool = True,
) -> tuple[dict[str, Any], str]:
    """The best contender, or a materially simpler one that is not worse than
    it by more than one standard error (Breiman's one-standard-error rule).

    All contenders are scored on the same folds, so the noise that matters is
    that of the fold-by-fold *difference* from the best, with Nadeau and
    Bengio's correction: a contender is within noise of the best when its mean
    shortfall is at most that difference's corrected standard error.

    Materially simpler means a transparent model against an opaque one (when
    the spec says ``interpretability: high``: ``prefer_transparent``), one
    model against an ensemble, or an algorithm two cost classes cheaper; an
    opaque model is not preferred to another for being one class cheaper.
    Among the simpler contenders within noise, the most interpretable (when
    ``prefer_transparent``), then the cheapest class, then the best mean wins.
    Nothing measured on the clock decides, so a busy machine makes the same
    choice as a quiet one. Returns the choice and the rule.
    """
    sign = 1.0 if greater_is_better else -1.0
    best = max(contenders, key=lambda c: sign * c["cv_mean"])
    best_scores = np.asarray(best["cv_fold_scores"], dtype=float)
    for c in contenders:
        shortfall = sign * (best_scores - np.asarray(c["cv_fold_scores"], dtype=float))
        c["shortfall_vs_best"] = float(np.nanmean(shortfall))
        se = corrected_standard_error(list(shortfall), n_train, n_test)
        c["shortfall_se"] = 0.0 if c is best or not np.isfinite(se) else se
    simpler = [
        (c, why)
        for c in contenders
        if c is not best
        and c["shortfall_vs_best"] <= c["shortfall_se"]
        and (why := materially_simpler(c, best, prefer_transparent))
    ]
    if not simpler:
        rule = (
            f"{best['model']} has the best cross-validated mean ({best['cv_mean']:.4f}, "
            f"standard error {best['cv_se']:.4f})"
            + (
                "; no materially simpler contender is within one standard error "
                "of the fold-by-fold difference"
                if len(contenders) > 1
                else ""
            )
        )
        return best, rule
    chosen, why = min(
        simpler,
        key=lambda cw: (
            -(cw[0].get("interpretability") or 0) if prefer_transparent else 0,
            cw[0].get("cost_class") or 0,
            -sign * cw[0]["cv_mean"],
        ),
    )
    rule = (
        f"one-standard-error rule: {chosen['model']} ({chosen['cv_mean']:.4f}) falls "
        f"short of the best, {best['model']} ({best['cv_mean']:.4f}), by "
        f"{chosen['shortfall_vs_best']:.4f}, within one standard error of the "
        f"fold-by-fold difference ({chosen['shortfall_se']:.4f}), and is materially "
        f"simpler: {why}"
    )
    return chosen, rule
