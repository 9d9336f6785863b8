"""Errors that stop a run with one clear, actionable message.

Every error a user can cause with their inputs (a feature file, the feature
schema, the modeling spec) is an :class:`InputError`. Its message names the file,
the column or key concerned, and the fix. The project's ``kedro run`` prints such
an error as a message, without a traceback (see ``model_training.cli``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One blocking problem found in a user's input.

    Attributes:
        where: the file (and key or column) concerned.
        what: what is wrong, in one sentence.
        fix: what the user should do about it.
    """

    where: str
    what: str
    fix: str

    def render(self) -> str:
        """Return the problem as two lines of text."""
        return f"{self.where}: {self.what}\n     Fix: {self.fix}"


class UserFacingError(ValueError):
    """An error whose message is for the user: printed without a traceback."""

    def render(self) -> str:
        """The message to print."""
        return str(self)


class StageStop(UserFacingError):
    """The stage cannot go on with a sound result (e.g. no model beats the baseline)."""


class OutputsKept(StageStop):
    """A stop after every output of the run was written (an unmet acceptance
    criterion): the run's outputs are kept, and the run still exits with 1."""


class InputError(UserFacingError):
    """A problem with the user's input that stops the run before any output."""

    def __init__(self, title: str, problems: list[Problem]) -> None:
        self.title = title
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """Return the title and every problem, numbered."""
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{self.title} ({count} blocking {noun}):"]
        lines += [f"  {i}. {p.render()}" for i, p in enumerate(self.problems, 1)]
        return "\n".join(lines)


def find_user_error(exc: BaseException | None) -> UserFacingError | None:
    """Return the first :class:`UserFacingError` in an exception's chain, if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UserFacingError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def fail_soft(
    analysis: str, fallback: Callable[[str], Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run an optional analysis so that its failure is reported, never fatal.

    The wrapped function's result is returned as it is; when it raises (anything
    but a :class:`UserFacingError`), the failure is logged as a warning and
    ``fallback(error)`` is returned instead: a result of the same shape, empty,
    with ``status: failed`` and the error, which the performance JSON and the
    model card report. Core steps (test metrics, the package) are never wrapped.
    """

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except UserFacingError:
                raise
            except Exception as exc:  # an optional analysis must not end the run
                error = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "%s failed and is left out of the reports: %s", analysis, error
                )
                return fallback(error)

        return run

    return wrap


def failed(error: str, **shape: Any) -> dict[str, Any]:
    """An optional analysis's empty result: its usual keys, ``status`` and ``error``."""
    return {**shape, "status": "failed", "error": error}
