"""Anomaly-detection figures: score histogram, ROC and precision-recall against the label column."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from model_training.lib.figures.base import (
    BLUE,
    GREY,
    RED,
    new_figure,
)


def anomaly_score_histogram(details: dict[str, Any]) -> Figure:
    fig, ax = new_figure(6.6, 4.4)
    bins = np.histogram_bin_edges(np.asarray(details["scores"], dtype=float), 40)
    if details.get("scores_by_label"):
        parts = details["scores_by_label"]
        every = np.concatenate([parts["normal"], parts["anomaly"]]).astype(float)
        bins = np.histogram_bin_edges(every, 40)  # one set of bins for both
        ax.hist(
            parts["normal"], bins=bins, color=BLUE, alpha=0.6, label="normal (label)"
        )
        ax.hist(
            parts["anomaly"], bins=bins, color=RED, alpha=0.6, label="anomaly (label)"
        )
    else:
        ax.hist(details["scores"], bins=bins, color=BLUE, alpha=0.8, label="test rows")
    if details.get("threshold") is not None:
        ax.axvline(
            details["threshold"],
            color="black",
            ls="--",
            label=f"threshold (flags {details['flag_rate']:.1%} of test rows)",
        )
    ax.set_xlabel("anomaly score (higher: more unusual)")
    ax.set_ylabel("test rows")
    ax.set_title("Anomaly scores on test")
    ax.legend(frameon=False)
    return fig


def anomaly_roc(details: dict[str, Any]) -> Figure:
    fig, ax = new_figure(5.6, 5.2)
    curves = details["curves"]
    ax.plot(
        curves["roc"]["fpr"],
        curves["roc"]["tpr"],
        color=BLUE,
        lw=2,
        label=f"model (AUC {curves['roc_auc']:.3f})",
    )
    ax.plot([0, 1], [0, 1], color=GREY, ls="--", label="random scores")
    ax.set_xlabel("false positive rate (normal rows flagged)")
    ax.set_ylabel("detection rate (anomalies flagged)")
    ax.set_title("ROC curve of the anomaly score on test")
    ax.legend(frameon=False, loc="lower right")
    return fig


def anomaly_pr(details: dict[str, Any]) -> Figure:
    fig, ax = new_figure(5.6, 5.2)
    curves = details["curves"]
    ax.plot(
        curves["pr"]["recall"],
        curves["pr"]["precision"],
        color=BLUE,
        lw=2,
        label=f"model (average precision {curves['pr_auc']:.3f})",
    )
    ax.axhline(
        curves["prevalence"],
        color=GREY,
        ls="--",
        label=f"random scores ({curves['prevalence']:.3f})",
    )
    ax.set_xlabel("recall (anomalies flagged)")
    ax.set_ylabel("precision (flags that are anomalies)")
    ax.set_ylim(0, 1.05)
    ax.set_title("Precision-recall of the anomaly score on test")
    ax.legend(frameon=False)
    return fig
