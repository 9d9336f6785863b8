"""Project settings: the config loader and its resolvers, and the project's hooks."""

from __future__ import annotations

from pathlib import Path

from kedro.config import OmegaConfigLoader
from kedro.utils import find_kedro_project
from omegaconf.resolvers import oc

from model_training import type_hint_request_unsaid
from model_training.hooks import RunSummaryHook, TrackingHook
from model_training.notebook import NotebookHook
from model_training.resources import ResourceHook
from model_training.run_guard import RunGuardHook

# kedro-mlflow's pyfunc model class, defined when the kedro CLI loads the
# plugin's commands, right after these settings: defined here first, so that
# MLflow's request for type hints on it is not every run's first log line
with type_hint_request_unsaid():
    import kedro_mlflow.mlflow  # noqa: F401


def project_root() -> str:
    """The Kedro project that contains the current folder (or the folder itself).

    Used by ``${project_root:}`` in mlflow.yml so that MLflow's database and
    artifacts stay at the project root whether a run starts there or a notebook
    runs under ``notebooks/``.
    """
    here = Path.cwd()
    return (find_kedro_project(here) or here).resolve().as_posix()


# the guard comes last, so pluggy calls it first among these: it checks the
# parameters and takes the epic's lock before anything is tagged or written,
# and promotes the run's outputs before the notebook reads them and the
# summary prints where they are (pluggy calls hooks in reverse order)
RUN_GUARD = RunGuardHook()
NOTEBOOK = NotebookHook()
HOOKS = (TrackingHook(), RunSummaryHook(NOTEBOOK), NOTEBOOK, ResourceHook(), RUN_GUARD)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # environments (conf/test, conf/local, conf/server) override single keys,
    # not whole groups
    "merge_strategy": {"parameters": "soft", "mlflow": "soft"},
    "custom_resolvers": {
        "project_root": project_root,
        # conf/server reads the tracking server's and the study database's URLs
        # (and so their credentials) from the environment, never from a file
        "oc.env": oc.env,
    },
}
