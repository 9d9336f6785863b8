"""Classification figures: ROC and precision-recall curves, confusion matrix, calibration, cost by threshold, business impact."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

from model_training.lib.figures.base import (
    BLUE,
    GREY,
    ORANGE,
    new_figure,
    short,
)


def roc_curve(
    details: dict[str, Any], test_metrics: dict[str, float], positive: Any
) -> Figure:
    fig, ax = new_figure(5.6, 5.2)
    curves = details["curves"]
    if "roc" in curves:
        RocCurveDisplay(
            fpr=np.asarray(curves["roc"]["fpr"]),
            tpr=np.asarray(curves["roc"]["tpr"]),
            roc_auc=test_metrics.get("roc_auc", float("nan")),
            name="model",
        ).plot(ax=ax, curve_kwargs={"color": BLUE, "lw": 2})
        ax.set_title(f"ROC curve on test (positive class '{positive}')")
    else:
        for name, curve in curves["roc_one_vs_rest"].items():
            RocCurveDisplay(
                fpr=np.asarray(curve["fpr"]),
                tpr=np.asarray(curve["tpr"]),
                name=short(name),
            ).plot(ax=ax, curve_kwargs={"lw": 1.8})
        ax.set_title(
            f"ROC curves on test, one vs rest (macro AUC {test_metrics.get('roc_auc_ovr', float('nan')):.3f})"
        )
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="random guess")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate (recall)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right", frameon=False)
    return fig


def precision_recall(
    details: dict[str, Any], test_metrics: dict[str, float], positive: Any
) -> Figure:
    fig, ax = new_figure(5.6, 5.2)
    curve = details["curves"]["precision_recall"]
    PrecisionRecallDisplay(
        precision=np.asarray(curve["precision"]),
        recall=np.asarray(curve["recall"]),
        average_precision=test_metrics.get("pr_auc", float("nan")),
        name="model",
    ).plot(ax=ax, curve_kwargs={"color": BLUE, "lw": 2})
    rate = details["curves"]["positive_rate"]
    ax.axhline(rate, ls="--", color=GREY, label=f"random guess ({rate:.0%} positive)")
    ax.set_xlabel(f"recall (share of actual '{positive}' caught)")
    ax.set_ylabel(f"precision (share of flagged that are '{positive}')")
    ax.set_title("Precision-recall curve on test")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper right", frameon=False)
    return fig


def confusion_matrix(details: dict[str, Any], threshold: float | None) -> Figure:
    matrix = np.asarray(details["confusion_matrix"]["rows_actual_columns_predicted"])
    labels = [short(v, 18) for v in details["confusion_matrix"]["labels"]]
    size = 3.2 + 0.6 * len(labels)
    fig, ax = new_figure(size + 1.0, size)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(
                j,
                i,
                f"{matrix[i, j]}\n({shares[i, j]:.0%})",
                ha="center",
                va="center",
                color="white" if shares[i, j] > 0.6 else "black",
                fontsize=10,
            )
    ax.set_xticks(
        range(len(labels)),
        labels,
        rotation=30 if len(labels) > 3 else 0,
        ha="right" if len(labels) > 3 else "center",
    )
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("actual class")
    suffix = "" if threshold is None else f" (threshold {threshold:.2f})"
    ax.set_title(f"Confusion matrix on test{suffix}")
    fig.colorbar(image, ax=ax, label="share of the actual class", shrink=0.8)
    return fig


def calibration(details: dict[str, Any], method: str | None) -> Figure:
    fig, ax = new_figure(5.6, 5.2)
    curve = details["calibration"]["curve"]
    ece = details["calibration"]["expected_calibration_error"]
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="perfectly calibrated")
    CalibrationDisplay(
        prob_true=np.asarray(curve["observed"]),
        prob_pred=np.asarray(curve["predicted"]),
        y_prob=np.asarray(curve["predicted"]),
        estimator_name=f"model (ECE {ece:.3f})",
    ).plot(ax=ax, ref_line=False, color=BLUE)
    ax.set_xlabel("mean predicted probability (bin)")
    ax.set_ylabel("observed share positive (bin)")
    ax.set_title(
        "Calibration on test"
        + (f" after {method} calibration" if method else " (uncalibrated)")
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", frameon=False)
    return fig


def threshold_cost(impact: dict[str, Any]) -> Figure:
    fig, ax = new_figure(6.8, 4.4)
    curve = impact["threshold_cost_curve"]
    ax.plot(
        curve["threshold"],
        curve["cost_per_1000"],
        color=BLUE,
        lw=2,
        label="model on test",
    )
    t = impact["threshold"]
    cost = impact["expected_cost_per_1000"]["model"]
    ax.axvline(
        t,
        color=ORANGE,
        ls="--",
        label=f"chosen threshold {t:.2f} (on out-of-fold data)",
    )
    ax.axvline(
        impact["bayes_threshold"],
        color=GREY,
        ls=":",
        label=f"Bayes threshold {impact['bayes_threshold']:.2f}",
    )
    ax.scatter([t], [cost], color=ORANGE, zorder=3)
    ax.set_xlabel("probability threshold for flagging")
    ax.set_ylabel("expected cost per 1,000 decisions")
    ax.set_title("Decision threshold versus expected cost (test)")
    ax.set_xlim(0, 1)
    ax.legend(frameon=False)
    return fig


def business_bars(impact: dict[str, Any]) -> Figure:
    costs = impact["expected_cost_per_1000"]
    order = sorted(costs, key=costs.get, reverse=True)
    fig, ax = new_figure(7.2, 0.7 * len(order) + 1.6)
    colours = [BLUE if name == "model" else GREY for name in order]
    bars = ax.barh(
        [short(n, 34) for n in order], [costs[n] for n in order], color=colours
    )
    ax.bar_label(bars, labels=[f"{costs[n]:,.0f}" for n in order], padding=3)
    ax.set_xlabel("expected cost per 1,000 decisions (cost units, test)")
    saving = impact.get("saving_per_1000_vs_baseline")
    title = "Expected cost of decisions"
    if saving is not None and saving >= 0:
        title += f": the model saves {saving:,.0f} per 1,000 vs the best baseline"
    elif saving is not None:
        title += (
            f": the model costs {-saving:,.0f} more per 1,000 than the best baseline"
        )
    ax.set_title(title, fontsize=10)
    ax.set_xlim(0, max(costs.values()) * 1.18)
    return fig
