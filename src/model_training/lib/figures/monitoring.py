"""Figures of the monitoring pipeline: drift per feature, and of the predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from model_training.lib.figures.base import BLUE, GREY, ORANGE, RED, new_figure, short


def feature_drift(result: dict[str, Any], threshold: float, top: int = 20) -> Figure:
    """PSI per feature (the largest ``top``), alerts in red, the threshold dashed."""
    rows = result["features"][:top][::-1]
    fig, ax = new_figure(7.0, max(2.5, 0.32 * len(rows) + 1.2))
    names = [short(r["feature"], 28) for r in rows]
    values = [r["psi"] for r in rows]
    colors = [RED if r["alert"] else BLUE for r in rows]
    ax.barh(names, values, color=colors)
    ax.axvline(threshold, color=GREY, linestyle="--", label=f"alert at PSI {threshold}")
    ax.set_xlabel("population stability index (new rows against training)")
    ax.set_title(f"Feature drift on {result['rows']} new rows")
    ax.legend(loc="lower right")
    return fig


def prediction_drift(result: dict[str, Any], label: str) -> Figure:
    """Share of predictions per reference bin: training against the new rows."""
    drift = result["prediction_drift"]
    reference = drift.get("reference_proportions") or []
    new = drift.get("new_proportions") or []
    fig, ax = new_figure(7.0, 3.8)
    positions = np.arange(len(reference))
    ax.bar(positions - 0.2, reference, width=0.4, color=BLUE, label="training")
    ax.bar(positions + 0.2, new, width=0.4, color=ORANGE, label="new rows")
    ax.set_xticks(positions, [str(i + 1) for i in positions])
    ax.set_xlabel(f"bin of {label} (training deciles)")
    ax.set_ylabel("share of rows")
    ax.set_title(f"Prediction drift: PSI {drift['psi']:.3f}")
    ax.legend()
    return fig
