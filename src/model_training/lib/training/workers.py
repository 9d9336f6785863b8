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
  its data are the run's, and runs trials of the open study.

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
from collections.abc import Callable
from typing import Any

import optuna

from model_training import __version__
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
    study_setup,
    tuning_context,
)

logger = logging.getLogger(__name__)

ORDER_KEY = "work_order"


def worker_label(prefix: str | None = None) -> str:
    """A worker's name in tuning.json: ``host:pid`` (or the name given)."""
    return prefix or f"{socket.gethostname()}:{os.getpid()}"


def new_round() -> str:
    """An identifier of one round of a study's search."""
    return uuid.uuid4().hex[:12]


class StopAtBudget:
    """An Optuna callback: stop this worker once the round's slots are taken."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim

    def __call__(self, study: Any, trial: Any) -> None:
        trials = study.get_trials(deepcopy=False)
        if slots_taken(trials, self.claim.round_id) >= self.claim.budget:
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
    if left <= 0 or (seconds <= 0 and started):
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
                callbacks=[StopAtBudget(claim), *(callbacks or [])],
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
        done: int,
        deadline: float,
        folds: int,
    ) -> None:
        self.name, self.metric, self.n_trials, self.done = name, metric, n_trials, done
        self.deadline, self.folds, self.me = deadline, folds, ""
        self.started = time.monotonic()
        self.seen: set[int] = set()
        self.count = 0

    def __call__(self, study: Any, _trial: Any) -> None:
        closed = [
            t
            for t in study.get_trials(deepcopy=False)
            if t.state.is_finished()
            and t.number not in self.seen
            and not t.user_attrs.get("unused")
        ]
        for trial in sorted(closed, key=lambda t: t.number):
            self.seen.add(trial.number)
            self._log(study, trial)

    def _log(self, study: Any, trial: Any) -> None:
        complete = optuna.trial.TrialState.COMPLETE
        best = (
            f"{study.best_value:.4f}"
            if any(t.state == complete for t in study.get_trials(deepcopy=False))
            else "-"
        )
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
        logger.info(
            "Tuning %s trial %d/%d %s%s: %s (best %s; %.0f s, about %.0f s left)",
            self.name,
            trial.number + 1,
            self.n_trials,
            trial.state.name.lower(),
            by,
            outcome,
            best,
            now - self.started,
            left,
        )


# work orders ------------------------------------------------------------------
def work_order(
    ctx: TuningContext, setup: StudySetup, claim: Claim, deadline_epoch: float
) -> dict[str, Any]:
    """What a worker elsewhere needs, besides the epic's data, to run trials
    of this study as the run does (JSON)."""
    return {
        "open": True,
        "version": __version__,
        "epic_id": ctx.plan.spec.epic_id,
        "model": setup.model,
        "round": claim.round_id,
        "budget": claim.budget,
        "deadline_epoch": deadline_epoch,
        "data_hash": ctx.data_hash,
        "plan": ctx.plan.model_dump(mode="json"),
        "options": ctx.options.model_dump(mode="json"),
        "defaults": ctx.defaults,
        "fixed": ctx.fixed,
        "row_guards": ctx.row_guards,
        "seed": ctx.seed,
        "search": ctx.search.model_dump(mode="json"),
    }


def context_from_order(
    order: dict[str, Any], train: Any, storage_url: str | None
) -> TuningContext:
    """The run's tuning context, rebuilt from its work order and this
    machine's copy of the training split. Raises ``DataMismatch`` when the
    data are not the run's."""
    from model_training.lib.core.params import TuningParams
    from model_training.lib.core.plan import load_plan

    plan = load_plan(order["plan"])
    options = TuningParams.model_validate({**order["options"], "storage": storage_url})
    ctx = tuning_context(
        plan,
        train,
        options,
        int(order["seed"]),
        order["defaults"],
        order["fixed"],
        order["row_guards"],
        search=type(plan.spec.search).model_validate(order["search"]),
    )
    if ctx.data_hash != order["data_hash"]:
        raise DataMismatch(
            f"this machine's training split of epic {order['epic_id']} is not the "
            f"run's (fingerprint {ctx.data_hash}, the run's {order['data_hash']}): "
            "copy the run's data/4_processed/<epic>/features/train_features.csv here"
        )
    return ctx


class DataMismatch(RuntimeError):
    """A worker's copy of the data differs from the run's."""


def open_orders(storage: Any, epic_id: str) -> list[tuple[str, dict[str, Any]]]:
    """(study name, order) of the epic's studies whose order is open and
    whose deadline has not passed, oldest first."""
    found = []
    now = time.time()
    for study in storage.get_all_studies():
        order = study.user_attrs.get(ORDER_KEY)
        if (
            study.study_name.startswith(f"{epic_id}.")
            and isinstance(order, dict)
            and order.get("open")
            and float(order.get("deadline_epoch", 0)) > now
        ):
            found.append((study.study_name, order))
    return found


def join_studies(
    storage_url: str,
    epic_id: str,
    context_for: Callable[[dict[str, Any]], TuningContext],
    label: str,
    idle_s: float,
    poll_s: float = 1.0,
) -> dict[str, int]:
    """A worker from elsewhere: run trials of the epic's open studies until
    none has been open for ``idle_s`` seconds. ``context_for(order)`` builds
    the run's tuning context from an order and this machine's data (and
    refuses data that are not the run's). Returns trials run per study."""
    from model_training.lib.core.params import Heartbeat

    ran: dict[str, int] = {}
    idle_since = time.monotonic()
    contexts: dict[str, TuningContext] = {}
    while time.monotonic() - idle_since < idle_s:
        storage = open_storage(storage_url)
        orders = open_orders(storage, epic_id)
        if not orders:
            time.sleep(poll_s)
            continue
        for study_name, order in orders:
            if order.get("version") != __version__:
                raise RuntimeError(
                    f"study {study_name} belongs to a run of model_training "
                    f"{order.get('version')}; this worker is {__version__}: run the "
                    "same version of the project on every machine"
                )
            key = f"{order['data_hash']}:{order['round']}"
            if key not in contexts:
                contexts[key] = context_for(order)
            ctx = contexts[key]
            beat = Heartbeat.model_validate(order["options"]["heartbeat"])
            setup = study_setup(ctx, order["model"])
            if setup.study_name != study_name:
                logger.warning(
                    "Worker: skipping study %s: this machine's project builds %s from "
                    "the same order (different code or search settings)",
                    study_name,
                    setup.study_name,
                )
                continue
            claim = Claim(order["round"], int(order["budget"]), label)
            deadline = time.monotonic() + float(order["deadline_epoch"]) - time.time()
            storage = open_storage(storage_url, beat)
            before = _own_trials(storage, study_name, label)
            logger.info("Worker %s: joining %s", label, study_name)
            run_trials(ctx, setup, claim, deadline, storage=storage)
            count = _own_trials(storage, study_name, label) - before
            ran[study_name] = ran.get(study_name, 0) + count
            logger.info("Worker %s: ran %d trials of %s", label, count, study_name)
        idle_since = time.monotonic()
        time.sleep(poll_s)
    return ran


def _own_trials(storage: Any, study_name: str, label: str) -> int:
    study = optuna.load_study(study_name=study_name, storage=storage)
    return sum(
        t.user_attrs.get("worker") == label and not t.user_attrs.get("unused")
        for t in study.get_trials(deepcopy=False)
    )
