"""The thread count: `auto` is the usable cores, a number is taken as given,
anything else is refused; fits read the run's setting."""

from __future__ import annotations

import pytest

from model_training.lib.core.threads import (
    THREADS_ENV,
    fit_threads,
    resolve_threads,
    usable_cores,
)


def test_auto_is_every_usable_core_and_numbers_are_taken_as_given():
    assert resolve_threads("auto") == resolve_threads(" AUTO ") == usable_cores() >= 1
    assert resolve_threads(3) == resolve_threads("3") == 3


@pytest.mark.parametrize("bad", [0, -1, "two", 1.5, True, ""])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError, match="'auto' or a whole number of at least 1"):
        resolve_threads(bad)


def test_fits_read_the_runs_setting(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    assert fit_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "nonsense")
    assert fit_threads() == usable_cores()
    monkeypatch.delenv(THREADS_ENV)
    assert fit_threads() == usable_cores()
