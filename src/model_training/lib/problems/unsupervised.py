"""Clustering and anomaly detection: no target; a label column, if any, only evaluates.

Both fit on the features alone (``fit`` never passes ``y``). ``y`` is the label
column kept for evaluation, or all-NaN without one; metrics that need it are
NaN then.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from model_training.lib.algorithms.preprocessing import make_preprocessor
from model_training.lib.core.frames import label_array
from model_training.lib.core.metric_functions import has_labels
from model_training.lib.core.metrics import compute_metrics
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems.base import ModelSpec, ProblemType, fold_metrics

# metrics that compare clusters with a label column
LABEL_METRICS = ("adjusted_rand", "normalized_mutual_info")


def embedding(model: Any, x: pl.DataFrame) -> np.ndarray:
    """The rows as the model's last step sees them (imputed, scaled, one-hot)."""
    pipeline = getattr(model, "estimator", model)
    data = pipeline[:-1].transform(x) if hasattr(pipeline, "steps") else x
    if hasattr(data, "toarray"):
        data = data.toarray()
    return np.asarray(data, dtype=float)


def _on_features(plan: ModelingPlan, model: Any) -> Pipeline:
    """A baseline behind the shared preprocessing (impute, scale, one-hot)."""
    return Pipeline([("preprocess", make_preprocessor(plan)), ("model", model)])


class _Unsupervised(ProblemType):
    explainable = True

    def fit(
        self,
        estimator: Any,
        x: pl.DataFrame,
        y: np.ndarray,
        fit_kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Fit on the features only: the label column never reaches a model."""
        return estimator.fit(x)


class Clustering(_Unsupervised):
    """Groups of similar rows; internal criteria choose the model."""

    name = "clustering"
    task = "clustering"
    explainable = False
    shap_note = (
        "a cluster id is not a continuous output; see native (ANOVA F) and the "
        "cluster profiles figure"
    )

    def output_labels(self, plan: ModelingPlan) -> tuple[str, str]:
        return "cluster id", "cluster id"

    def card_purpose(self, spec: dict[str, Any]) -> str:
        label = spec.get("label_column")
        metrics = [spec["primary_metric"], *spec.get("secondary_metrics", [])]
        if label and spec["primary_metric"] in LABEL_METRICS:
            return (
                "group rows into clusters of similar rows (the label column "
                f"`{label}` was never a model input, but the primary metric "
                f"`{spec['primary_metric']}` compares clusters with it, so it chose and "
                "tuned the model: the clustering is fitted to those labels)"
            )
        if not label:
            return "group rows into clusters of similar rows"
        compared = [m for m in metrics if m in LABEL_METRICS]
        return (
            "group rows into clusters of similar rows (the label column "
            f"`{label}` was never a model input and took no part in choosing the "
            "model; "
            + (
                f"{', '.join(compared)} compare with it"
                if compared
                else "it is kept for reference"
            )
            + ")"
        )

    def card_output(self, classes: Any) -> str:
        return (
            "`predict` gives a cluster id per row (-1: noise, for density clustering); "
            "rows are assigned like the training rows (nearest training row for "
            "DBSCAN and hierarchical clustering)."
        )

    def native_explanation(self, model, x, y_pred, plan):
        from model_training.lib.assessment.explain import cluster_separation

        return {
            "kind": "ANOVA F across clusters (test rows)",
            "values": cluster_separation(x, np.asarray(y_pred), plan),
        }

    def search_constraints(self, plan, x, options, seed):
        """The number of clusters by a consensus of internal criteria and
        stability (:mod:`model_training.lib.algorithms.cluster_count`), fixed
        for every algorithm that takes one."""
        from model_training.lib.algorithms.cluster_count import cluster_count_evidence
        from model_training.lib.algorithms.detectors import CLUSTERERS

        rows = make_preprocessor(plan).fit_transform(x)
        rows = rows.toarray() if hasattr(rows, "toarray") else np.asarray(rows)
        settings = options.cluster_count
        evidence = cluster_count_evidence(
            rows,
            settings.k_min,
            settings.k_max,
            settings.resamples,
            settings.max_rows,
            seed,
        )
        fixed = {
            a.name: {a.clusters_param: evidence["k"]}
            for a in CLUSTERERS
            if a.clusters_param
        }
        return fixed, evidence

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        from model_training.lib.algorithms.unsupervised import (
            RandomClusters,
            SingleFeatureClusters,
        )

        return [
            ModelSpec(
                "random_assignment",
                _on_features(plan, RandomClusters(3, seed)),
                "each row gets one of 3 clusters at random",
            ),
            ModelSpec(
                "single_feature",
                _on_features(plan, SingleFeatureClusters(3, seed)),
                "k-means (k=3) on the single scaled feature with the largest spread",
            ),
        ]

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Cluster ids, and the embedding internal metrics are computed on."""
        return np.asarray(model.predict(x)), embedding(model, x)

    def output(self, model: Any, x: pl.DataFrame, plan: ModelingPlan) -> np.ndarray:
        return np.asarray(model.predict(x), dtype=float)

    def score_columns(self, y_score, plan):
        return {}  # the embedding stays out of the predictions file

    def scores_from_frame(self, frame, plan):
        return None

    def finalize(
        self, pipeline, x, y, plan, splits, fit_kwargs, options, seed, oof=None
    ):
        """Fit on all rows; cross-validated metrics of the configuration for reference."""
        oof = fold_metrics(self, pipeline, x, y, plan, splits)
        model = self.fit(pipeline, x, y)
        labels = np.asarray(model.predict(x))
        sizes = {
            str(k): int(v)
            for k, v in zip(*np.unique(labels, return_counts=True), strict=True)
        }
        return model, {
            "oof_metrics": oof,
            "oof_note": "mean over cross-validation folds of metrics on held-out rows "
            "(cluster ids of different folds are not comparable, so no pooled predictions)",
            "n_clusters": len(set(labels.tolist()) - {-1}),
            "cluster_sizes_fit": sizes,
        }

    def details(self, y, y_pred, y_score, plan, final_info):
        from model_training.lib.assessment.test_metrics import clustering_details

        return clustering_details(y, y_pred, y_score)

    def figures(self, context: dict[str, Any], plan: ModelingPlan) -> dict[str, Any]:
        from model_training.lib.figures import clustering as eval_plots

        details = context["details"]
        return {
            "cluster_projection": eval_plots.cluster_projection(details),
            "silhouette": eval_plots.silhouette_plot(details),
            "cluster_profiles": eval_plots.cluster_profiles(
                context["x_test"], np.asarray(context["y_pred"]), plan
            ),
            "cluster_sizes": eval_plots.cluster_sizes(details),
            **(
                {
                    "cluster_count_criteria": eval_plots.cluster_count_criteria(
                        context["final_info"]["cluster_count"]
                    )
                }
                if context.get("final_info", {}).get("cluster_count")
                else {}
            ),
        }


class AnomalyDetection(_Unsupervised):
    """Rare, unusual rows; a threshold on an anomaly score flags them."""

    name = "anomaly_detection"
    task = "anomaly_detection"

    def card_purpose(self, spec: dict[str, Any]) -> str:
        label = spec.get("label_column")
        return "flag unusual rows (anomalies)" + (
            f" (the label column `{label}` was used for evaluation and the threshold only, "
            "never to train)"
            if label
            else ""
        )

    def card_output(self, classes: Any) -> str:
        return (
            "`predict` gives the anomaly or normal label per row; `score_samples` gives "
            "the anomaly score (higher: more unusual)."
        )

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        from model_training.lib.algorithms.unsupervised import (
            AnomalyScorer,
            PercentileDetector,
            ZScoreDetector,
        )

        contamination = plan.contamination or 0.05
        return [
            ModelSpec(
                "z_score",
                _on_features(plan, AnomalyScorer(ZScoreDetector(), contamination)),
                "largest absolute z-score of a row, flagged at the expected contamination",
            ),
            ModelSpec(
                "percentile",
                _on_features(plan, AnomalyScorer(PercentileDetector(), contamination)),
                "how far into the training tails a row's most extreme feature goes",
            ),
        ]

    def output_labels(self, plan: ModelingPlan) -> tuple[str, str]:
        return "anomaly score", "anomaly score"

    def score_columns(self, y_score, plan):
        return {} if y_score is None else {"score": np.asarray(y_score, dtype=float)}

    def scores_from_frame(self, frame, plan):
        return (
            frame.get_column("score").to_numpy() if "score" in frame.columns else None
        )

    def scores(self, model: Any, x: pl.DataFrame) -> np.ndarray:
        if hasattr(model, "score_samples"):
            return np.asarray(model.score_samples(x), dtype=float)
        return np.asarray(model.predict(x), dtype=float)

    def threshold_of(self, model: Any) -> float:
        if hasattr(model, "threshold") and not hasattr(model, "steps"):
            return float(model.threshold)
        return float(model[-1].threshold_)

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels (normal / anomaly as in the label column) and the anomaly score."""
        score = self.scores(model, x)
        labels = label_array(plan.labels or [0, 1])
        flagged = (score > self.threshold_of(model)).astype(int)
        y_pred = labels[flagged]
        if all(isinstance(v, (int, np.integer)) for v in labels):
            y_pred = y_pred.astype(int)
        return y_pred, score

    def output(self, model: Any, x: pl.DataFrame, plan: ModelingPlan) -> np.ndarray:
        return self.scores(model, x)

    def finalize(
        self, pipeline, x, y, plan, splits, fit_kwargs, options, seed, oof=None
    ):
        """Fit on all rows, then set the threshold.

        With labels (kept for evaluation): the threshold maximising F1 on
        out-of-fold scores (each row scored by a detector that never saw it,
        fitted without labels). Without: the ``1 - contamination`` quantile of
        the training scores.
        """
        from model_training.lib.algorithms.unsupervised import AnomalyModel

        labels = plan.labels or [0, 1]
        oof_scores = np.full(len(y), np.nan)
        if oof is not None:  # the selection's scores of these folds: no refit
            _, scores, rows, _ = oof
            oof_scores[np.asarray(rows)] = np.asarray(scores, dtype=float)
        else:
            for train_rows, valid_rows in splits:
                fold = self.fit(clone(pipeline), x[train_rows], y[train_rows])
                oof_scores[valid_rows] = self.scores(fold, x[valid_rows])
        covered = np.isfinite(oof_scores)
        fitted = self.fit(pipeline, x, y)
        contamination_cut = float(fitted[-1].threshold_)
        if has_labels(y):
            truth = (np.asarray(y[covered]) == labels[-1]).astype(int)
            threshold, f1 = _best_f1_threshold(truth, oof_scores[covered])
            method = "maximises F1 on out-of-fold scores against the label column"
        else:
            threshold, f1 = contamination_cut, None
            method = (
                f"flags the expected contamination ({plan.contamination:.3f}) "
                "of the training scores"
            )
        model = AnomalyModel(fitted, threshold, labels[0], labels[-1])
        oof_pred = label_array(labels)[(oof_scores[covered] > threshold).astype(int)]
        oof = compute_metrics(
            plan.spec.metric_names,
            y[covered],
            oof_pred,
            oof_scores[covered],
            plan.metric_context,
        )
        return model, {
            "oof_metrics": oof,
            "anomaly_threshold": {
                "threshold": threshold,
                "method": method,
                "oof_f1": f1,
                "contamination": plan.contamination,
                "contamination_threshold": contamination_cut,
                "flag_rate_fit": float((self.scores(model, x) > threshold).mean()),
            },
        }

    def details(self, y, y_pred, y_score, plan, final_info):
        from model_training.lib.assessment.test_metrics import anomaly_details

        return anomaly_details(y, y_pred, y_score, plan, final_info)

    def figures(self, context: dict[str, Any], plan: ModelingPlan) -> dict[str, Any]:
        from model_training.lib.figures import anomaly as eval_plots

        details = context["details"]
        figures = {"score_histogram": eval_plots.anomaly_score_histogram(details)}
        if details.get("curves"):
            figures["roc_curve"] = eval_plots.anomaly_roc(details)
            figures["precision_recall_curve"] = eval_plots.anomaly_pr(details)
        return figures


def _best_f1_threshold(truth: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The score cut with the best F1 (ties: the higher cut, fewer flags)."""
    best, best_f1 = float(np.quantile(scores, 0.95)), -1.0
    for cut in np.unique(scores)[:-1]:
        flagged = scores > cut
        tp = float((flagged & (truth == 1)).sum())
        precision = tp / max(flagged.sum(), 1)
        recall = tp / max((truth == 1).sum(), 1)
        f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
        if f1 >= best_f1:
            best, best_f1 = float(cut), f1
    return best, best_f1
