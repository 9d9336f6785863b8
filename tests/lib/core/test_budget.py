"""The run's time budget: checkpoints from the run's start, `auto` scaled
with the rows, no budget at all when time_s is null."""

from __future__ import annotations

import math
import time

import pytest

from model_training.lib.core.budget import (
    AUTO_BASE_S,
    AUTO_MAX_S,
    TAIL_FIXED_S,
    Budget,
    reserve_for,
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


def test_a_reserve_for_the_final_fit_moves_the_earlier_checkpoints_forward():
    budget = Budget(time_s=1000.0, started=0.0, checkpoints=CHECKPOINTS)
    # a reserve inside the 20 % after the selection's checkpoint: no change
    small = budget.reserving(50.0)
    assert small.reserve_s == pytest.approx(100.0 + TAIL_FIXED_S)
    assert small.deadline("selection") == pytest.approx(800.0)
    # 500 s reserved: the selection ends by 500 s, the earlier steps shrink
    # in proportion, evaluation keeps its checkpoint
    large = budget.reserving((500.0 - TAIL_FIXED_S) / 2)
    assert large.reserve_s == pytest.approx(500.0)
    assert reserve_for((500.0 - TAIL_FIXED_S) / 2) == pytest.approx(500.0)
    assert large.deadline("selection") == pytest.approx(500.0)
    assert large.deadline("tuning") == pytest.approx(600.0 * 500 / 800)
    assert large.deadline("candidates") == pytest.approx(150.0 * 500 / 800)
    assert large.deadline("evaluation") == pytest.approx(950.0)
    assert "kept for the final fit" in large.note("selection", "x")
    assert "kept for the final fit" not in small.note("selection", "x")
    # a reserve past the whole budget: the earlier steps are due at once
    assert budget.reserving(10_000.0).deadline("tuning") == pytest.approx(0.0)
    # nothing projected, or no budget: unchanged
    assert budget.reserving(None) is budget
    assert math.isinf(unlimited().reserving(500.0).deadline("selection"))
