"""Stage step 4: Optuna over each shortlisted model, with the plan's cross-validation.

* Sampler: TPE (default), random or grid, seeded per trial from the seed and
  the trial's number, so a rerun, or a study resumed after an interruption,
  proposes the same trials (when the trial budget, not the clock, ends the
  search; when the clock ends it, the log, tuning.json and the model card say so).
* Budgets: ``n_trials`` per model, a wall-clock budget per model and overall.
  The clock is checked between folds, so a search ends within one fold's time of
  its budget; the first trial (the candidate's defaults) always completes.
* ``MedianPruner`` gets the running mean after every fold.
* A trial that raises is recorded as failed with its error; the search goes on.
* Class imbalance: with ``imbalance: auto`` the strategy is a hyperparameter of
  the search, so CV picks it; resampling happens inside the training folds only.
* The study is stored (SQLite by default, any Optuna storage URL for many
  workers) under a name that fingerprints the data and the search, so an
  interrupted tuning resumes where it stopped and a changed setup starts anew.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import optuna
import polars as pl

from model_training import __version__
from model_training.lib.algorithms.cv import cv_splits, order_for_cv
from model_training.lib.algorithms.early_stopping import EARLY_STOPPING_SCHEME
from model_training.lib.algorithms.registry import algorithm
from model_training.lib.core.budget import Budget, unlimited
from model_training.lib.core.frames import split_xy
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems import get_problem
from model_training.lib.training.allocation import first_round_trials, second_round
from model_training.lib.training.candidates import guarded_rows, row_guard
from model_training.lib.training.objective import Objective, TuningContext
from model_training.lib.training.search import (
    SAMPLER_SCHEME,
    capped_search,
    data_fingerprint,
    fingerprint,
    make_sampler,
    model_result,
    open_storage,
)

logger = logging.getLogger(__name__)


def tune_models(
    plan: ModelingPlan,
    train: pl.DataFrame,
    shortlist: list[str],
    defaults: dict[str, dict[str, Any]],
    options: TuningParams,
    seed: int,
    row_guards: dict[str, int] | None = None,
    budget: Budget | None = None,
) -> dict[str, Any]:
    """Tune every shortlisted model with cross-validation on the training split.

    Args:
        plan: the modeling plan (search strategy, budgets, CV, imbalance).
        train: the training split (validation stays out of tuning: it judges the
            tuned models afterwards).
        shortlist: algorithm names from modeling.
        defaults: each algorithm's default hyperparameters (enqueued as the
            first trial, so tuning never ends below the defaults' CV score).
        options: ``tuning`` parameters: ``search_spaces``, ``storage``,
            ``pruner``, ``grid_points``, ``feature_selection``, ``caps``.
        seed: random seed.
        row_guards: ``modeling.row_guard`` (rows per algorithm above which it
            is tuned on a subsample), as modeling applies it.
        budget: the run's time budget: the search also ends at the tuning
            checkpoint when that comes before the spec's ``timeout_s``.

    Returns:
        Per model: best parameters, CV mean/std of the best and of the defaults,
        trial counts and every trial (params, fold scores, state, error).
    """

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ordered = order_for_cv(train, plan)
    x, y = split_xy(ordered, plan)
    problem = get_problem(plan.spec.problem_type)
    fixed, evidence = problem.search_constraints(plan, x, options, seed)
    if evidence is not None:
        logger.info("Tuning: %s", evidence["rule"])
    defaults = {
        name: {**(defaults.get(name) or {}), **fixed.get(name, {})}
        for name in {*defaults, *fixed}
    }
    ctx = TuningContext(
        plan=plan,
        problem=problem,
        ordered=ordered,
        x=x,
        y=y,
        splits=cv_splits(ordered, y, plan, seed),
        options=options,
        defaults=defaults,
        search=capped_search(plan, options.caps),
        seed=seed,
        storage=open_storage(options.storage),
        data_hash=data_fingerprint(ordered),
        row_guards=dict(row_guards or {}),
        fixed=fixed,
    )
    started = time.monotonic()
    budget = budget or unlimited()
    run_deadline = budget.monotonic_deadline("tuning")
    total_deadline = min(started + ctx.search.timeout_s, run_deadline)
    run_budget_binds = run_deadline < started + ctx.search.timeout_s
    per_model = ctx.search.per_model_timeout_s or ctx.search.timeout_s / max(
        len(shortlist), 1
    )
    first = first_round_trials(ctx.search.n_trials, len(shortlist))
    results = []
    for position, name in enumerate(shortlist):
        now = time.monotonic()
        share = (total_deadline - now) / (len(shortlist) - position)
        results.append(_tune_one(ctx, name, min(now + per_model, now + share), first))
    allocation = None
    if first < ctx.search.n_trials:
        searchable = {name: bool(_space(ctx, name)) for name in shortlist}
        totals, allocation = second_round(
            results, searchable, ctx.search.n_trials, plan.greater_is_better
        )
        logger.info(
            "Tuning: successive halving: %s lead (%s); %s stop after the first round",
            ", ".join(allocation["kept"]),
            ", ".join(f"{m} gets {n} trials in all" for m, n in totals.items())
            or "no trials left to share",
            ", ".join(allocation["dropped"]) or "none",
        )
        for position, name in enumerate(totals):
            now = time.monotonic()
            share = (total_deadline - now) / (len(totals) - position)
            index = shortlist.index(name)
            results[index] = _tune_one(ctx, name, now + share, totals[name])
    for result in results:
        if fixed.get(result["model"]):
            result["fixed_params"] = fixed[result["model"]]
            result["params"] = {**fixed[result["model"]], **result["params"]}
    extra = {} if evidence is None else {"cluster_count": evidence}
    if allocation is not None:
        extra["allocation"] = allocation
    bound = [r["model"] for r in results if r.get("stopped_by") == "clock"]
    if run_budget_binds and bound:
        note = budget.note("tuning", f"the search of {', '.join(bound)} ended early")
        logger.warning("Tuning: %s", note)
        for result in results:
            if result.get("stopped_by") == "clock":
                result["stopped_by"] = "run budget"
        extra["run_budget"] = {"bound": True, "note": note}
    return {
        **extra,
        "epic_id": plan.spec.epic_id,
        "primary_metric": plan.spec.primary_metric,
        "greater_is_better": plan.greater_is_better,
        "search": ctx.search.model_dump(),
        "cross_validation": {
            "strategy": plan.cv_strategy,
            "n_splits": plan.spec.cross_validation.n_splits,
            "gap": plan.spec.cross_validation.gap,
            "tuned_on": "train",
            "n_rows": len(y),
        },
        "feature_selection": options.feature_selection,
        "elapsed_s": round(time.monotonic() - started, 2),
        "clock_bound": bound,
        "models": results,
        "summary": {
            f"{r['model']}.best_cv_{plan.spec.primary_metric}": r["metrics"]["cv_mean"]
            for r in results
        },
    }


def _space(ctx: TuningContext, name: str) -> dict[str, Any]:
    """A model's search space: its hyperparameters less the fixed ones, and
    the imbalance strategy when there is a choice."""
    algo = algorithm(ctx.problem.task, name)
    space = {
        key: dim
        for key, dim in ctx.options.space(name).items()
        if key not in ctx.fixed.get(name, {})
    }
    imbalance_choices = _imbalance_choices(ctx.plan, algo)
    if len(imbalance_choices) > 1:
        space["imbalance"] = {"type": "categorical", "choices": imbalance_choices}
    return space


def _tune_one(
    ctx: TuningContext, name: str, deadline: float, trials: int
) -> dict[str, Any]:
    """Run (or resume) one model's study until it holds ``trials`` finished
    trials or its time budget is spent."""

    plan, search, options = ctx.plan, ctx.search, ctx.options
    algo = algorithm(ctx.problem.task, name)
    space = _space(ctx, name)
    imbalance_choices = _imbalance_choices(plan, algo)
    # nothing to search (no hyperparameters, one imbalance strategy): the
    # defaults' one trial says all there is; the budget goes to the others
    n_trials = trials if space else 1
    selection = options.feature_selection
    study_name = f"{plan.spec.epic_id}.{name}." + fingerprint(
        __version__,
        SAMPLER_SCHEME,
        # trials of boosted trees record learned iteration counts since then
        EARLY_STOPPING_SCHEME if algo.iterations_param else None,
        ctx.data_hash,
        space,
        ctx.defaults.get(name),
        search.strategy,
        ctx.seed,
        plan.cv_strategy,
        plan.spec.cross_validation.model_dump(),
        selection,
        plan.spec.primary_metric,
    )
    study = optuna.create_study(
        study_name=study_name,
        storage=ctx.storage,
        load_if_exists=True,
        direction="maximize" if plan.greater_is_better else "minimize",
        sampler=make_sampler(search.strategy, space, ctx.seed, options.grid_points),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=options.pruner.n_startup_trials,
            n_warmup_steps=options.pruner.n_warmup_steps,
        ),
    )
    start_params = _start_params(space, ctx.defaults.get(name) or {}, imbalance_choices)
    # on resume, completed and pruned trials count against the budget; failed
    # ones (e.g. a crash fixed since) are retried
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    done = sum(t.state in finished for t in study.trials)
    waiting = any(t.state == optuna.trial.TrialState.WAITING for t in study.trials)
    if done == 0 and not waiting and search.strategy != "grid":
        study.enqueue_trial(start_params, user_attrs={"start": True})
    x_fit, y_fit, splits, note = ctx.x, ctx.y, ctx.splits, None
    guard = row_guard(algo, ctx.row_guards, len(ctx.plan.features))
    guard = min(guard or options.max_rows, options.max_rows)
    keep = guarded_rows(ctx.y, guard, ctx.seed, ctx.plan.spec.kind.classification)
    if keep is not None:
        # the folds are cut from the very rows that are fitted (their groups,
        # regions and times), not from the first rows of the split
        x_fit, y_fit = ctx.x[keep], ctx.y[keep]
        splits = cv_splits(ctx.ordered[keep], y_fit, plan, ctx.seed)
        note = f"tuned on a {guard}-row subsample (row guard or tuning.max_rows)"
    objective = Objective(
        ctx, algo, space, imbalance_choices[0], deadline, x_fit, y_fit, splits
    )

    def log_trial(study: Any, trial: Any) -> None:
        best = f"{study.best_value:.4f}" if _has_complete(study) else "-"
        if trial.state == optuna.trial.TrialState.COMPLETE:
            outcome = f"{plan.spec.primary_metric} = {trial.value:.4f}"
        else:  # a pruned trial's value is a partial mean, not comparable with the best
            folds = len(trial.intermediate_values)
            outcome = (
                f"stopped after {folds} of {len(splits)} folds"
                if trial.state == optuna.trial.TrialState.PRUNED
                else "no score"
            )
            reason = trial.user_attrs.get("stopped") or trial.user_attrs.get("error")
            if reason:
                outcome += f" ({reason[:120]})"
        # progress: seconds so far and, from the mean trial so far, an estimate
        # of what is left (never beyond the clock's deadline)
        now = time.monotonic()
        ran = max(trial.number + 1 - done, 1)
        left = (now - started) / ran * max(n_trials - trial.number - 1, 0)
        left = max(min(left, deadline - now), 0.0)
        logger.info(
            "Tuning %s trial %d/%d %s: %s (best %s; %.0f s, about %.0f s left)",
            name,
            trial.number + 1,
            n_trials,
            trial.state.name.lower(),
            outcome,
            best,
            now - started,
            left,
        )

    remaining = n_trials - done
    if done:
        logger.info(
            "Tuning %s: resuming study %s with %d of %d trials done",
            name,
            study_name,
            done,
            n_trials,
        )
    started = time.monotonic()
    budget = deadline - started
    closed = (*finished, optuna.trial.TrialState.FAIL)
    before = sum(t.state in closed for t in study.trials)
    if remaining > 0 and (budget > 0 or done == 0):
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=max(budget, 1e-3),
            catch=(Exception,),
            callbacks=[log_trial],
            gc_after_trial=False,
        )
    result = model_result(name, study, start_params, time.monotonic() - started, note)
    spent = sum(t.state in finished for t in study.trials)
    # failed trials count: Optuna spent the budget on them too
    ran = sum(t.state in closed for t in study.trials) - before
    clock_bound = ran < max(remaining, 0) or any(
        t.user_attrs.get("stopped") == "wall-clock budget" for t in study.trials
    )
    result["stopped_by"] = "clock" if clock_bound else "trial budget"
    if clock_bound:
        logger.warning(
            "Tuning %s: the clock ended the search after %d of %d trials (budget %.0f s); "
            "a rerun on a faster or quieter machine may choose differently. Raise "
            "search.timeout_s (or per_model_timeout_s) so that the trial budget binds.",
            name,
            spent,
            n_trials,
            budget,
        )
    return result


def _has_complete(study: Any) -> bool:

    return any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def _imbalance_choices(plan: ModelingPlan, algo: Any) -> list[str]:
    if not plan.spec.kind.classification:
        return ["none"]
    supported = algo.imbalance_options(plan.spec.cost_matrix is not None)
    wanted = plan.spec.imbalance
    if wanted == "auto":
        return supported
    return (
        [wanted]
        if wanted in supported
        else ["class_weight" if "class_weight" in supported else "none"]
    )


def _start_params(
    space: dict[str, Any], defaults: dict[str, Any], imbalance: list[str]
) -> dict[str, Any]:
    """The candidate's defaults, restricted to (and clipped into) the search space."""
    start = {}
    for name, dist in space.items():
        if name == "imbalance":
            start[name] = imbalance[0]
        elif name in defaults:
            value = defaults[name]
            if dist["type"] in ("int", "float"):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    # e.g. svm gamma "scale" against a numeric range: the start
                    # trial samples this one instead
                    continue
                value = min(max(value, dist["low"]), dist["high"])
            elif value not in dist["choices"]:
                continue
            start[name] = value
    return start
