"""Clustering figures: projection, silhouette, cluster profiles and sizes."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from model_training.lib.figures.base import (
    BLUE,
    RED,
    new_figure,
    short,
)


def _cluster_colours(clusters: list[Any]) -> dict[Any, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    ordered = sorted(c for c in clusters if c != -1)
    colours = {c: palette(i % 10) for i, c in enumerate(ordered)}
    colours[-1] = (0.6, 0.6, 0.6, 1.0)
    return colours


def cluster_projection(details: dict[str, Any]) -> Figure:
    projection = details["projection"]
    clusters = np.asarray(projection["cluster"])
    colours = _cluster_colours(list(set(clusters.tolist())))
    fig, ax = new_figure(6.4, 5.2)
    x, y = np.asarray(projection["x"]), np.asarray(projection["y"])
    for cluster in sorted(set(clusters.tolist())):
        rows = clusters == cluster
        label = "noise" if cluster == -1 else f"cluster {cluster}"
        ax.scatter(
            x[rows],
            y[rows],
            s=18,
            alpha=0.8,
            color=colours[cluster],
            label=f"{label} (n={int(rows.sum())})",
        )
    ratio = projection["explained_variance_ratio"]
    ax.set_xlabel(f"first principal component ({ratio[0]:.0%} of variance)")
    if len(ratio) > 1:
        ax.set_ylabel(f"second principal component ({ratio[1]:.0%} of variance)")
    ax.set_title("Test rows by cluster (PCA of the preprocessed features)")
    ax.legend(frameon=False, fontsize=8)
    return fig


def silhouette_plot(details: dict[str, Any]) -> Figure:
    fig, ax = new_figure(6.4, 5.2)
    samples = details["silhouette_samples"]
    if not samples["values"]:
        ax.text(0.5, 0.5, "Fewer than two clusters: no silhouette", ha="center")
        ax.set_axis_off()
        return fig
    values = np.asarray(samples["values"])
    clusters = np.asarray(samples["cluster"])
    colours = _cluster_colours(list(set(clusters.tolist())))
    bottom = 0
    for cluster in sorted(set(clusters.tolist())):
        part = np.sort(values[clusters == cluster])
        ax.fill_betweenx(
            np.arange(bottom, bottom + len(part)),
            0,
            part,
            color=colours[cluster],
            alpha=0.8,
        )
        ax.text(-0.02, bottom + len(part) / 2, str(cluster), ha="right", va="center")
        bottom += len(part) + 5
    mean = float(values.mean())
    ax.axvline(mean, color=RED, ls="--", label=f"mean silhouette {mean:.2f}")
    ax.set_yticks([])
    ax.set_xlabel(
        "silhouette coefficient (-1 wrong cluster, 0 on a border, 1 well inside)"
    )
    ax.set_ylabel("test rows, grouped by cluster")
    ax.set_title("Silhouette of each test row")
    ax.legend(frameon=False, loc="lower right")
    return fig


def cluster_profiles(x_test: Any, clusters: np.ndarray, plan: Any) -> Figure:
    """Per-cluster mean of each numeric feature, as z-scores of the test rows."""
    import polars as pl

    numeric = [c for c in plan.numeric_features if c in x_test.columns][:25]
    ordered = sorted(c for c in set(clusters.tolist()) if c != -1)
    fig, ax = new_figure(max(6.0, 0.9 * len(ordered) + 4.0), 0.35 * len(numeric) + 2.0)
    if not numeric or not ordered:
        ax.text(0.5, 0.5, "No numeric features to profile", ha="center")
        ax.set_axis_off()
        return fig
    frame = x_test.select(numeric).with_columns(pl.Series("_cluster", clusters))
    overall_mean = frame.select(numeric).mean().row(0)
    overall_std = frame.select(numeric).std().row(0)
    table = np.zeros((len(numeric), len(ordered)))
    raw = np.zeros_like(table)
    for j, cluster in enumerate(ordered):
        means = (
            frame.filter(pl.col("_cluster") == cluster).select(numeric).mean().row(0)
        )
        for i, value in enumerate(means):
            raw[i, j] = value
            std = overall_std[i] or 1.0
            table[i, j] = (value - overall_mean[i]) / std
    limit = max(1.0, float(np.nanmax(np.abs(table))))
    image = ax.imshow(table, cmap="coolwarm", vmin=-limit, vmax=limit, aspect="auto")
    for i in range(len(numeric)):
        for j in range(len(ordered)):
            ax.text(j, i, f"{raw[i, j]:.3g}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(ordered)), [f"cluster {c}" for c in ordered])
    ax.set_yticks(range(len(numeric)), [short(n, 30) for n in numeric])
    ax.set_title(
        "Cluster profiles: mean per cluster (colour: z-score vs all test rows)"
    )
    fig.colorbar(image, ax=ax, shrink=0.8, label="cluster mean, in standard deviations")
    return fig


def cluster_sizes(details: dict[str, Any]) -> Figure:
    sizes = details["cluster_sizes"]
    fig, ax = new_figure(5.6, 3.8)
    names = list(sizes)
    ax.bar([f"cluster {n}" for n in names], [sizes[n] for n in names], color=BLUE)
    noise = details.get("noise_share") or 0
    title = "Cluster sizes on test"
    if noise:
        title += f" (noise: {noise:.0%} of rows)"
    ax.set_title(title)
    ax.set_ylabel("test rows")
    return fig


def cluster_count_criteria(evidence: dict[str, Any]) -> Figure:
    """The four criteria against k, each panel marking its own best k and the
    consensus k chosen from their mean rank."""
    table = evidence["table"]
    ks = [row["k"] for row in table]
    panels = [
        ("silhouette", "silhouette (higher is better)"),
        ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
        ("davies_bouldin", "Davies-Bouldin (lower is better)"),
        ("stability", "bootstrap stability, mean ARI (higher is better)"),
    ]
    fig = Figure(figsize=(9.6, 6.4), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True)
    for ax, (name, title) in zip(axes.ravel(), panels, strict=True):
        values = [row[name] for row in table]
        ax.plot(ks, values, marker="o", color=BLUE)
        own = evidence["k_by_criterion"][name]
        ax.scatter(
            [own], [values[ks.index(own)]], s=90, facecolors="none", edgecolors=BLUE
        )
        ax.axvline(evidence["k"], color=RED, linestyle="--", linewidth=1)
        ax.set_title(title, fontsize=9)
        ax.set_xticks(ks)
    for ax in axes[-1]:
        ax.set_xlabel("number of clusters k")
    fig.suptitle(
        short(
            f"Choosing k: consensus k = {evidence['k']} (dashed), the best mean rank of "
            "four criteria; circles mark each criterion's own best",
            110,
        ),
        fontsize=10,
    )
    return fig
