"""Evaluation figures (object API, no pyplot): one function per figure."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from model_training.lib.figures.data import _short, _wrap

BLUE, ORANGE, GREEN, GREY, RED = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#d62728"


def _figure(width: float = 6.4, height: float = 4.8) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def roc_curve(
    details: dict[str, Any], test_metrics: dict[str, float], positive: Any
) -> Figure:
    fig, ax = _figure(5.6, 5.2)
    curves = details["curves"]
    if "roc" in curves:
        auc = test_metrics.get("roc_auc", float("nan"))
        ax.plot(
            curves["roc"]["fpr"],
            curves["roc"]["tpr"],
            color=BLUE,
            lw=2,
            label=f"model (AUC {auc:.3f})",
        )
        ax.set_title(f"ROC curve on test (positive class '{positive}')")
    else:
        for name, curve in curves["roc_one_vs_rest"].items():
            ax.plot(curve["fpr"], curve["tpr"], lw=1.8, label=_short(name))
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
    fig, ax = _figure(5.6, 5.2)
    curve = details["curves"]["precision_recall"]
    ax.plot(
        curve["recall"],
        curve["precision"],
        color=BLUE,
        lw=2,
        label=f"model (average precision {test_metrics.get('pr_auc', float('nan')):.3f})",
    )
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
    labels = [_short(v, 18) for v in details["confusion_matrix"]["labels"]]
    size = 3.2 + 0.6 * len(labels)
    fig, ax = _figure(size + 1.0, size)
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
    fig, ax = _figure(5.6, 5.2)
    curve = details["calibration"]["curve"]
    ece = details["calibration"]["expected_calibration_error"]
    ax.plot([0, 1], [0, 1], ls="--", color=GREY, label="perfectly calibrated")
    ax.plot(
        curve["predicted"],
        curve["observed"],
        marker="o",
        color=BLUE,
        label=f"model (ECE {ece:.3f})",
    )
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
    fig, ax = _figure(6.8, 4.4)
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
    fig, ax = _figure(7.2, 0.7 * len(order) + 1.6)
    colours = [BLUE if name == "model" else GREY for name in order]
    bars = ax.barh(
        [_short(n, 34) for n in order], [costs[n] for n in order], color=colours
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
    left.set_yticks(y, [_short(n, 30) for n in names])
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
    fig, ax = _figure(8.0, max(3.5, 0.4 * len(order) + 1.4))
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
    ax.set_yticks(range(len(order)), [_short(f, 30) for f in order])
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
    fig, ax = _figure(6.4, 4.4)
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
            _tick_labels(categories),
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
                _tick_labels(curve["grid"]),
                rotation=0 if len(curve["grid"]) <= 5 else 35,
                ha="center" if len(curve["grid"]) <= 5 else "right",
                fontsize=8,
            )
        ax.set_xlabel(feature)
        ax.set_ylabel(output_label)
    fig.suptitle("Partial dependence of the top features (test rows)")
    return fig


def _tick_labels(categories: list[Any]) -> list[str]:
    """Wrapped labels for a few categories; one short, rotatable line for many."""
    if len(categories) <= 5:
        return [_wrap(c) for c in categories]
    return [_short(c, 20) for c in categories]


def learning_curve(curve: dict[str, Any]) -> Figure:
    fig, ax = _figure(6.6, 4.6)
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
    fig, ax = _figure(max(6.4, 1.6 * len(groups) + 2.5), 4.6)
    width = 0.8 / len(keys)
    x = np.arange(len(groups))
    for i, key in enumerate(keys):
        values = [entry["groups"][g].get(key, np.nan) for g in groups]
        ax.bar(x + i * width, values, width, label=key.replace("_", " "))
    ax.set_xticks(
        x + width * (len(keys) - 1) / 2,
        [f"{_short(g, 18)}\n(n={entry['groups'][g]['size']})" for g in groups],
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
        title += "\n" + _short(small[0], 90)
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
        _wrap(f"{c['feature']} = {c['value']}", width=34, lines=2)
        for c in contributions
    ]
    values = [c["shap"] for c in contributions]
    if abs(explanation["other_features_shap"]) > 0:
        labels.append("all other features")
        values.append(explanation["other_features_shap"])
    fig, ax = _figure(8.0, 0.5 * len(values) + 1.8)
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
    fig, ax = _figure(5.6, 5.4)
    ax.scatter(y, y_pred, s=12, color=BLUE, alpha=0.7)
    lo, hi = float(min(y.min(), y_pred.min())), float(max(y.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], ls="--", color=GREY, label="perfect prediction")
    ax.set_xlabel(f"actual {target}")
    ax.set_ylabel(f"predicted {target}")
    ax.set_title(f"Actual versus predicted on test (R² {r2:.3f})")
    ax.legend(frameon=False)
    return fig


# clustering


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
    fig, ax = _figure(6.4, 5.2)
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
    fig, ax = _figure(6.4, 5.2)
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
    fig, ax = _figure(max(6.0, 0.9 * len(ordered) + 4.0), 0.35 * len(numeric) + 2.0)
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
    ax.set_yticks(range(len(numeric)), [_short(n, 30) for n in numeric])
    ax.set_title(
        "Cluster profiles: mean per cluster (colour: z-score vs all test rows)"
    )
    fig.colorbar(image, ax=ax, shrink=0.8, label="cluster mean, in standard deviations")
    return fig


def cluster_sizes(details: dict[str, Any]) -> Figure:
    sizes = details["cluster_sizes"]
    fig, ax = _figure(5.6, 3.8)
    names = list(sizes)
    ax.bar([f"cluster {n}" for n in names], [sizes[n] for n in names], color=BLUE)
    noise = details.get("noise_share") or 0
    title = "Cluster sizes on test"
    if noise:
        title += f" (noise: {noise:.0%} of rows)"
    ax.set_title(title)
    ax.set_ylabel("test rows")
    return fig


# anomaly detection


def anomaly_score_histogram(details: dict[str, Any]) -> Figure:
    fig, ax = _figure(6.6, 4.4)
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
    fig, ax = _figure(5.6, 5.2)
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
    fig, ax = _figure(5.6, 5.2)
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


# time series


def forecast_vs_actual(times, y, y_pred, y_score, plan, series=None) -> Figure:
    if series is not None:
        return _forecasts_per_series(times, y, y_pred, y_score, plan, series)
    fig, ax = _figure(8.4, 4.6)
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
    fig, ax = _figure(6.4, 4.2)
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
