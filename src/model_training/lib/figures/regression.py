"""Regression figures: residuals and actual against predicted."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from model_training.lib.figures.base import (
    BLUE,
    GREY,
    new_figure,
)


def residuals(y: np.ndarray, y_pred: np.ndarray, target: str) -> Figure:
    fig = Figure(figsize=(10.5, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2)
    res = y - y_pred
    left.scatter(y_pred, res, s=12, color=BLUE, alpha=0.7)
    left.axhline(0, color=GREY, lw=0.8)
    left.set_xlabel(f"predicted {target}")
    left.set_ylabel("residual (actual - predicted)")
    left.set_title("Residuals versus prediction (test)")
    right.hist(res, bins=30, color=BLUE, alpha=0.8)
    right.set_xlabel("residual")
    right.set_ylabel("test rows")
    right.set_title("Distribution of residuals")
    return fig


def actual_vs_predicted(
    y: np.ndarray, y_pred: np.ndarray, target: str, r2: float
) -> Figure:
    fig, ax = new_figure(5.6, 5.4)
    ax.scatter(y, y_pred, s=12, color=BLUE, alpha=0.7)
    lo, hi = float(min(y.min(), y_pred.min())), float(max(y.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], ls="--", color=GREY, label="perfect prediction")
    ax.set_xlabel(f"actual {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title(f"Actual versus predicted on test (R² {r2:.3f})")
    ax.legend(frameon=False)
    return fig
