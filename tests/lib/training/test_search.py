"""The search machinery: suggestions, grids, per-trial seeds, caps, storage."""

from __future__ import annotations

import optuna
import pytest

from model_training.lib.core.params import Caps
from model_training.lib.training.search import (
    capped_search,
    data_fingerprint,
    grid_of,
    model_result,
    open_storage,
    suggest,
    trial_seed,
)


def test_grid_and_caps():
    grid = grid_of(
        {
            "C": {"type": "float", "low": 0.1, "high": 10, "log": True},
            "n": {"type": "int", "low": 1, "high": 4},
            "k": {"type": "categorical", "choices": ["a", "b"]},
            "g": {"type": "float", "low": 0, "high": 1, "grid": [0.2]},
        },
        3,
    )
    assert grid["C"] == pytest.approx([0.1, 1.0, 10.0])
    assert grid["n"] == [1, 2, 4] or grid["n"] == [1, 3, 4] or len(grid["n"]) == 3
    assert grid["k"] == ["a", "b"] and grid["g"] == [0.2]


def test_suggestions_follow_the_declared_types():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = suggest(
        trial,
        {
            "C": {"type": "float", "low": 0.1, "high": 10, "log": True},
            "n": {"type": "int", "low": 10, "high": 50, "step": 10},
            "k": {"type": "categorical", "choices": ["a", "b"]},
        },
    )
    assert 0.1 <= params["C"] <= 10 and params["n"] % 10 == 0
    assert params["k"] in ("a", "b")
    with pytest.raises(ValueError, match="unknown search-space type 'bool'"):
        suggest(trial, {"x": {"type": "bool"}})


def test_trial_seeds_are_distinct_and_reproducible():
    seeds = [trial_seed(7, n) for n in range(50)]
    assert len(set(seeds)) == 50
    assert seeds == [trial_seed(7, n) for n in range(50)]
    assert trial_seed(8, 0) != trial_seed(7, 0)


def test_caps_lower_the_spec_budget_never_raise_it(xor_setup):
    plan = xor_setup[3]  # the spec: 3 trials, 60 s
    capped = capped_search(
        plan, Caps(n_trials=2, timeout_s=600, per_model_timeout_s=None)
    )
    assert capped.n_trials == 2 and capped.timeout_s == 60
    assert capped_search(plan, None) == plan.spec.search


def test_fingerprints_follow_the_data_and_storage_opens_or_stays_in_memory(tmp_path):
    import polars as pl

    a = pl.DataFrame({"x": [1, 2, 3]})
    assert data_fingerprint(a) == data_fingerprint(a.clone())
    assert data_fingerprint(a) != data_fingerprint(a.with_columns(pl.col("x") + 1))
    assert open_storage(None) is None
    assert open_storage(f"sqlite:///{tmp_path}/s/optuna.db") is not None


def test_a_round_asking_for_fewer_trials_than_the_study_holds_sees_the_first_ones():
    """A rerun resumes a study that already holds the second round's trials;
    its first round must rank the models as the fresh run's first round did."""
    study = optuna.create_study(direction="maximize")
    for value in [0.5, 0.6, 0.55, 0.9, 0.7]:  # the best comes later
        study.add_trial(
            optuna.trial.create_trial(
                params={"C": value},
                distributions={"C": optuna.distributions.FloatDistribution(0, 1)},
                value=value,
            )
        )
    first = model_result("m", study, {"C": 0.5}, 0.0, None, limit=3)
    assert first["n_trials"] == 3
    assert first["metrics"]["cv_mean"] == 0.6
    assert first["params"] == {"C": 0.6}
    whole = model_result("m", study, {"C": 0.5}, 0.0, None, limit=5)
    assert whole["metrics"]["cv_mean"] == 0.9
    assert whole == model_result("m", study, {"C": 0.5}, 0.0, None)
    minimize = optuna.create_study(direction="minimize")
    for k, value in enumerate([0.5, 0.4, 0.4]):
        minimize.add_trial(
            optuna.trial.create_trial(
                params={"k": k},
                distributions={"k": optuna.distributions.IntDistribution(0, 9)},
                value=value,
            )
        )
    best = model_result("m", minimize, {}, 0.0, None)
    assert best["metrics"]["cv_mean"] == 0.4
    assert best["params"] == {"k": 1}  # ties go to the earlier trial
