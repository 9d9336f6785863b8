"""Seasonal periods a frequency implies: the statistical forecasters' seasons,
and the seasonal period of a spec that leaves it unset (the seasonal naive
baseline and the MASE scale then compare with a season ago, not a step ago)."""

from __future__ import annotations

import pandas as pd

# Seasonal periods implied by a pandas frequency alias (its base unit): the
# cycles a series of that frequency usually has. The spec's seasonal_period
# comes first when it is set.
SEASONALITIES = {
    "min": (1440, 10080),  # in minutes: a day and a week
    "h": (24, 168),
    "D": (7, 365),
    "B": (5, 260),
    "W": (52,),
    "MS": (12,),
    "ME": (12,),
    "M": (12,),
    "QS": (4,),
    "QE": (4,),
    "Q": (4,),
}


def seasonalities(frequency: str, seasonal_period: int | None) -> tuple[int, ...]:
    """The seasonal periods of a frequency (``30min`` -> 48 and 336, ``h`` ->
    24 and 168, ``D`` -> 7 and 365), the spec's ``seasonal_period`` first."""
    offset = pd.tseries.frequencies.to_offset(frequency)
    base = offset.rule_code if hasattr(offset, "rule_code") else frequency
    multiple = max(int(getattr(offset, "n", 1) or 1), 1)
    periods: list[int] = []
    for key, values in SEASONALITIES.items():
        if base == key or base.split("-")[0] == key:
            periods = [v // multiple for v in values if v % multiple == 0]
            break
    ordered = (
        [seasonal_period] if seasonal_period and seasonal_period > 1 else []
    ) + periods
    return tuple(dict.fromkeys(p for p in ordered if p > 1))


def implied_season(frequency: str, history: int) -> int | None:
    """The first seasonal period of ``frequency`` that a history of
    ``history`` periods holds more than twice over (``30min`` -> 48, ``h`` ->
    24, ``D`` -> 7, ``MS`` -> 12); None when there is none."""
    for period in seasonalities(frequency, None):
        if 2 * period < history:
            return period
    return None
