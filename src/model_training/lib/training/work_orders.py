"""Work orders: what a run publishes in each study it tunes, so that a worker started apart (``model-training-worker``, on any machine with the project and the epic's data) can rebuild the run's tuning context and run trials of it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import optuna

from model_training import __version__
from model_training.lib.training.objective import Claim, TuningContext
from model_training.lib.training.search import fingerprint, open_storage
from model_training.lib.training.study import StudySetup, study_setup, tuning_context
from model_training.lib.training.workers import ORDER_KEY, run_trials

logger = logging.getLogger(__name__)


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
            # one context per run (its studies share it), not per study
            key = fingerprint(
                *(order[k] for k in ("data_hash", "plan", "options", "seed")),
                *(order[k] for k in ("defaults", "fixed", "row_guards", "search")),
            )
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
