"""``model-training-worker``: run tuning trials of an epic's running studies, on this machine or another.

A run with a shared study storage (``kedro run --env server``, or
``tuning.storage`` set to a database URL) publishes a work order in each
model's study while it tunes it. This command watches the storage for the
epic's open orders, checks that this machine's training split is the run's,
and runs trials until each study's trial budget is spent; it exits when no
study has been open for ``--idle-timeout`` seconds. The run's tuning node
waits for the trials it started and carries on as usual.

Example (on each extra machine, in a checkout of the same project version with
the epic's data)::

    export MODEL_TRAINING_OPTUNA_STORAGE=postgresql+psycopg://optuna@db.example.org/optuna
    uv run model-training-worker --epic credit_risk --env server
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

STORAGE_ENV = "MODEL_TRAINING_OPTUNA_STORAGE"

logger = logging.getLogger("model_training.worker")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="model-training-worker", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--epic", required=True, help="the epic whose run to join")
    parser.add_argument(
        "--storage",
        default=None,
        help=f"the run's Optuna storage URL (default: ${STORAGE_ENV}, else the "
        "project's tuning.storage); prefer the variable: a password on the "
        "command line is visible to other users of the machine",
    )
    parser.add_argument(
        "--env", default=None, help="Kedro configuration environment (e.g. server)"
    )
    parser.add_argument(
        "--root", type=Path, default=Path.cwd(), help="project root (default: here)"
    )
    parser.add_argument(
        "--name", default=None, help="this worker's name in tuning.json (host:pid)"
    )
    parser.add_argument(
        "--threads",
        default=None,
        help="threads for the fits (default: the project's `threads`, all cores)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=900.0,
        help="exit after this many seconds with no open study (default 900)",
    )
    parser.add_argument(
        "--poll", type=float, default=1.0, help="seconds between looks (default 1)"
    )
    return parser


def _project(root: Path, epic: str, env: str | None) -> tuple[dict[str, Any], Any]:
    """The project's parameters and the epic's training split, read through
    its configuration and catalog (no Kedro run, no MLflow)."""
    from kedro.framework.project import settings
    from kedro.framework.startup import bootstrap_project
    from kedro.io import DataCatalog

    bootstrap_project(root)
    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(root / settings.CONF_SOURCE),
        env=env,
        runtime_params={"epic_id": epic},
        **settings.CONFIG_LOADER_ARGS,
    )
    params = loader["parameters"]
    catalog = DataCatalog.from_config(loader["catalog"])
    return params, catalog.load("train_features")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    root = args.root.resolve()
    os.chdir(root)  # the catalog's paths are relative to the project
    from model_training.lib.core.params import redact_secrets
    from model_training.lib.core.threads import resolve_threads, thread_share
    from model_training.lib.training.work_orders import (
        DataMismatch,
        context_from_order,
        join_studies,
    )
    from model_training.lib.training.workers import worker_label

    try:
        params, train = _project(root, args.epic, args.env)
    except Exception as exc:
        sys.stderr.write(
            f"model-training-worker: cannot read epic {args.epic!r} in {root}: "
            f"{type(exc).__name__}: {redact_secrets(str(exc))}. Run from the "
            "project's root (or pass --root) with the epic's data in place.\n"
        )
        return 2
    storage = args.storage or os.environ.get(STORAGE_ENV) or params["tuning"]["storage"]
    if not storage:
        sys.stderr.write(
            "model-training-worker: no study storage: set "
            f"{STORAGE_ENV} (or --storage) to the run's tuning.storage\n"
        )
        return 2
    label = worker_label(args.name)
    threads = resolve_threads(args.threads or params.get("threads", "auto"))
    logger.info(
        "Worker %s: watching %s for epic %s (%d thread(s))",
        label,
        redact_secrets(storage),
        args.epic,
        threads,
    )
    try:
        with thread_share(threads):
            ran = join_studies(
                storage,
                args.epic,
                lambda order: context_from_order(order, train, storage),
                label,
                idle_s=args.idle_timeout,
                poll_s=args.poll,
            )
    except (DataMismatch, RuntimeError) as exc:
        sys.stderr.write(f"model-training-worker: {redact_secrets(str(exc))}\n")
        return 2
    except Exception as exc:  # the database: unreachable, refused, not Optuna's
        first = redact_secrets(str(exc)).strip().splitlines()[0]
        sys.stderr.write(
            f"model-training-worker: cannot use the study storage "
            f"{redact_secrets(storage)}: {type(exc).__name__}: {first}. Check the "
            f"URL in {STORAGE_ENV} (or --storage) and that the database accepts "
            "connections from this machine.\n"
        )
        return 2
    logger.info(
        "Worker %s: no open study for %.0f s; ran %d trials in %d studies",
        label,
        args.idle_timeout,
        sum(ran.values()),
        len(ran),
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
