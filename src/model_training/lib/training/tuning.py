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
* Workers: ``tuning.workers`` processes on this machine, and
  ``model-training-worker`` on others, fill the same studies; the trial budget
  is shared (lib/training/workers.py).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import optuna
import polars as pl

from model_training.lib.algorithms.target_transform import searches_log_target
from model_training.lib.core.budget import Budget, unlimited
from model_training.lib.core.params import TuningParams
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.threads import fit_threads, thread_share
from model_training.lib.training.allocation import (
    first_round_trials,
    flat_search,
    second_round,
)
from model_training.lib.training.objective import Claim, TuningContext, slots_taken
from model_training.lib.training.search import (
    model_result,
    open_storage,
)
from model_training.lib.training.search_clock import SearchClock, StopPastDeadline
from model_training.lib.training.study import (
    open_study,
    search_space,
    study_setup,
    tuning_context,
)
from model_training.lib.training.work_orders import ORDER_KEY, work_order
from model_training.lib.training.workers import (
    LocalWorkers,
    TrialLog,
    new_round,
    run_trials,
    wait_for_others,
    worker_label,
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
    candidates: dict[str, Any] | None = None,
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
            checkpoint when that comes before the spec's ``timeout_s``; the
            checkpoint keeps the final refit and what follows it in reserve,
            projected from ``candidates`` (their results) and, once a model
            has trials, from the leading model's (:mod:`.search_clock`).

    Returns:
        Per model: best parameters, CV mean/std of the best and of the defaults,
        trial counts and every trial (params, fold scores, state, error).
    """

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ctx = tuning_context(plan, train, options, seed, defaults, {}, row_guards)
    fixed, evidence = ctx.problem.search_constraints(plan, ctx.x, options, seed)
    if evidence is not None:
        logger.info("Tuning: %s", evidence["rule"])
    ctx.fixed = fixed
    ctx.defaults = {
        name: {**(defaults.get(name) or {}), **fixed.get(name, {})}
        for name in {*defaults, *fixed}
    }
    clock = SearchClock.start(
        budget or unlimited(),
        ctx.search.timeout_s,
        {"n_rows": len(ctx.y), "n_splits": plan.spec.cross_validation.n_splits},
        candidates,
        shortlist,
        len(train),
        plan.greater_is_better,
    )
    results: list[dict[str, Any]] = []
    per_model = ctx.search.per_model_timeout_s or ctx.search.timeout_s / max(
        len(shortlist), 1
    )
    first = first_round_trials(ctx.search.n_trials, len(shortlist))
    workers = options.workers
    if workers > 1 and ctx.storage is None:
        logger.warning(
            "Tuning: tuning.workers is %d but the study is kept in memory "
            "(tuning.storage: null), which other processes cannot reach: one "
            "worker runs the trials",
            workers,
        )
        workers = 1
    run_threads = fit_threads()
    threads = max(1, run_threads // workers)
    if workers > run_threads:
        logger.warning(
            "Tuning: %d worker processes for %d thread(s): they will compete for "
            "the cores; tuning.workers at most the run's threads is faster",
            workers,
            run_threads,
        )
    pool = LocalWorkers(ctx, workers - 1, threads) if workers > 1 else None
    if pool is not None:
        logger.info(
            "Tuning: %d worker processes fill each study, %d thread(s) each",
            workers,
            threads,
        )
    allocation = None
    try:
        with thread_share(threads) if pool else contextlib.nullcontext():
            for position, name in enumerate(shortlist):
                now = time.monotonic()
                share = (clock.deadline(results) - now) / (len(shortlist) - position)
                deadline = min(now + per_model, now + share)
                results.append(
                    _tune_one(ctx, name, deadline, first, pool, clock, results)
                )
            if first < ctx.search.n_trials:
                searchable = {name: bool(search_space(ctx, name)) for name in shortlist}
                flat = {
                    r["model"]: found
                    for r in results
                    if (found := flat_search(r, options.flat_search))
                }
                totals, allocation = second_round(
                    results,
                    searchable,
                    ctx.search.n_trials,
                    plan.greater_is_better,
                    flat,
                )
                logger.info(
                    "Tuning: second round: %s lead (%s); %s stop after the first round",
                    ", ".join(allocation["kept"]),
                    ", ".join(f"{m} gets {n} trials in all" for m, n in totals.items())
                    or "no trials left to share",
                    ", ".join(allocation["dropped"]) or "none",
                )
                for position, name in enumerate(totals):
                    now = time.monotonic()
                    share = (clock.deadline(results) - now) / (len(totals) - position)
                    index = shortlist.index(name)
                    others = [r for r in results if r["model"] != name]
                    results[index] = _tune_one(
                        ctx, name, now + share, totals[name], pool, clock, others
                    )
    finally:
        if pool is not None:
            pool.close()
    for result in results:
        if fixed.get(result["model"]):
            result["fixed_params"] = fixed[result["model"]]
            result["params"] = {**fixed[result["model"]], **result["params"]}
    extra = {} if evidence is None else {"cluster_count": evidence}
    if allocation is not None:
        extra["allocation"] = allocation
    if run_budget := clock.record(results):
        extra["run_budget"] = run_budget
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
            "n_rows": len(ctx.y),
        },
        "feature_selection": options.feature_selection,
        "workers": {"on_this_machine": workers, "threads_each": threads},
        "elapsed_s": round(time.monotonic() - clock.started, 2),
        "clock_bound": [
            r["model"]
            for r in results
            if r.get("stopped_by") in ("clock", "run budget")
        ],
        "models": results,
        "summary": {
            f"{r['model']}.best_cv_{plan.spec.primary_metric}": r["metrics"]["cv_mean"]
            for r in results
        },
    }


def _tune_one(
    ctx: TuningContext,
    name: str,
    deadline: float,
    trials: int,
    pool: LocalWorkers | None = None,
    clock: SearchClock | None = None,
    others: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run (or resume) one model's study until it holds ``trials`` finished
    trials or its time budget is spent: in this process, in the pool's
    processes and in any worker that joins from elsewhere. With a ``clock``,
    this process starts no trial once the run's tuning deadline, projected
    again with the trials so far and the ``others``' results, has passed."""

    plan, search = ctx.plan, ctx.search
    setup = study_setup(ctx, name)
    # nothing to search (no hyperparameters, one imbalance strategy): the
    # defaults' one trial says all there is; the budget goes to the others
    n_trials = trials if setup.space else 1
    storage = open_storage(ctx.storage, ctx.options.heartbeat)
    study = open_study(ctx, setup, storage)
    # on resume, completed and pruned trials count against the budget; failed
    # ones (e.g. a crash fixed since) are retried
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    done = sum(t.state in finished for t in study.trials)
    waiting = any(t.state == optuna.trial.TrialState.WAITING for t in study.trials)
    if done == 0 and not waiting and search.strategy != "grid":
        study.enqueue_trial(setup.start_params, user_attrs={"start": True})
        if n_trials >= 2 and searches_log_target(setup.space):
            # the same defaults on log(1 + target): a paired comparison, where
            # random configurations of the two would tell the search little
            study.enqueue_trial({**setup.start_params, "target_transform": "log1p"})
    if done:
        logger.info(
            "Tuning %s: resuming study %s with %d of %d trials done",
            name,
            setup.study_name,
            done,
            n_trials,
        )
    claim = Claim(new_round(), n_trials, worker_label())
    log = TrialLog(
        name,
        plan.spec.primary_metric,
        n_trials,
        deadline,
        len(ctx.splits),
        claim.worker,
        study,
    )
    started = time.monotonic()
    shared = storage is not None
    if shared:
        epoch = time.time() + deadline - started
        order = work_order(ctx, setup, claim, epoch)
        study.set_user_attr(ORDER_KEY, order)
    try:
        futures = pool.start(setup, claim, epoch) if pool and n_trials > done else []
        stops = [log]
        if clock is not None:
            stops.append(
                StopPastDeadline(
                    clock,
                    others or [],
                    lambda study: _sized(
                        ctx,
                        setup,
                        name,
                        model_result(name, study, setup.start_params, 0.0, None),
                    ),
                    publish=(
                        (lambda due: _bring_forward(study, order, due))
                        if shared
                        else None
                    ),
                    round_deadline=deadline,
                )
            )
        run_trials(ctx, setup, claim, deadline, callbacks=stops, study=study)
        for future in futures:
            try:
                future.result()
            except Exception as exc:  # the others go on; the budget is re-run here
                logger.warning("Tuning %s: a worker process failed: %s", name, exc)
        if shared:
            wait_for_others(ctx, setup, claim, study, deadline, log, stops)
    finally:
        if shared:
            study.set_user_attr(ORDER_KEY, {**order, "open": False})
    log(study, None)
    seconds = time.monotonic() - started
    result = model_result(
        name, study, setup.start_params, seconds, setup.note, limit=n_trials
    )
    trials_now = study.get_trials(deepcopy=False)
    spent = slots_taken(
        [t for t in trials_now if t.state != optuna.trial.TrialState.RUNNING],
        claim.round_id,
    )
    flat = flat_search(result, ctx.options.flat_search)
    clock_bound = (spent < n_trials and flat is None) or any(
        t.user_attrs.get("stopped") == "wall-clock budget" for t in trials_now
    )
    result["trial_budget"] = n_trials
    _sized(ctx, setup, name, result)
    result["stopped_by"] = (
        "clock"
        if clock_bound
        else "flat search"
        if flat is not None and spent < n_trials
        else "trial budget"
    )
    if result["stopped_by"] == "flat search":
        result["flat_search"] = flat
        logger.info(
            "Tuning %s: its search is flat (%s): stopped after %d of %d trials; "
            "the rest go to the other models",
            name,
            flat["rule"],
            spent,
            n_trials,
        )
    if clock_bound:
        share = deadline - started
        logger.warning(
            "Tuning %s: the clock ended the search after %d of %d trials (%s); "
            "a rerun on a faster or quieter machine may choose differently. Raise "
            "search.timeout_s (or per_model_timeout_s) so that the trial budget binds.",
            name,
            sum(t.state in finished for t in trials_now),
            n_trials,
            f"its share of the tuning time was {share:.0f} s"
            if share > 0
            else "the tuning's deadline had passed before this round began",
        )
    return result


def _bring_forward(study: Any, order: dict[str, Any], due: float) -> None:
    """Write the run's tuning deadline (``time.monotonic``), projected again
    and earlier than the round's, into the study's work order: the workers
    of the round start no trial past it."""
    epoch = time.time() + due - time.monotonic()
    order["deadline_epoch"] = min(float(order["deadline_epoch"]), epoch)
    study.set_user_attr(ORDER_KEY, order)


def _sized(
    ctx: TuningContext, setup: Any, name: str, result: dict[str, Any]
) -> dict[str, Any]:
    """``result`` with what its fit times are measured against: the rows
    each trial's folds were cut from (a subsample above the guard) and, for
    a forest whose trials fitted fewer trees than its configuration, both
    counts."""
    result["tuned_rows"] = len(ctx.y) if setup.rows is None else len(setup.rows)
    if setup.trial_trees:
        ((param, trees),) = setup.trial_trees.items()
        result["trial_trees"] = {
            "param": param,
            "trials": trees,
            "configuration": (ctx.defaults.get(name) or {}).get(param),
        }
    return result
