"""Seasonal periods implied by a frequency."""

from __future__ import annotations

from model_training.lib.core.seasons import implied_season, seasonalities


def test_seasonalities_follow_the_frequency():
    assert seasonalities("30min", None) == (48, 336)
    assert seasonalities("h", None) == (24, 168)
    assert seasonalities("D", None) == (7, 365)
    assert seasonalities("MS", 12) == (12,)
    assert seasonalities("W-SUN", None) == (52,)
    assert seasonalities("D", 30) == (30, 7, 365)  # the spec's period first


def test_the_implied_season_is_the_first_one_the_history_holds_twice():
    assert implied_season("30min", 2000) == 48
    assert implied_season("h", 1000) == 24
    assert implied_season("MS", 120) == 12
    assert implied_season("MS", 24) is None  # two years: not more than twice
    assert implied_season("YS", 300) is None  # yearly data: no season
    assert implied_season("D", 10) is None
