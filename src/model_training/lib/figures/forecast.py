"""Forecast figures: forecast against actual (with intervals), residuals, error by horizon step."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from model_training.lib.figures.base import (
    BLUE,
    GREY,
    RED,
    new_figure,
)


def forecast_vs_actual(times, y, y_pred, y_score, plan, series=None) -> Figure:
    if series is not None:
        return _forecasts_per_series(times, y, y_pred, y_score, plan, series)
    fig, ax = new_figure(8.4, 4.6)
    order = np.argsort(np.asarray(times))
    t = np.asarray(times)[order]
    ax.plot(t, np.asarray(y, float)[order], color="black", lw=1.6, label="actual")
    ax.plot(t, np.asarray(y_pred, float)[order], color=BLUE, lw=1.6, label="forecast")
    if y_score is not None:
        scores = np.asarray(y_score, float)[order]
        ax.fill_between(
            t,
            scores[:, 0],
            scores[:, 1],
            color=BLUE,
            alpha=0.18,
            label="90 % prediction interval",
        )
        steps = scores[:, 2]
        for origin in t[steps == 1]:
            ax.axvline(origin, color=GREY, lw=0.5, alpha=0.5)
    horizon = plan.spec.forecast_horizon
    ax.set_title(
        f"Walk-forward forecasts on test ({horizon}-step blocks; grey lines: forecast origins)"
    )
    ax.set_ylabel(plan.spec.target)
    ax.set_xlabel(plan.spec.time_column)
    ax.legend(frameon=False)
    fig.autofmt_xdate()
    return fig


def forecast_residuals(details: dict[str, Any], times, plan) -> Figure:
    fig = Figure(figsize=(9.6, 4.0), layout="constrained")
    left, right = fig.subplots(1, 2)
    residuals = np.asarray(details["residuals"]["values"], float)
    order = np.argsort(np.asarray(times))
    left.plot(np.asarray(times)[order], residuals[order], marker="o", ms=3, color=BLUE)
    left.axhline(0, color=GREY, lw=0.8)
    left.set_title("Residuals on test (actual - forecast)")
    left.set_ylabel(plan.spec.target)
    for label in left.get_xticklabels():
        label.set_rotation(30)
        label.set_ha("right")
    acf_values = details.get("residual_acf") or []
    if acf_values:
        lags = np.arange(len(acf_values))
        right.bar(lags[1:], acf_values[1:], color=BLUE, width=0.6)
        bound = 1.96 / np.sqrt(len(residuals))
        right.axhline(
            bound, color=RED, ls="--", lw=0.8, label="95 % bounds (white noise)"
        )
        right.axhline(-bound, color=RED, ls="--", lw=0.8)
        right.axhline(0, color=GREY, lw=0.8)
        right.legend(frameon=False, fontsize=8)
    lb = details.get("ljung_box") or {}
    note = ", ".join(f"lag {k}: p={v['p_value']:.2g}" for k, v in lb.items())
    right.set_title(
        "Residual autocorrelation" + (f"\nLjung-Box {note}" if note else "")
    )
    right.set_xlabel("lag (periods)")
    return fig


def error_by_horizon(details: dict[str, Any], plan) -> Figure:
    fig, ax = new_figure(6.4, 4.2)
    by_step = details.get("by_horizon_step") or {}
    steps = [int(s) for s in by_step]
    ax.bar(steps, [by_step[str(s)]["mae"] for s in steps], color=BLUE)
    ax.set_xlabel("horizon step (periods after the forecast origin)")
    ax.set_ylabel(f"mean absolute error ({plan.spec.target})")
    coverage = details.get("interval", {}).get("coverage")
    title = "Error by horizon step on test"
    if coverage is not None:
        title += f" (90 % interval coverage {coverage:.0%})"
    ax.set_title(title)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _forecasts_per_series(times, y, y_pred, y_score, plan, series, most=4) -> Figure:
    """One panel per series (the first ``most``), forecasts against actuals."""
    ids = list(dict.fromkeys(np.asarray(series).tolist()))[:most]
    fig = Figure(figsize=(8.4, 2.6 * len(ids) + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(ids), 1, sharex=True))
    times = np.asarray(times)
    for ax, name in zip(axes, ids, strict=True):
        rows = np.flatnonzero(np.asarray(series) == name)
        rows = rows[np.argsort(times[rows])]
        ax.plot(times[rows], np.asarray(y, float)[rows], color="black", label="actual")
        ax.plot(
            times[rows], np.asarray(y_pred, float)[rows], color=BLUE, label="forecast"
        )
        if y_score is not None:
            scores = np.asarray(y_score, float)[rows]
            ax.fill_between(
                times[rows],
                scores[:, 0],
                scores[:, 1],
                color=BLUE,
                alpha=0.18,
                label="90 % prediction interval",
            )
        ax.set_title(f"series {name}", fontsize=10)
        ax.set_ylabel(plan.spec.target)
    axes[0].legend(frameon=False, fontsize=8)
    fig.suptitle(
        f"Walk-forward forecasts on test ({plan.spec.forecast_horizon}-step blocks)"
    )
    return fig
