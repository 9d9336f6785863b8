"""The MLflow record of a run as the run guard keeps it true: the runs of this
process ended with the status they earned, runs a killed process left RUNNING
marked KILLED."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def end_mlflow_run(status: str, run_id: str | None = None) -> None:
    """End every open MLflow run of this process (nested ones first) with
    ``status``, and the run ``run_id`` too if something else had closed it."""
    try:
        import mlflow

        while mlflow.active_run() is not None:
            mlflow.end_run(status)
        if run_id is not None:
            mlflow.MlflowClient().set_terminated(run_id, status)
    except Exception:  # the record must not hide the error that ended the run
        logger.warning("Could not mark the MLflow run %s", status, exc_info=True)


def active_run_id() -> str | None:
    import mlflow

    return getattr(getattr(mlflow.active_run(), "info", None), "run_id", None)


def mark_abandoned_runs(epic: str) -> None:
    """Runs of this epic still RUNNING belong to killed processes: mark them KILLED."""
    import mlflow

    active = mlflow.active_run()
    if active is None:
        return
    client = mlflow.MlflowClient()
    stale = client.search_runs(
        [active.info.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.epic_id = '{epic}'",
    )
    for run in stale:
        if run.info.run_id != active.info.run_id and not run.data.tags.get(
            "mlflow.parentRunId"
        ):
            client.set_terminated(run.info.run_id, "KILLED")
            for child in client.search_runs(
                [active.info.experiment_id],
                filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}' "
                "and attributes.status = 'RUNNING'",
            ):
                client.set_terminated(child.info.run_id, "KILLED")
            logger.warning(
                "MLflow run %s of an earlier, killed run was left RUNNING; marked KILLED",
                run.info.run_id,
            )
