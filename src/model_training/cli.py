"""Project CLI: ``kedro run`` that reports input errors as a message, not a traceback.

Kedro picks up the ``cli`` group of this module and lets its commands override
the built-in ones. ``run`` here is Kedro's own ``run`` (same options, same
behaviour) except that a :class:`~model_training.lib.core.errors.UserFacingError` (a
bad feature file, feature schema or modeling spec; or a stop such as "no
candidate beats the baseline") ends the run with its message and exit code 1. Any other error keeps its full traceback: it is a bug.
"""

from __future__ import annotations

import errno
import re
import sys
from pathlib import Path
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from model_training.lib.core.errors import InputError, Problem, find_user_error


@click.group(name="model_training")
def cli() -> None:
    """Commands of the model-training project."""


FOOTERS = {
    "not started": "Nothing was written; the outputs of earlier runs are unchanged.",
    "aborted": "No output of this run was kept; the outputs of earlier runs are unchanged.",
    "committed": "Every output of this run was written (see the paths above).",
    "partial": "Moving this run's outputs into place failed part-way: some files are "
    "from this run, the others from the previous one. Fix the cause above and run again.",
}


def check_arguments(
    params: dict[str, Any] | None, pipelines: Any, env: str | None = None
) -> None:
    """Refuse a bad ``--params epic_id``/``seed``, an unknown pipeline name or an
    unknown ``--env`` before Kedro reads any configuration."""
    from kedro.framework.project import pipelines as registry

    from model_training.run_guard import check_epic_id, check_seed

    conf = Path.cwd() / "conf"
    if env and conf.is_dir() and not (conf / env).is_dir():
        envs = sorted(p.name for p in conf.iterdir() if p.is_dir() and p.name != "base")
        raise InputError(
            "Unknown environment",
            [
                Problem(
                    "--env",
                    f"no configuration folder conf/{env}",
                    "use one of: " + ", ".join(envs) + " (or leave --env out)",
                )
            ],
        )
    params = params or {}
    if "epic_id" in params:
        check_epic_id(params["epic_id"])
    if "seed" in params:
        check_seed(params["seed"])
    names = [pipelines] if isinstance(pipelines, str) else list(pipelines or [])
    wanted = [n.strip() for name in names for n in str(name).split(",") if n.strip()]
    known = sorted(registry)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise InputError(
            "Unknown pipeline",
            [
                Problem(
                    "--pipelines",
                    f"no pipeline named {', '.join(repr(n) for n in unknown)}",
                    "use one or more of: " + ", ".join(known),
                )
            ],
        )


_DISK_ERRORS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENOTDIR: "a file stands where a folder is needed",
}


def disk_error(exc: BaseException | None) -> str | None:
    """A message for a full, read-only or blocked output folder in ``exc``'s chain."""
    top = exc
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
            path = exc.filename or _dataset_path(top) or "an output file"
            if Path(str(path)).name.startswith(".staged-"):  # this run's staging area
                path = Path(str(path)).parent
            return (
                f"Cannot write {path}: {_DISK_ERRORS[exc.errno]} ({exc.strerror}).\n"
                "  Fix: free space or make the folder writable (or point the catalog "
                "elsewhere in conf/local/), then run again."
            )
        exc = exc.__cause__ or exc.__context__
    return None


def missing_variable(exc: BaseException | None, env: str | None) -> str | None:
    """A message for a configuration that reads an environment variable that
    is not set (conf/server reads its URLs from the environment)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found = re.search(r"Environment variable '([^']+)' not found", str(exc))
        if found:
            name = found.group(1)
            return (
                f"conf/{env or 'local'} reads the environment variable {name}, which "
                "is not set.\n"
                f'  Fix: export {name}=... (README, "Many machines") and run again.'
            )
        exc = exc.__cause__ or exc.__context__
    return None


def _dataset_path(exc: BaseException | None) -> str | None:
    """The ``filepath`` a Kedro DatasetError in the chain names, if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found = re.search(r"filepath='([^']+)'", str(exc))
        if found:
            return found.group(1)
        exc = exc.__cause__ or exc.__context__
    return None


def _run(**kwargs: Any) -> Any:
    from model_training.settings import RUN_GUARD

    RUN_GUARD.outcome = "not started"
    try:
        check_arguments(
            kwargs.get("params"), kwargs.get("pipelines"), kwargs.get("env")
        )
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        error = find_user_error(exc)
        message = (
            error.render()
            if error is not None
            else disk_error(exc) or missing_variable(exc, kwargs.get("env"))
        )
        if message is None:
            raise
        click.secho(f"\n{message}\n", fg="red", err=True)
        click.echo(FOOTERS.get(RUN_GUARD.outcome, ""), err=True)
        sys.exit(1)


cli.add_command(
    click.Command(
        name="run",
        callback=_run,
        params=list(kedro_run.params),
        help=kedro_run.help,
        short_help=kedro_run.short_help,
    )
)
