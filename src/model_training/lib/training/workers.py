"""Tuning workers: processes, on this machine or others, that fill the same Optuna studies until their shared trial budget is spent.

What runs where (README, "Many machines"):

* The run's tuning node opens each model's study, publishes a *work order*
  in it (a study attribute: the run's plan and settings, the data's
  fingerprint, the round's budget and deadline), runs trials itself, and
  waits until the budget is spent; then it closes the order.
* ``tuning.workers: N`` starts N - 1 more processes on this machine, each
  with its share of the run's threads.
* ``model-training-worker`` on another machine (with the project and the
  epic's data) watches the storage for open orders of its epic, checks that
  its data are the run's, and runs trials of the open study
  (lib/training/work_orders.py).

Every worker runs whole trials through Optuna (``study.optimize``); a trial
claims a slot of the budget when Optuna creates it (trial numbers are
unique and ordered), so the studies hold exactly the budget's trials
whatever the number of workers. A worker that dies mid-trial stops sending
its heartbeat; the trial is failed after the grace period and its slot goes
to the workers still alive.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
import warnings
from typing import Any

import optuna

from model_training.lib.training.allocation import flat_scores
from model_training.lib.training.objective import (
    Claim,
    TuningContext,
    slots_taken,
)
from model_training.lib.training.search import open_storage
from model_training.lib.training.study import (
    StudySetup,
    make_objective,
    open_study,
)

logger = logging.getLogger(__name__)

ORDER_KEY = "work_order"


def worker_label(prefix: str | None = None) -> str:
    """A worker's name in tuning.json: ``host:pid`` (or the name given)."""
    return prefix or f"{socket.gethostname()}:{os.getpid()}"


def new_round() -> str:
    """An identifier of one round of a study's search."""
    return uuid.uuid4().hex[:12]


class FollowOrder:
    """An Optuna callback of a shared study: stop this worker once the run
    has closed this round's work order or its deadline has passed. The run
    brings that deadline forward when its projection of the final refit
    says the tuning is due (:class:`~.search_clock.StopPastDeadline`), so
    workers on other machines and the run's own worker processes stop
    starting trials when the run does, not at the round's first deadline.
    A trial under way is not cut short (its folds stop at the deadline it
    started with)."""

    def __init__(self, round_id: str) -> None:
        self.round_id = round_id

    def __call__(self, study: Any, trial: Any) -> None:
        order = study.user_attrs.get(ORDER_KEY)
        if not isinstance(order, dict) or order.get("round") != self.round_id:
            return
        due = float(order.get("deadline_epoch", float("inf")))
        if not order.get("open", True) or due <= time.time():
            study.stop()


class StopAtBudget:
    """An Optuna callback: stop this worker once the round's slots are taken."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim

    def __call__(self, study: Any, trial: Any) -> None:
        trials = study.get_trials(deepcopy=False)
        if slots_taken(trials, self.claim.round_id) >= self.claim.budget:
            study.stop()


def study_flat(study: Any, tolerance: float | None) -> dict[str, Any] | None:
    """The evidence that the study's search is flat
    (:func:`~model_training.lib.training.allocation.flat_scores` over its
    completed trials), or None."""
    if tolerance is None:
        return None
    return flat_scores(
        [
            t.value
            for t in study.get_trials(deepcopy=False)
            if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None
        ],
        tolerance,
    )


class StopWhenFlat:
    """An Optuna callback: stop this worker once the search is flat (its
    trials all within ``tuning.flat_search`` of the best score; what is left
    of its budget goes to other models)."""

    def __init__(self, tolerance: float | None) -> None:
        self.tolerance = tolerance

    def __call__(self, study: Any, trial: Any) -> None:
        if study_flat(study, self.tolerance):
            study.stop()


class _NoRefusals(logging.Filter):
    """Optuna logs a refused claim as a failed trial; it is not one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "ClaimRefused" not in record.getMessage()


_FILTER = _NoRefusals()


def run_trials(
    ctx: TuningContext,
    setup: StudySetup,
    claim: Claim,
    deadline: float,
    callbacks: list[Any] | None = None,
    storage: Any = None,
    study: Any = None,
) -> None:
    """Run trials of the study until the round's budget is claimed, the
    deadline (``time.monotonic``) passes, or this worker has run the whole
    budget. The first trial of a new study (the defaults) always completes.
    ``study``: the study already open (a study in memory can only be passed)."""
    if study is None:
        storage = storage or open_storage(ctx.storage, ctx.options.heartbeat)
        study = open_study(ctx, setup, storage)
    trials = study.get_trials(deepcopy=False)
    # a waiting (enqueued) trial is one this worker may run
    left = claim.budget - slots_taken(
        [t for t in trials if t.state != optuna.trial.TrialState.WAITING],
        claim.round_id,
    )
    started = any(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    seconds = deadline - time.monotonic()
    tolerance = ctx.options.flat_search
    if left <= 0 or (seconds <= 0 and started) or study_flat(study, tolerance):
        return
    optuna_log = logging.getLogger("optuna.study._optimize")
    optuna_log.addFilter(_FILTER)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.optimize(
                make_objective(ctx, setup, deadline, claim),
                n_trials=left,
                timeout=max(seconds, 1e-3),
                catch=(Exception,),
                callbacks=[
                    StopAtBudget(claim),
                    StopWhenFlat(tolerance),
                    *([FollowOrder(claim.round_id)] if ctx.storage else []),
                    *(callbacks or []),
                ],
                gc_after_trial=False,
            )
    finally:
        optuna_log.removeFilter(_FILTER)


def fail_stale(study: Any) -> None:
    """Fail the running trials whose worker stopped sending heartbeats."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


# worker processes on this machine ------------------------------------------------
_LOCAL: dict[str, Any] = {}


def _start_local(ctx: TuningContext, threads: int) -> None:
    """Runs once in each local worker process: keep the context, take the
    process's share of the threads."""
    from model_training.lib.core.threads import thread_share

    _LOCAL["ctx"] = ctx
    _LOCAL["threads"] = thread_share(threads).__enter__()
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _ready(_: int) -> int:
    time.sleep(0.05)  # long enough that one process cannot take every task
    return os.getpid()


def _local_trials(setup: StudySetup, claim: Claim, deadline_epoch: float) -> None:
    deadline = time.monotonic() + deadline_epoch - time.time()
    run_trials(_LOCAL["ctx"], setup, claim, deadline)


class LocalWorkers:
    """``count`` worker processes on this machine besides the run's own, each
    holding the tuning context (sent once) and ``threads`` threads."""

    def __init__(self, ctx: TuningContext, count: int, threads: int) -> None:
        from joblib.externals.loky import ProcessPoolExecutor

        self.count = count
        self.labels = [worker_label(f"{worker_label()}/{i + 1}") for i in range(count)]
        self._pool = ProcessPoolExecutor(
            max_workers=count, initializer=_start_local, initargs=(ctx, threads)
        )
        # every process imports and unpickles before the first study opens,
        # so all start on it together
        seen: set[int] = set()
        for _ in range(100):
            seen.update(self._pool.map(_ready, range(count)))
            if len(seen) >= count:
                break

    def start(
        self, setup: StudySetup, claim: Claim, deadline_epoch: float
    ) -> list[Any]:
        """Each process runs trials of the study under its own name."""
        return [
            self._pool.submit(
                _local_trials,
                setup,
                Claim(claim.round_id, claim.budget, label),
                deadline_epoch,
            )
            for label in self.labels
        ]

    def close(self) -> None:
        self._pool.shutdown(wait=True)


# the log --------------------------------------------------------------------------
class TrialLog:
    """Logs each finished trial of a study once, whichever worker ran it (an
    Optuna callback of this process's trials, also called while waiting)."""

    def __init__(
        self,
        name: str,
        metric: str,
        n_trials: int,
        deadline: float,
        folds: int,
        me: str,
        study: Any,
    ) -> None:
        self.name, self.metric, self.n_trials = name, metric, n_trials
        self.deadline, self.folds, self.me = deadline, folds, me
        self.started = time.monotonic()
        # trials of an earlier run of a resumed study were logged by that run
        self.seen = {t.number for t in study.trials if t.state.is_finished()}
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        self.done = sum(t.state in finished for t in study.trials)
        self.count = 0

    def __call__(self, study: Any, _trial: Any) -> None:
        trials = study.get_trials(deepcopy=False)
        closed = [
            t
            for t in trials
            if t.state.is_finished()
            and t.number not in self.seen
            and not t.user_attrs.get("unused")
        ]
        if not closed:
            return
        complete = optuna.trial.TrialState.COMPLETE
        best = (
            f"{study.best_value:.4f}"
            if any(t.state == complete for t in trials)
            else "-"
        )
        for trial in sorted(closed, key=lambda t: t.number):
            self.seen.add(trial.number)
            self._log(trial, best)

    def _log(self, trial: Any, best: str) -> None:
        complete = optuna.trial.TrialState.COMPLETE
        if trial.state == complete:
            outcome = f"{self.metric} = {trial.value:.4f}"
        else:  # a pruned trial's value is a partial mean, not comparable with the best
            folds = len(trial.intermediate_values)
            outcome = (
                f"stopped after {folds} of {self.folds} folds"
                if trial.state == optuna.trial.TrialState.PRUNED
                else "no score"
            )
            reason = trial.user_attrs.get("stopped") or trial.user_attrs.get("error")
            if trial.state == optuna.trial.TrialState.FAIL and not reason:
                reason = "its worker stopped sending heartbeats"
            if reason:
                outcome += f" ({reason[:120]})"
        worker = trial.user_attrs.get("worker")
        by = f" by {worker}" if worker and worker != self.me else ""
        # progress: seconds so far and, from the mean trial so far, an estimate
        # of what is left (never beyond the clock's deadline)
        self.count += 1
        now = time.monotonic()
        left = (
            (now - self.started)
            / self.count
            * max(self.n_trials - self.done - self.count, 0)
        )
        left = max(min(left, self.deadline - now), 0.0)
        # a slot given back by a worker that died, or a failed trial retried,
        # is run again under a new number, past the budget's count
        position = (
            f"{trial.number + 1}/{self.n_trials}"
            if trial.number < self.n_trials
            else f"{trial.number + 1} (budget {self.n_trials}; earlier numbers "
            "went to failed or abandoned trials)"
        )
        logger.info(
            "Tuning %s trial %s %s%s: %s (best %s; %.0f s, about %.0f s left)",
            self.name,
            position,
            trial.state.name.lower(),
            by,
            outcome,
            best,
            now - self.started,
            left,
        )


def wait_for_others(
    ctx: TuningContext,
    setup: Any,
    claim: Claim,
    study: Any,
    deadline: float,
    log: Any,
    callbacks: list[Any] | None = None,
) -> None:
    """Until the round's budget is spent: wait for the trials other workers
    are running; a trial whose worker died (no heartbeat for the grace
    period) is failed and its slot run here, with ``callbacks`` (``log``
    among them); none is run once one of them has stopped the search (its
    ``stopped`` attribute: the run's deadline, projected again, has passed)."""
    grace = ctx.options.heartbeat.grace_s
    callbacks = callbacks or [log]
    while True:
        fail_stale(study)
        trials = study.get_trials(deepcopy=False)
        log(study, None)
        now = time.monotonic()
        if (
            slots_taken(trials, claim.round_id) < claim.budget
            and now < deadline
            and not study_flat(study, ctx.options.flat_search)
            and not any(getattr(c, "stopped", False) for c in callbacks)
        ):
            run_trials(ctx, setup, claim, deadline, callbacks=callbacks, study=study)
            continue
        running = any(t.state == optuna.trial.TrialState.RUNNING for t in trials)
        if not running or now > deadline + grace:
            return
        time.sleep(0.25)
