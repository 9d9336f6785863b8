"""The tuning's deadline: the final refit's reserve, projected from the
candidates before the search and from the leading model's trials during it."""

from __future__ import annotations

import time

import pytest

from model_training.lib.core.budget import Budget, reserve_for
from model_training.lib.training.search_clock import SearchClock

CANDIDATES = {
    "rows": {"train": 600, "validation": 200},
    "models": [
        {"name": "lr", "status": "ok", "fit_time_s": 1.0, "fitted_rows": 600},
        {"name": "gbm", "status": "ok", "fit_time_s": 3.0, "fitted_rows": 300},
    ],
}
TUNED_ON = {"n_rows": 600, "n_splits": 5}


def _tuned(model, mean, duration_s):
    """A tuning result whose best trial took ``duration_s`` for its 5 folds."""
    return {
        "model": model,
        "status": "ok",
        "metrics": {"cv_mean": mean},
        "children": [{"state": "COMPLETE", "cv_mean": mean, "duration_s": duration_s}],
    }


def _clock(time_s=600.0, timeout_s=10_000.0, started_ago=0.0):
    budget = Budget(
        time_s=time_s,
        started=time.time() - started_ago,
        checkpoints={"candidates": 0.2, "tuning": 0.65, "selection": 0.82},
    )
    return SearchClock.start(
        budget, timeout_s, TUNED_ON, CANDIDATES, ["lr", "gbm"], 600, True
    )


def test_before_any_trial_the_candidates_refit_is_reserved():
    clock = _clock()
    # gbm's default: 3 s on 300 rows, 800 rows to refit: 8 s
    assert clock.budget.reserve_s == pytest.approx(reserve_for(8.0))
    assert clock.refit_rows == 800
    # the reserve is smaller than the 18 % after the selection: 65 % of 600 s
    deadline = clock.deadline([])
    assert deadline - time.monotonic() == pytest.approx(390.0, abs=2.0)


def test_a_costly_leader_moves_the_searchs_deadline_forward():
    """The leader's best trial took 300 s for 5 folds of 600 rows (2,400
    row-fits): 0.125 s a row, 100 s to refit 800 rows, 215 s kept, more than
    the 18 % of 600 s after the selection's checkpoint; a cheap model that
    trails does not count."""
    clock = _clock()
    before = clock.deadline([])
    results = [_tuned("lr", 0.70, 0.5), _tuned("gbm", 0.80, 300.0)]
    after = clock.deadline(results)
    assert clock.budget.reserve_s == pytest.approx(reserve_for(100.0))
    assert after < before - 80
    # the tuning's share shrunk: 0.65 * (1 - 215 / 600) / 0.82 of 600 s
    expected = 600 * 0.65 * (1 - reserve_for(100.0) / 600) / 0.82
    assert after - time.monotonic() == pytest.approx(expected, abs=2.0)
    # the leader decides, not the costliest: with lr ahead, lr's refit is kept
    clock.deadline([_tuned("lr", 0.90, 0.5), _tuned("gbm", 0.80, 120.0)])
    assert clock.budget.reserve_s == pytest.approx(reserve_for(0.5 / 2400 * 800))


def test_the_record_says_when_the_run_budget_ended_a_search():
    tight = _clock(time_s=60.0)
    results = [{**_tuned("gbm", 0.8, 1.0), "stopped_by": "clock"}]
    record = tight.record(results)
    assert record["bound"] is True
    assert "the run's time budget bound" in record["note"]
    assert results[0]["stopped_by"] == "run budget"
    assert record["reserved_s"] == pytest.approx(reserve_for(8.0), abs=0.1)
    # the spec's timeout first: the run budget did not bind
    loose = _clock(time_s=60.0, timeout_s=1.0)
    results = [{**_tuned("gbm", 0.8, 1.0), "stopped_by": "clock"}]
    assert loose.record(results)["bound"] is False
    assert results[0]["stopped_by"] == "clock"
    # no budget: nothing to record
    free = SearchClock.start(Budget(), 60.0, TUNED_ON, {}, [], 600, True)
    assert free.record(results) == {}
    assert free.deadline([]) == pytest.approx(time.monotonic() + 60.0, abs=1.0)


class _Study:
    stopped = False

    def stop(self):
        self.stopped = True


def test_a_trial_that_shows_a_costly_leader_ends_the_search():
    """After each trial the deadline is projected again with the model's
    result so far: a first LightGBM trial of 300 s makes it the leader, and
    its refit's reserve puts the tuning's deadline in the past; a cheap
    trial does not."""
    from model_training.lib.training.search_clock import StopPastDeadline

    started = time.time() - 320  # 320 s into a 600 s run
    budget = Budget(
        time_s=600.0,
        started=started,
        checkpoints={"candidates": 0.2, "tuning": 0.65, "selection": 0.82},
    )
    clock = SearchClock.start(
        budget, 10_000.0, TUNED_ON, CANDIDATES, ["lr", "gbm"], 600, True
    )
    others = [_tuned("lr", 0.70, 0.5)]
    cheap, costly = _Study(), _Study()
    StopPastDeadline(clock, others, lambda s: _tuned("gbm", 0.80, 1.0))(cheap, None)
    assert not cheap.stopped  # due at 390 s
    StopPastDeadline(clock, others, lambda s: _tuned("gbm", 0.80, 300.0))(costly, None)
    assert costly.stopped  # due at 0.65 * (1 - 215 / 600) / 0.82 * 600 = 305 s
    # the model's own earlier result among the others is replaced, not kept
    again = _Study()
    StopPastDeadline(
        clock, [*others, _tuned("gbm", 0.80, 300.0)], lambda s: _tuned("gbm", 0.80, 1.0)
    )(again, None)
    assert not again.stopped


def test_a_deadline_brought_forward_is_published_once_it_moves():
    """The callback hands the projected deadline to ``publish`` when it is
    earlier than the round's (the work order the other workers follow), and
    again only when it moves earlier still."""
    from model_training.lib.training.search_clock import StopPastDeadline

    clock = _clock(started_ago=100.0)
    far = time.monotonic() + 10_000
    seen: list[float] = []
    cost = {"s": 1.0}
    stop = StopPastDeadline(
        clock, [], lambda s: _tuned("gbm", 0.80, cost["s"]), seen.append, far
    )
    stop(_Study(), None)
    assert len(seen) == 1 and seen[0] < far  # the run's own due time
    stop(_Study(), None)
    assert len(seen) == 1  # unchanged: not written again
    cost["s"] = 300.0  # a costlier leader: a larger reserve, an earlier deadline
    stop(_Study(), None)
    assert len(seen) == 2 and seen[1] < seen[0] - 1.0
    # without a round deadline far off, nothing later than it is published
    quiet: list[float] = []
    StopPastDeadline(clock, [], lambda s: _tuned("gbm", 0.80, 1.0), quiet.append, 0.0)(
        _Study(), None
    )
    assert quiet == []
