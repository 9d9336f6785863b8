"""Example time-series epics made from data sets that ship inside statsmodels.

* ``co2`` (time series): the Mauna Loa atmospheric CO2 record (ppm), weekly
  from March 1958 to December 2001, averaged to 526 months (missing weeks are
  skipped; the 5 months without any reading carry the previous month
  forward). Source: Keeling, C.D. and Whorf, T.P., Scripps Institution of
  Oceanography, as distributed with statsmodels (``statsmodels.datasets.co2``,
  public domain per its documentation; statsmodels is BSD-3-Clause).
  Forecast 12 months ahead, seasonal period 12; split in time order 60/20/20.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from model_training.lib.data_quality.epic_builder import (
    default_spec,
    feature_documentation,
    infer_schema,
    split_frame,
    write_epic,
)

SOURCE = (
    "Mauna Loa CO2 (Keeling and Whorf, Scripps Institution of Oceanography), weekly "
    "readings 1958-2001 as bundled with statsmodels (statsmodels.datasets.co2; public "
    "domain per statsmodels' documentation), averaged to monthly means (month start); "
    "the few months without readings carry the previous month forward."
)


def load_co2() -> pl.DataFrame:
    """Monthly mean CO2 (ppm) with a ``month`` column (first day of the month)."""
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().ffill()
    return pl.DataFrame(
        {
            "month": [t.date().isoformat() for t in monthly.index],
            "co2_ppm": monthly.to_numpy().round(3),
        }
    )


def build(root: Path, *, epic_id: str = "co2", force: bool = False) -> list[Path]:
    """Write the co2 epic's feature folder and modeling spec under ``root``."""
    frame = load_co2()
    frames = split_frame(frame, seed=0, time_column="month")
    schema = infer_schema(
        frame,
        epic_id,
        target="co2_ppm",
        roles={"month": "time"},
        descriptions={
            "month": "first day of the month (monthly means)",
            "co2_ppm": "monthly mean atmospheric CO2 at Mauna Loa, parts per million",
        },
    )
    doc = feature_documentation(
        schema,
        title=f"Feature documentation: {epic_id}",
        intro=SOURCE + " Split in time order: 60 % train, 20 % validation, 20 % test.",
        frames=frames,
    )
    spec = default_spec(
        epic_id,
        "time_series",
        "co2_ppm",
        frame,
        time_column="month",
        frequency="MS",
        seasonal_period=12,
        forecast_horizon=12,
        search={"n_trials": 8, "timeout_s": 120, "top_k": 2},
        source=SOURCE,
    )
    return write_epic(root, epic_id, frames, schema, doc, spec, force=force)
