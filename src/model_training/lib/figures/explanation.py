"""Explanation figures of any model: importance, SHAP, partial dependence, local explanations, learning curve, fairness."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from model_training.lib.figures.base import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    new_figure,
    short,
    tick_labels,
    wrap,
)


def feature_importance(
    permutation: dict[str, dict[str, float]],
    native: dict[str, Any],
    metric: str,
    top: int = 20,
) -> Figure:
    names = list(permutation)[:top]
    height = max(3.5, 0.32 * len(names) + 1.4)
    fig = Figure(figsize=(10.5, height), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(names))
    means = [permutation[n]["mean"] for n in names]
    stds = [permutation[n]["std"] for n in names]
    left.barh(y, means, xerr=stds, color=BLUE, capsize=2)
    left.set_yticks(y, [short(n, 30) for n in names])
    left.invert_yaxis()
    left.axvline(0, color=GREY, lw=0.8)
    left.set_xlabel(f"drop in test {metric} when shuffled (mean ± std)")
    left.xaxis.set_major_locator(MaxNLocator(5))
    left.set_title("Permutation importance (test)")
    values = native.get("values") or {}
    right.barh(y, [values.get(n, 0.0) for n in names], color=GREEN)
    right.set_xlabel(f"share of total ({native.get('kind') or 'not available'})")
    right.set_title("Model's own importance")
    fig.suptitle(f"Feature importance, top {len(names)}")
    return fig


def shap_summary(by_feature: Any, raw: Any, output_label: str, top: int = 15) -> Figure:
    """A beeswarm: one row per feature, SHAP value on x, colour = feature value (numeric) or grey."""
    order = by_feature.abs().mean().sort_values(ascending=False).index[:top]
    fig, ax = new_figure(8.0, max(3.5, 0.4 * len(order) + 1.4))
    rng = np.random.default_rng(0)
    for i, feature in enumerate(order):
        values = by_feature[feature].to_numpy()
        jitter = rng.uniform(-0.28, 0.28, len(values))
        column = raw.get_column(feature)
        if column.dtype.is_numeric():
            colours = column.cast(float).to_numpy()
            lo, hi = (
                np.nanpercentile(colours, [5, 95])
                if np.isfinite(colours).any()
                else (0, 1)
            )
            norm = np.clip((colours - lo) / ((hi - lo) or 1), 0, 1)
            points = ax.scatter(
                values, i + jitter, c=norm, cmap="coolwarm", s=9, vmin=0, vmax=1
            )
        else:
            ax.scatter(values, i + jitter, color=GREY, s=9)
    ax.set_yticks(range(len(order)), [short(f, 30) for f in order])
    ax.invert_yaxis()
    ax.axvline(0, color=GREY, lw=0.8)
    ax.set_xlabel(f"SHAP value (contribution toward {output_label})")
    ax.set_title(
        "SHAP summary (test rows); colour: feature value low (blue) to high (red), grey: categorical"
    )
    if "points" in locals():
        fig.colorbar(points, ax=ax, label="feature value (scaled)", shrink=0.6)
    ax.title.set_fontsize(9)
    return fig


def shap_dependence(
    feature: str, by_feature: Any, raw: Any, output_label: str
) -> Figure:
    fig, ax = new_figure(6.4, 4.4)
    column = raw.get_column(feature)
    values = by_feature[feature].to_numpy()
    if column.dtype.is_numeric():
        ax.scatter(column.cast(float).to_numpy(), values, s=12, color=BLUE, alpha=0.7)
        ax.set_xlabel(feature)
    else:
        categories = sorted(set(column.cast(str).fill_null("missing").to_list()))
        index = {c: i for i, c in enumerate(categories)}
        xs = np.array(
            [index[c] for c in column.cast(str).fill_null("missing").to_list()]
        )
        jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(xs))
        ax.scatter(xs + jitter, values, s=12, color=BLUE, alpha=0.7)
        ax.set_xticks(
            range(len(categories)),
            tick_labels(categories),
            rotation=0 if len(categories) <= 5 else 35,
            ha="center" if len(categories) <= 5 else "right",
        )
        ax.set_xlabel(feature)
    ax.axhline(0, color=GREY, lw=0.8)
    ax.set_ylabel(f"SHAP value (toward {output_label})")
    ax.set_title(f"SHAP dependence: {feature}")
    return fig


def partial_dependence(pdp: dict[str, Any], output_label: str) -> Figure:
    n = len(pdp)
    fig = Figure(figsize=(4.2 * max(n, 1), 4.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(n, 1)))
    for ax, (feature, curve) in zip(axes, pdp.items(), strict=False):
        if curve["kind"] == "numeric":
            ax.plot(curve["grid"], curve["average_output"], marker="o", color=BLUE)
        else:
            ax.bar(range(len(curve["grid"])), curve["average_output"], color=BLUE)
            ax.set_xticks(
                range(len(curve["grid"])),
                tick_labels(curve["grid"]),
                rotation=0 if len(curve["grid"]) <= 5 else 35,
                ha="center" if len(curve["grid"]) <= 5 else "right",
                fontsize=8,
            )
        ax.set_xlabel(feature)
        ax.set_ylabel(output_label)
    fig.suptitle("Partial dependence of the top features (test rows)")
    return fig


def learning_curve(curve: dict[str, Any]) -> Figure:
    fig, ax = new_figure(6.6, 4.6)
    points = curve["points"]
    sizes = [p["train_size"] for p in points]
    for key, colour, label in (
        ("train", BLUE, "training score"),
        ("validation", ORANGE, "cross-validation score"),
    ):
        mean = np.array([p[f"{key}_mean"] for p in points])
        std = np.array([p[f"{key}_std"] for p in points])
        ax.plot(sizes, mean, marker="o", color=colour, label=label)
        ax.fill_between(sizes, mean - std, mean + std, color=colour, alpha=0.15)
    ax.set_xlabel("training rows (per cross-validation fold)")
    ax.set_ylabel(curve["metric"])
    ax.set_title("Learning curve of the final configuration")
    ax.legend(frameon=False)
    verdict = textwrap.fill(f"Verdict: {curve.get('verdict', '')}", width=95)
    # below the axis label, in the room the saved figure's tight bounding box keeps
    ax.annotate(
        verdict,
        xy=(0, 0),
        xycoords="axes fraction",
        xytext=(0, -44),
        textcoords="offset points",
        va="top",
        fontsize=8,
        color=GREY,
    )
    return fig


def fairness(name: str, entry: dict[str, Any], regression: bool) -> Figure:
    groups = list(entry["groups"])
    keys = (
        ["mean_absolute_error"]
        if regression
        else [
            k
            for k in (
                "selection_rate",
                "true_positive_rate",
                "false_positive_rate",
                "precision",
                "accuracy",
            )
            if k in next(iter(entry["groups"].values()))
        ]
    )
    fig, ax = new_figure(max(6.4, 1.6 * len(groups) + 2.5), 4.6)
    width = 0.8 / len(keys)
    x = np.arange(len(groups))
    for i, key in enumerate(keys):
        values = [entry["groups"][g].get(key, np.nan) for g in groups]
        ax.bar(x + i * width, values, width, label=key.replace("_", " "))
    ax.set_xticks(
        x + width * (len(keys) - 1) / 2,
        [f"{short(g, 18)}\n(n={entry['groups'][g]['size']})" for g in groups],
    )
    ax.set_ylabel("MAE" if regression else "rate")
    if not regression:
        ax.set_ylim(0, 1.05)
    title = f"Fairness by {name} (test)"
    if "demographic_parity_ratio" in entry and np.isfinite(
        entry["demographic_parity_ratio"] or np.nan
    ):
        title += f": selection-rate ratio {entry['demographic_parity_ratio']:.2f}"
    small = [f for f in entry.get("flags", []) if "not compared" in f]
    if small:
        title += "\n" + short(small[0], 90)
    ax.set_title(title)
    ax.legend(
        frameon=False,
        fontsize=8,
        ncols=min(len(keys), 3),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
    )
    return fig


def waterfall(explanation: dict[str, Any], output_label: str) -> Figure:
    contributions = explanation["contributions"]
    labels = [
        wrap(f"{c['feature']} = {c['value']}", width=34, lines=2) for c in contributions
    ]
    values = [c["shap"] for c in contributions]
    if abs(explanation["other_features_shap"]) > 0:
        labels.append("all other features")
        values.append(explanation["other_features_shap"])
    fig, ax = new_figure(8.0, 0.5 * len(values) + 1.8)
    y = np.arange(len(values))
    ax.barh(y, values, color=[RED if v > 0 else BLUE for v in values])
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.axvline(0, color=GREY, lw=0.8)
    ax.set_xlabel(
        f"SHAP contribution toward {output_label} (base value {explanation['base_value']:.2f})"
    )
    ax.set_title(
        f"Why test row {explanation['test_row']} ({explanation['reason'].replace('_', ' ')}): "
        f"output {explanation['model_output']:.2f}, actual {explanation['actual']}",
        fontsize=10,
    )
    return fig
