"""The run's time budget: checkpoints from the run's start, `auto` scaled
with the rows, no budget at all when time_s is null."""

from __future__ import annotations

import math
import time

import pytest

from model_training.lib.core.budget import (
    AUTO_BASE_S,
    AUTO_MAX_S,
    Budget,
    seconds_for,
    unlimited,
)

CHECKPOINTS = {"candidates": 0.15, "tuning": 0.6, "selection": 0.8, "evaluation": 0.95}


def test_checkpoints_count_from_the_runs_start():
    budget = Budget(time_s=100.0, started=1000.0, checkpoints=CHECKPOINTS)
    assert budget.deadline("candidates") == pytest.approx(1015.0)
    assert budget.deadline("tuning") == pytest.approx(1060.0)
    assert budget.deadline("reporting") == pytest.approx(1100.0)  # the rest
    assert budget.spent("evaluation")  # 1000 s after the epoch: long gone
    # a budget of hours: no stall of a busy machine can spend it
    fresh = Budget(time_s=36_000.0, started=time.time(), checkpoints=CHECKPOINTS)
    assert not fresh.spent("candidates")
    assert fresh.deadline("tuning") == pytest.approx(fresh.started + 21_600.0)
    assert 0 < fresh.left("tuning") <= 21_600.0
    assert "budget.time_s = 100 s" in budget.note("tuning", "x")


def test_no_budget_never_binds():
    budget = unlimited()
    assert math.isinf(budget.deadline("tuning")) and not budget.spent("evaluation")
    assert math.isinf(budget.monotonic_deadline("tuning"))


def test_auto_grows_with_rows_up_to_a_cap():
    assert seconds_for("auto", 1_000) == pytest.approx(AUTO_BASE_S + 0.6)
    assert seconds_for("auto", 100_000) == pytest.approx(AUTO_BASE_S + 60)
    assert seconds_for("auto", 10_000_000) == AUTO_MAX_S
    assert seconds_for(90, 10**6) == 90.0
    assert seconds_for(None, 10) is None


def test_checkpoints_must_grow_in_step_order():
    from pydantic import ValidationError

    from model_training.lib.core.params import BudgetParams

    with pytest.raises(ValidationError, match="must grow in step order"):
        BudgetParams.model_validate(
            {
                "time_s": 60,
                "checkpoints": {**CHECKPOINTS, "tuning": 0.1},
            }
        )
