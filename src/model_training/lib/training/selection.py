"""Stage steps 5 and 9 (first part): pick the final configuration, refit it on train + validation."""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from model_training.lib.algorithms.cv import order_for_cv
from model_training.lib.algorithms.cv_eval import fold_predictions
from model_training.lib.algorithms.registry import algorithm
from model_training.lib.core.budget import Budget, unlimited
from model_training.lib.core.frames import split_xy
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.configs import (
    config_fit_params,
    configuration,
    pipeline_for,
)
from model_training.lib.training.ensembling import (
    averaged,
    candidate_members,
    ensemble_contender,
    ensembling,
    unaffordable_ensemble,
)
from model_training.lib.training.protocol import (
    affordable_rows,
    budget_record,
    capped_rows,
    corrected_standard_error,
    judge_seconds,
    judging_order,
    one_standard_error_choice,
    refit_seconds,
    selection_splits,
)
from model_training.lib.training.trivial import against_trivial

logger = logging.getLogger(__name__)


def select_model(
    plan: ModelingPlan,
    train: pl.DataFrame,
    validation: pl.DataFrame,
    tuning: dict[str, Any],
    candidates: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    options: TuningParams,
    seed: int,
    budget: Budget | None = None,
    keep_oof: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Choose among the tuned configurations and their post-hoc ensemble by
    cross-validation on train + validation (the same folds for every
    contender, repeated on small data), with the one-standard-error rule
    toward the simpler model.

    Validation alone is too small a judge on small data; each contender's score
    there (fitted on train) is kept as a reported check. Past the run budget's
    selection checkpoint, the remaining tuned models and the candidates' part
    of the ensemble pool are left out, with the reason (the tuned models are
    judged best tuning score first, and that first one always is).
    """
    budget = budget or unlimited()
    budget_notes: list[str] = []
    started = time.monotonic()
    last_cost = 0.0
    x_train, y_train = split_xy(train, plan)
    x_valid, y_valid = split_xy(validation, plan)
    combined = order_for_cv(
        pl.concat([train, validation], how="diagonal_relaxed"), plan
    )
    x_all, y_all = split_xy(combined, plan)
    splits, repeats = selection_splits(combined, y_all, plan, seed, options.max_rows)
    judged_rows = len(np.unique(np.concatenate([i for split in splits for i in split])))
    # the final refit on every row of the first contender (the best tuned
    # model, the one always judged), and what follows it, are kept out
    # of the selection's time; a later contender is judged only when its own
    # refit would still fit, were it chosen
    entries = judging_order(tuning["models"], plan.greater_is_better)
    first = next((e for e in entries if e.get("status") == "ok"), None)
    refit = refit_seconds(first, tuning, len(y_all))
    budget = budget.reserving(refit)
    cap, note = affordable_rows(
        entries, tuning, budget, judged_rows, len(splits), len(y_all)
    )
    if cap is not None:  # the folds and each validation-check fit use the sample
        logger.warning("Selection: %s", note)
        budget_notes.append(note)
        options = options.model_copy(update={"max_rows": cap})
        judged_rows = cap
        splits, repeats = selection_splits(combined, y_all, plan, seed, cap)
    # the validation check scores at most as many rows (200,000 rows scored
    # twice took most of a million-row selection)
    keep = capped_rows(y_valid, plan, seed, options.max_rows)
    if keep is not None:
        x_valid, y_valid = x_valid[keep], y_valid[keep]
    n_train = float(np.mean([len(t) for t, _ in splits]))
    n_test = float(np.mean([len(v) for _, v in splits]))
    primary = plan.spec.primary_metric
    per_repeat = len(splits) // repeats
    check = validation_check_split(
        plan, y_train, validation.height, keep, options, seed
    )
    data = (x_all, y_all, splits, x_train, y_train, x_valid, y_valid, per_repeat, check)
    rows, contenders, pool = [], [], []
    for entry in entries:
        if entry["status"] != "ok":
            rows.append(
                {
                    "model": entry["model"],
                    "status": "failed",
                    "reason": "no completed trial",
                }
            )
            continue
        projected = (
            judge_seconds(entry, tuning, len(splits), judged_rows, len(y_all))
            or last_cost
        )
        # were it chosen, its own refit would be reserved instead
        own = budget.reserving(refit_seconds(entry, tuning, len(y_all)))
        judge_by = own if own.reserve_s > budget.reserve_s else budget
        if contenders and not judge_by.affords("selection", projected):
            note = budget.note(
                "selection",
                f"{entry['model']} not judged (projected at {projected:.0f} s, "
                "with its own final refit and evaluation were it chosen)",
            )
            budget_notes.append(note)
            logger.warning("Selection: %s", note)
            rows.append({"model": entry["model"], "status": "skipped", "reason": note})
            continue
        config = configuration(entry, defaults, n_rows=len(y_all))
        judged_at = time.monotonic()
        row, member = _judge(plan, config, data, options, seed, n_train, n_test)
        last_cost = time.monotonic() - judged_at
        logger.info(
            "Selection %d/%d: %s cross-validated %s %.4f (standard error %.4f) on "
            "%d folds in %.0f s (%.0f s so far)",
            len(rows) + 1,
            len(entries),
            entry["model"],
            primary,
            row["cv_mean"],
            row["cv_se"],
            len(splits),
            last_cost,
            time.monotonic() - started,
        )
        row["tuning_cv_mean"] = entry["metrics"]["cv_mean"]
        rows.append(row)
        pool.append({**member, "source": "tuned"})
        if np.isfinite(row["cv_mean"]):
            contenders.append(row)
    if not contenders:
        raise ValueError(
            "no tuned model completed a trial; see tuning.json for the errors"
        )
    sign = 1.0 if plan.greater_is_better else -1.0
    best_single = max(contenders, key=lambda c: sign * c["cv_mean"])
    ensemble = None
    if ensembling(plan, options):
        if options.ensemble.with_candidates and budget.spent("selection"):
            note = budget.note("selection", "no candidate joined the ensemble pool")
            budget_notes.append(note)
            logger.warning("Selection: %s", note)
        elif options.ensemble.with_candidates:
            pool += candidate_members(
                candidates,
                tuning,
                defaults,
                len(splits),
                options,
                budget,
                lambda config: _judge(plan, config, data, options, seed, 1.0, 1.0)[1],
                partial(_kin, get_problem(plan.spec.problem_type).task),
            )
        ensemble = ensemble_contender(
            plan, pool, y_all, y_valid, splits, repeats, options.ensemble, best_single
        )
    if ensemble is not None:
        ensemble["cv_se"] = corrected_standard_error(
            ensemble["cv_fold_scores"], n_train, n_test
        )
        if note := unaffordable_ensemble(
            ensemble, tuning, candidates, len(y_all), budget
        ):
            budget_notes.append(note)
        rows.append(ensemble)
        if ensemble["kept"]:
            contenders.append(ensemble)
    chosen, rule = one_standard_error_choice(
        contenders,
        plan.greater_is_better,
        n_train,
        n_test,
        prefer_transparent=plan.spec.interpretability == "high",
    )
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
    trivial = against_trivial(plan, y_all, splits, chosen, n_train, n_test, seed, x_all)
    oof_records = [row.pop("_oof", None) for row in rows]
    if keep_oof is not None and not chosen.get("members"):
        keep_oof["oof"] = next(
            (r for r in oof_records if r and r["model"] == chosen["model"]), None
        )
    selected = {k: chosen[k] for k in ("model", "params", "imbalance")}
    if chosen.get("members"):
        selected["members"] = chosen["members"]
    return {
        "epic_id": plan.spec.epic_id,
        "primary_metric": primary,
        "selected": selected,
        "protocol": {
            "rows": len(y_all),
            "judged_rows": judged_rows,
            "max_rows": options.max_rows,
            "strategy": plan.cv_strategy,
            "folds": len(splits) // repeats,
            "repeats": repeats,
            "standard_error": "Nadeau-Bengio corrected",
            "rule": "the best mean, or a materially simpler contender (transparent "
            "against opaque when interpretability is high, one model against an "
            "ensemble, or two cost classes cheaper) within one standard error of "
            "the fold-by-fold difference from the best",
            "interpretability": plan.spec.interpretability,
            "ensemble": options.ensemble.model_dump(),
        },
        "rationale": rule,
        "validation_check": check,
        **({"trivial_reference": trivial} if trivial else {}),
        "models": rows,
        "elapsed_s": round(time.monotonic() - started, 2),
        **budget_record(budget, budget_notes, refit),
        **(
            {"cluster_count": tuning["cluster_count"]}
            if "cluster_count" in tuning
            else {}
        ),
    }


def _kin(task: str, name: str) -> str:
    """The family the ensemble pool counts algorithm ``name`` in."""
    try:
        return algorithm(task, name).kin
    except ValueError:  # not a registered algorithm: a family of its own
        return name


def validation_check_split(
    plan: ModelingPlan,
    y_train: np.ndarray,
    n_valid: int,
    valid_rows: np.ndarray | None,
    options: TuningParams,
    seed: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """The validation check as one more fold of train + validation, so that
    it is fitted beside the selection's folds, in their worker batches,
    rather than after them on its own: the training rows (at most
    ``tuning.max_rows`` of them) against the validation rows (``valid_rows``
    of the ``n_valid``, or all), as positions in train + validation, which
    keeps the two splits in order for supervised tabular data. None for
    forecasts (they score validation walking forward), models without a
    target and rows sorted by time for the folds (``order_for_cv``), whose
    check is fitted on its own."""
    if (
        plan.spec.kind.temporal
        or plan.spec.kind.target != "required"
        or plan.cv_strategy == "time_series"  # rows sorted by time for the folds
    ):
        return None
    n_train = len(y_train)
    fit_rows = capped_rows(y_train, plan, seed, options.max_rows)
    held = np.arange(n_valid) if valid_rows is None else valid_rows
    return (np.arange(n_train) if fit_rows is None else fit_rows), n_train + held


def _judge(
    plan: ModelingPlan,
    config: dict[str, Any],
    data: tuple[Any, ...],
    options: TuningParams,
    seed: int,
    n_train: float,
    n_test: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One configuration on the selection folds and on validation: its
    selection row, and its member record for the ensemble."""
    x_all, y_all, splits, x_train, y_train, x_valid, y_valid, per_repeat, check = data
    problem = get_problem(plan.spec.problem_type)
    pipeline = pipeline_for(plan, config, options, seed)
    # picklable (no closures): the folds may run in worker processes
    fit_kwargs = partial(config_fit_params, plan, config)
    predict = partial(problem.predict, plan=plan)
    start = time.perf_counter()
    fits = splits if check is None else [*splits, check]
    outputs = fold_predictions(pipeline, x_all, y_all, fits, predict, fit_kwargs)
    cv_seconds = time.perf_counter() - start
    valid_out = outputs.pop() if check is not None else None
    primary = plan.spec.primary_metric
    scores = [
        compute_metrics([primary], y_all[valid], y_pred, y_score, plan.metric_context)[
            primary
        ]
        for (_, valid), (y_pred, y_score) in zip(splits, outputs, strict=True)
    ]
    if valid_out is None:
        # the validation check fits on at most tuning.max_rows training rows too
        keep = capped_rows(y_train, plan, seed, options.max_rows)
        if keep is not None:
            x_train, y_train = x_train[keep], y_train[keep]
        model = problem.fit(pipeline, x_train, y_train, fit_kwargs(y_train))
        valid_out = problem.evaluation_predictions(model, x_valid, y_valid, plan)
    fit_time = round(cv_seconds / max(len(fits), 1), 4)
    row = {
        **config,
        "status": "ok",
        "cv_mean": float(np.nanmean(scores)),
        "cv_std": float(np.nanstd(scores)),
        "cv_se": corrected_standard_error(scores, n_train, n_test),
        "cv_fold_scores": [float(v) for v in scores],
        "cv_fit_time_s": fit_time,
        "interpretability": algorithm(problem.task, config["model"]).interpretability,
        "cost_class": algorithm(problem.task, config["model"]).cost,
        "validation_metrics": compute_metrics(
            plan.spec.metric_names, y_valid, *valid_out, plan.metric_context
        ),
    }
    # the first repeat's folds: the same folds the final fit cuts (its seed)
    first = per_repeat
    row["_oof"] = _oof_record(config, splits[:first], outputs[:first])
    if not ensembling(plan, options):
        return row, {}
    return row, {
        "config": config,
        "fold_predictions": [averaged(plan, p, s) for p, s in outputs],
        "validation_prediction": averaged(plan, *valid_out),
        "cv_fit_time_s": fit_time,
    }


def _oof_record(
    config: dict[str, Any],
    splits: list[tuple[np.ndarray, np.ndarray]],
    outputs: list[tuple[np.ndarray, np.ndarray | None]],
) -> dict[str, Any]:
    """The configuration's out-of-fold predictions on the first repeat's folds,
    as ``out_of_fold`` gives them, for the final calibration to reuse."""
    scores = [score for _, score in outputs]
    stack = (
        np.concatenate
        if scores[0] is not None and np.ndim(scores[0]) == 1
        else np.vstack
    )
    return {
        "model": config["model"],
        "params": config["params"],
        "imbalance": config["imbalance"],
        "rows": np.concatenate([valid for _, valid in splits]),
        "preds": np.concatenate([pred for pred, _ in outputs]),
        "scores": None if scores[0] is None else stack(scores),
    }
