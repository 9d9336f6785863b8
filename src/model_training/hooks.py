"""Tracking that is not a node's job: run tags, report artifacts, child runs.

kedro-mlflow opens one MLflow run per ``kedro run`` and logs ``params:`` inputs.
:class:`TrackingHook` adds what the stage asks for on top, driven by the catalog:
a dataset whose ``metadata`` has an ``mlflow`` block is logged after it is saved.

.. code-block:: yaml

    baseline_results:
      type: model_training.datasets.ReportJSONDataset
      filepath: results/metrics/${_epic}/baselines.json
      metadata:
        mlflow:
          artifact_path: baseline   # log the file (or folder) as run artifacts
          child_runs: models        # one nested run per item of data["models"]
          metrics: summary          # log data["summary"] numbers as run metrics
          params: summary_params    # log data["summary_params"] as run params
          tags: tags                # log data["tags"] as run tags

    candidate_models:               # {name: fitted model}
      metadata:
        mlflow:
          child_run_models: true    # each model into the child run of that name

Nodes stay pure and run without MLflow in a notebook; when no MLflow run is
active (tracking disabled, a notebook ``catalog.save``), the hook does nothing.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import click
from kedro.framework.hooks import hook_impl

from model_training.datasets import transaction
from model_training.gitinfo import git_commit
from model_training.lib.core.errors import OutputsKept, find_user_error
from model_training.lib.core.params import Group, redact_secrets
from model_training.outputs_summary import relative as _relative
from model_training.outputs_summary import summarize_outputs

logger = logging.getLogger(__name__)

_MAX_PARAM_LENGTH = 6000


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out[prefix] = value
    return out


def _finite_numbers(values: dict[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in _flatten("", values, {}).items()
        if isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    }


def _params(values: dict[str, Any]) -> dict[str, str]:
    return {
        k: redact_secrets(str(v))[:_MAX_PARAM_LENGTH]
        for k, v in _flatten("", values, {}).items()
    }


class TrackingHook:
    """Tags the run and logs catalog datasets that carry ``metadata.mlflow``."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._logged_groups: set[str] = set()

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        """Keep the catalog to look up datasets' metadata."""
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        """Tag the run with the epic, the pipelines, the stage and the code commit."""
        import mlflow

        self._logged_groups = set()
        if mlflow.active_run() is None:
            return
        params = run_params.get("runtime_params") or {}
        epic = params.get("epic_id") or catalog.load("params:epic_id")
        names = sorted(run_params.get("pipeline_names") or ["__default__"])
        tags = {
            "epic_id": str(epic),
            "pipeline": "+".join(names),
            "stage": "model_training",
            "kedro_env": str(run_params.get("env") or "local"),
            "n_nodes": str(len(pipeline.nodes)),
        }
        commit = git_commit(Path(run_params.get("project_path") or "."))
        if commit:
            tags["git_commit"] = commit
        mlflow.set_tags(tags)

    @hook_impl
    def before_node_run(self, node: Any, inputs: dict[str, Any]) -> None:
        """Log typed parameter groups key by key (``tuning.caps.n_trials``).

        kedro-mlflow flattens dict parameters only; a validated group reaches
        it as a model, which it logs whole, as one JSON value.
        """
        import mlflow

        if mlflow.active_run() is None:
            return
        groups = {
            name.removeprefix("params:"): value.model_dump(mode="json")
            for name, value in inputs.items()
            if name.startswith("params:")
            and isinstance(value, Group)
            and name not in self._logged_groups
        }
        if groups:  # once per group and run, however many nodes read it
            mlflow.log_params(_params(groups))
            self._logged_groups.update(f"params:{name}" for name in groups)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """Log a saved dataset as its ``metadata.mlflow`` block asks."""
        import mlflow

        if self._catalog is None or mlflow.active_run() is None:
            return
        dataset = self._catalog.get(dataset_name)
        options = ((getattr(dataset, "metadata", None) or {}).get("mlflow")) or {}
        if not options:
            return
        try:
            self._log(dataset, data, options)
        except Exception:  # tracking must never break a run that produced its outputs
            logger.warning("Could not log '%s' to MLflow", dataset_name, exc_info=True)

    @staticmethod
    def _log(dataset: Any, data: Any, options: dict[str, Any]) -> None:
        import mlflow

        path = getattr(dataset, "local_path", None)
        if path is not None:  # during a run, the output is still in its staging place
            path = transaction.read_path(Path(path))
        if "artifact_path" in options and path is not None and Path(path).exists():
            if Path(path).is_dir():
                mlflow.log_artifacts(str(path), options["artifact_path"])
            else:
                mlflow.log_artifact(str(path), options["artifact_path"])
        if not isinstance(data, dict):
            return
        if options.get("child_run_models"):
            _log_models_to_child_runs(data)
            return
        if options.get("metrics") and isinstance(data.get(options["metrics"]), dict):
            mlflow.log_metrics(_finite_numbers(data[options["metrics"]]))
        if options.get("params") and isinstance(data.get(options["params"]), dict):
            mlflow.log_params(_params(data[options["params"]]))
        if options.get("tags") and isinstance(data.get(options["tags"]), dict):
            mlflow.set_tags({k: str(v) for k, v in data[options["tags"]].items()})
        for item in data.get(options.get("child_runs", ""), None) or []:
            _child_run(item)


_SKIPPED_KEYS = (
    "params",
    "name",
    "kind",
    "description",
    "children",
    "traceback",
    "workers",
)


def child_run_name(item: dict[str, Any]) -> str:
    """A nested run's name, unambiguous across steps: ``baseline/<model>``,
    ``candidate/<model>`` (the same algorithm can be both), ``tuning/<model>``
    and ``tuning/<model>/trial <n>`` (as the reports name them)."""
    name = str(item.get("name"))
    kind = str(item.get("kind", ""))
    return f"{kind}/{name}" if kind in ("baseline", "candidate") else name


def _child_run(item: dict[str, Any]) -> None:
    """One nested run for a table row; its ``children`` become runs nested inside it."""
    import mlflow

    with mlflow.start_run(run_name=child_run_name(item), nested=True):
        tags = {
            "kind": str(item.get("kind", "")),
            "description": str(item.get("description", "")),
        }
        tags.update(
            {
                k: str(v)[:5000]
                for k, v in item.items()
                if k
                in ("status", "error", "state", "note", "stopped", "worker", "workers")
                and v
            }
        )
        mlflow.set_tags(tags)
        mlflow.log_params(_params(item.get("params") or {}))
        numbers = {k: v for k, v in item.items() if k not in _SKIPPED_KEYS}
        mlflow.log_metrics(_finite_numbers(numbers))
        for child in item.get("children") or []:
            _child_run(child)


def _log_models_to_child_runs(models: dict[str, Any]) -> None:
    """Log each model as an artifact of the active run's child run of the same name."""
    import tempfile

    import joblib
    import mlflow

    parent = mlflow.active_run()
    client = mlflow.MlflowClient()
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
    )
    by_name = {run.info.run_name: run.info.run_id for run in children}
    with tempfile.TemporaryDirectory() as folder:
        for name, model in models.items():
            run_name = child_run_name({"name": name, "kind": "candidate"})
            if run_name not in by_name:
                continue
            path = Path(folder) / name / "model.joblib"
            path.parent.mkdir()
            joblib.dump(model, path)
            client.log_artifact(by_name[run_name], str(path), "model")


class RunSummaryHook:
    """At the end of a run, say where its outputs were written.

    Collects every dataset saved during the run and logs one block: the model
    package and card, the metrics reports, the figures, the registered model and
    the MLflow run, with paths relative to the project.
    """

    def __init__(self, notebook: Any = None) -> None:
        self._catalog: Any = None
        self._saved: list[str] = []
        self._run_id: str | None = None
        self._notebook = notebook  # the NotebookHook, to say what it wrote

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        """Keep the catalog to look up where saved datasets live."""
        self._catalog = catalog
        self._saved = []
        self._run_id = None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """Remember the dataset (and the MLflow run it was logged to)."""
        import mlflow

        if dataset_name not in self._saved:
            self._saved.append(dataset_name)
        run = mlflow.active_run()
        if run is not None:
            self._run_id = run.info.run_id

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any]) -> None:
        """A stop after every output was written (an unmet acceptance criterion)
        still says where the outputs are."""
        if isinstance(find_user_error(error), OutputsKept):
            self.after_pipeline_run(run_params)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any]) -> None:
        """Log where this run's outputs are."""
        if self._catalog is None or not self._saved:
            return
        root = Path(run_params.get("project_path") or Path.cwd())
        lines = summarize_outputs({n: self._catalog.get(n) for n in self._saved}, root)
        notebook = self._notebook
        if notebook is not None and notebook.written is not None:
            state = f"FAILED: {notebook.failed}; " if notebook.failed else ""
            lines.append(
                f"  notebook        {state}{_relative(notebook.written, root)}"
            )
        elif notebook is not None and notebook.failed:
            lines.append(f"  notebook        NOT EXECUTED: {notebook.failed}")
        if self._run_id is not None:
            lines.append(
                f"  MLflow run      {self._run_id} (see it: uv run mlflow ui "
                "--backend-store-uri sqlite:///mlflow.db)"
            )
        board = self._leaderboard()
        # printed, not logged: a log handler would wrap the paths at 80 columns
        click.echo(board + "\nOutputs of this run:\n" + "\n".join(lines) + "\n")

    def _leaderboard(self) -> str:
        """Every model ranked by the primary metric, when the run evaluated one."""
        if "model_performance" not in self._saved:
            return ""
        from model_training.lib.reporting.leaderboard import (
            leaderboard,
            render_leaderboard,
        )

        try:
            performance = self._catalog.load("model_performance")
            return "\n" + render_leaderboard(leaderboard(performance)) + "\n"
        except Exception:  # the board is a courtesy: never fail a finished run
            logger.warning("Could not draw the leaderboard", exc_info=True)
            return ""
