"""Project settings: config loader resolvers, hooks and the MLflow environment.

Everything here runs once per process, before any node: it is the one place
where global state (warnings filters, environment defaults) is set.
"""

from __future__ import annotations

from pathlib import Path

from kedro.config import OmegaConfigLoader

from model_training.hooks import TrackingHook

# The project root: this file is src/model_training/settings.py in the editable
# install that uv makes, so the root is two folders up from the package.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


HOOKS = (TrackingHook(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {
        "project_root": lambda: PROJECT_ROOT.as_posix(),
    },
}
