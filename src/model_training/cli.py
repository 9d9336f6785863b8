"""Project CLI: ``kedro run`` that reports input errors as a message, not a traceback.

Kedro picks up the ``cli`` group of this module and lets its commands override
the built-in ones. ``run`` here is Kedro's own ``run`` (same options, same
behaviour) except that a :class:`~model_training.lib.errors.UserFacingError` (a
bad feature file, feature schema or modeling spec; or a stop such as "no
candidate beats the baseline") ends the run with its message and exit code 1. Any other error keeps its full traceback: it is a bug.
"""

from __future__ import annotations

import sys
from typing import Any

import click
from kedro.framework.cli.project import run as kedro_run

from model_training.lib.errors import find_user_error


@click.group(name="model_training")
def cli() -> None:
    """Commands of the model-training project."""


def _run(**kwargs: Any) -> Any:
    try:
        return kedro_run.callback(**kwargs)
    except Exception as exc:
        error = find_user_error(exc)
        if error is None:
            raise
        click.secho(f"\n{error.render()}\n", fg="red", err=True)
        click.echo(
            "The failing step wrote no output; outputs of earlier runs are unchanged.",
            err=True,
        )
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
