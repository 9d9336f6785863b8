"""Stage step 6: honest metrics on the held-out test split, with confidence intervals."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm

from model_training.lib.algorithms.calibration import (
    expected_calibration_error,
    truth_index,
)
from model_training.lib.core.frames import label_array
from model_training.lib.core.plan import ModelingPlan


def classification_details(
    y: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None, plan: ModelingPlan
) -> dict[str, Any]:
    """Confusion matrix, per-class report, calibration and curve points."""
    labels = list(plan.classes or [])
    names = [str(c) for c in labels]
    matrix = skm.confusion_matrix(label_array(y), label_array(y_pred), labels=labels)
    report = skm.classification_report(
        label_array(y),
        label_array(y_pred),
        labels=labels,
        target_names=names,
        output_dict=True,
        zero_division=0,
    )
    out: dict[str, Any] = {
        "confusion_matrix": {
            "labels": names,
            "rows_actual_columns_predicted": matrix.tolist(),
        },
        "classification_report": report,
    }
    if y_score is None:
        return out
    index = truth_index(y, labels)
    binary = len(labels) == 2
    out["calibration"] = {
        "expected_calibration_error": expected_calibration_error(
            index == 1 if binary else index, y_score
        ),
    }
    if binary:
        truth = (index == 1).astype(int)
        positive = y_score[:, 1]
        prob_true, prob_pred = _calibration_curve(truth, positive)
        fpr, tpr, _ = skm.roc_curve(truth, positive)
        precision, recall, _ = skm.precision_recall_curve(truth, positive)
        out["calibration"]["curve"] = {"predicted": prob_pred, "observed": prob_true}
        out["curves"] = {
            "roc": {"fpr": _thin(fpr), "tpr": _thin(tpr)},
            "precision_recall": {
                "recall": _thin(recall),
                "precision": _thin(precision),
            },
            "positive_rate": float(truth.mean()),
        }
    else:
        out["curves"] = {"roc_one_vs_rest": {}}
        for j, name in enumerate(names):
            truth = (index == j).astype(int)
            if 0 < truth.sum() < len(truth):
                fpr, tpr, _ = skm.roc_curve(truth, y_score[:, j])
                out["curves"]["roc_one_vs_rest"][name] = {
                    "fpr": _thin(fpr),
                    "tpr": _thin(tpr),
                }
    return out


def _calibration_curve(
    truth: np.ndarray, scores: np.ndarray, n_bins: int = 10
) -> tuple[list, list]:
    edges = np.linspace(0, 1, n_bins + 1)
    bins = np.clip(np.digitize(scores, edges[1:-1], right=True), 0, n_bins - 1)
    observed, predicted = [], []
    for b in range(n_bins):
        mask = bins == b
        if mask.sum() >= 3:
            observed.append(float(truth[mask].mean()))
            predicted.append(float(scores[mask].mean()))
    return observed, predicted


def _thin(values: np.ndarray, limit: int = 300) -> list[float]:
    values = np.asarray(values, dtype=float)
    if len(values) <= limit:
        return values.tolist()
    keep = np.unique(np.linspace(0, len(values) - 1, limit).round().astype(int))
    return values[keep].tolist()


def regression_details(
    y: np.ndarray, y_pred: np.ndarray, residual_quantiles: dict[str, float] | None
) -> dict[str, Any]:
    """Residual analysis and split-conformal prediction-interval coverage.

    Intervals are ``prediction ± q``, with ``q`` the quantile of out-of-fold
    absolute residuals at each level (from the final refit); coverage is the
    share of test targets inside.
    """
    y = np.asarray(y, dtype=float)
    residuals = y - np.asarray(y_pred, dtype=float)
    out: dict[str, Any] = {
        "residuals": {
            "mean": float(residuals.mean()),
            "std": float(residuals.std()),
            "skew": float(
                ((residuals - residuals.mean()) ** 3).mean()
                / (residuals.std() ** 3 or 1)
            ),
            "quantiles": {
                str(q): float(np.quantile(residuals, q))
                for q in (0.05, 0.25, 0.5, 0.75, 0.95)
            },
            "correlation_with_prediction": float(np.corrcoef(y_pred, residuals)[0, 1])
            if len(y) > 2
            else None,
        },
        "prediction_intervals": {},
    }
    for level, half_width in (residual_quantiles or {}).items():
        inside = np.abs(residuals) <= half_width
        out["prediction_intervals"][level] = {
            "nominal": float(level),
            "half_width": float(half_width),
            "coverage": float(inside.mean()),
        }
    return out


def clustering_details(
    y: np.ndarray, y_pred: np.ndarray, embedding: np.ndarray
) -> dict[str, Any]:
    """Cluster sizes, compactness and separation on test, and the figures' data.

    ``embedding`` is the preprocessed test rows (what the clusterer sees).
    Within-cluster sum of squares and centroid distances are in that space;
    noise rows (``-1``, DBSCAN) are counted but left out of both.
    """
    from sklearn.decomposition import PCA

    from model_training.lib.core.metric_functions import has_labels

    labels = np.asarray(y_pred)
    data = np.asarray(embedding, dtype=float)
    clusters = sorted(set(labels.tolist()) - {-1})
    sizes = {str(c): int((labels == c).sum()) for c in clusters}
    centroids = {c: data[labels == c].mean(axis=0) for c in clusters}
    wcss = {
        str(c): float(((data[labels == c] - centroids[c]) ** 2).sum()) for c in clusters
    }
    distances = {
        str(a): {
            str(b): float(np.linalg.norm(centroids[a] - centroids[b])) for b in clusters
        }
        for a in clusters
    }
    keep = labels != -1
    silhouette = None
    if len(clusters) >= 2 and keep.sum() > len(clusters):
        silhouette = skm.silhouette_samples(data[keep], labels[keep]).tolist()
    components = min(2, data.shape[1])
    pca = PCA(n_components=components, random_state=0).fit(data)
    projection = pca.transform(data)
    details: dict[str, Any] = {
        "n_clusters": len(clusters),
        "cluster_sizes": sizes,
        "noise_share": float((~keep).mean()),
        "within_cluster_sum_of_squares": wcss,
        "total_within_cluster_sum_of_squares": float(sum(wcss.values())),
        "inter_cluster_distances": distances,
        "projection": {
            "method": "PCA of the preprocessed features",
            "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
            "x": projection[:, 0].tolist(),
            "y": (projection[:, 1] if components > 1 else np.zeros(len(data))).tolist(),
            "cluster": labels.tolist(),
        },
        "silhouette_samples": {
            "values": silhouette,
            "cluster": labels[keep].tolist(),
        },
    }
    if has_labels(y):
        truth = np.asarray(y).astype(str)
        table: dict[str, dict[str, int]] = {}
        for t, p in zip(truth, labels, strict=True):
            table.setdefault(t, {}).setdefault(str(p), 0)
            table[t][str(p)] += 1
        details["label_vs_cluster"] = table
    return details


def anomaly_details(
    y: np.ndarray,
    y_pred: np.ndarray,
    score: np.ndarray,
    plan: ModelingPlan,
    final_info: dict[str, Any],
) -> dict[str, Any]:
    """Score distribution, flag rate and (with labels) confusion counts and curves."""
    from model_training.lib.core.metric_functions import has_labels

    score = np.asarray(score, dtype=float)
    threshold = (final_info.get("anomaly_threshold") or {}).get("threshold")
    anomaly = (plan.labels or [0, 1])[-1]
    flagged = np.asarray(y_pred) == anomaly
    quantiles = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
    details: dict[str, Any] = {
        "threshold": threshold,
        "anomaly_label": anomaly,
        "flag_rate": float(flagged.mean()),
        "expected_contamination": plan.contamination,
        "score_quantiles": {str(q): float(np.quantile(score, q)) for q in quantiles},
        "scores": _thin(score, 2000),
        "labels_available": has_labels(y),
    }
    if has_labels(y):
        truth = (np.asarray(y) == anomaly).astype(int)
        details["scores_by_label"] = {
            "anomaly": _thin(score[truth == 1], 1000),
            "normal": _thin(score[truth == 0], 1000),
        }
        details["confusion"] = {
            "true_positive": int((flagged & (truth == 1)).sum()),
            "false_positive": int((flagged & (truth == 0)).sum()),
            "false_negative": int((~flagged & (truth == 1)).sum()),
            "true_negative": int((~flagged & (truth == 0)).sum()),
        }
        if 0 < truth.sum() < len(truth):
            fpr, tpr, _ = skm.roc_curve(truth, score)
            precision, recall, _ = skm.precision_recall_curve(truth, score)
            details["curves"] = {
                "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()},
                "pr": {"precision": precision.tolist(), "recall": recall.tolist()},
                "roc_auc": float(skm.roc_auc_score(truth, score)),
                "pr_auc": float(skm.average_precision_score(truth, score)),
                "prevalence": float(truth.mean()),
            }
    return details


def forecast_details(
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    plan: ModelingPlan,
) -> dict[str, Any]:
    """Errors by horizon step, residual statistics, autocorrelation and coverage.

    ``y_score`` holds (lower, upper, horizon step) per row, from the
    walk-forward evaluation.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox
    from statsmodels.tsa.stattools import acf

    truth = np.asarray(y, dtype=float)
    pred = np.asarray(y_pred, dtype=float)
    residuals = truth - pred
    details: dict[str, Any] = {
        "residuals": {
            "mean": float(np.mean(residuals)),
            "std": float(np.std(residuals)),
            "values": residuals.tolist(),
        }
    }
    if y_score is not None:
        scores = np.asarray(y_score, dtype=float)
        steps = scores[:, 2].astype(int)
        inside = (truth >= scores[:, 0]) & (truth <= scores[:, 1])
        details["interval"] = {
            "level": 0.9,
            "coverage": float(inside.mean()),
            "mean_width": float(np.mean(scores[:, 1] - scores[:, 0])),
        }
        details["by_horizon_step"] = {
            str(step): {
                "n": int((steps == step).sum()),
                "mae": float(np.mean(np.abs(residuals[steps == step]))),
                "coverage": float(inside[steps == step].mean()),
            }
            for step in sorted(set(steps.tolist()))
        }
    lags = [
        lag
        for lag in sorted(
            {1, plan.spec.seasonal_period or 1, 2 * (plan.spec.seasonal_period or 1)}
        )
        if lag < len(residuals) - 1
    ]
    if lags:
        table = acorr_ljungbox(residuals, lags=lags)
        details["ljung_box"] = {
            str(lag): {
                "statistic": float(table.loc[lag, "lb_stat"]),
                "p_value": float(table.loc[lag, "lb_pvalue"]),
            }
            for lag in lags
        }
        details["ljung_box_note"] = (
            "small p-values: the residuals are autocorrelated, so the model leaves "
            "predictable structure; block forecasts make multi-step residuals "
            "correlated by construction, so read it with the horizon in mind"
        )
    nlags = min(24, len(residuals) - 2)
    if nlags >= 1:
        details["residual_acf"] = acf(residuals, nlags=nlags, fft=False).tolist()
    return details
