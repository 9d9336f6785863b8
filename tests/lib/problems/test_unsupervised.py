"""Clustering and anomaly detection: their own card wording."""

from __future__ import annotations

from model_training.lib.problems import get_problem


def test_the_card_says_when_a_label_column_chose_the_clustering():
    clustering = get_problem("clustering")
    spec = {
        "problem_type": "clustering",
        "label_column": "species",
        "primary_metric": "adjusted_rand",
        "secondary_metrics": [],
    }
    text = clustering.card_purpose(spec)
    assert "chose and tuned the model" in text and "species" in text
    spec["primary_metric"] = "silhouette"
    spec["secondary_metrics"] = ["adjusted_rand"]
    text = clustering.card_purpose(spec)
    assert "took no part in choosing the model" in text
    assert "adjusted_rand compare with it" in text
    spec["secondary_metrics"] = []
    assert "kept for reference" in clustering.card_purpose(spec)
    del spec["label_column"]
    assert clustering.card_purpose(spec) == "group rows into clusters of similar rows"


def test_anomaly_wording_names_the_label_column_and_the_score():
    detection = get_problem("anomaly_detection")
    spec = {"problem_type": "anomaly_detection", "label_column": "is_fraud"}
    assert "`is_fraud` was used for evaluation" in detection.card_purpose(spec)
    assert "score_samples" in detection.card_output(None)
    assert detection.card_sections(spec, {}) == []


def test_the_detector_threshold_reads_the_selection_scores_of_its_folds(monkeypatch):
    """The out-of-fold scores that set the anomaly threshold are the
    selection's scores of the same folds: no fold is refitted, and the
    threshold and metrics are those of the refits."""
    import polars as pl

    from model_training.lib.problems import unsupervised
    from model_training.lib.training.final_fit import fit_final
    from tests.conftest import selected_alone
    from tests.lib.algorithms.test_unsupervised import outliers, plan_for

    frame = outliers(300).with_row_index("row_id").cast({"row_id": pl.Int64})
    plan = plan_for(frame, "anomaly_detection", "status")
    train, validation = frame[:200], frame[200:]
    selection, oof, options = selected_alone(
        plan, train, validation, "isolation_forest", {"n_estimators": 30}
    )
    _, refitted = fit_final(plan, train, validation, selection, options, 0)
    folds = len(oof["rows"])
    fits = []
    original = unsupervised.AnomalyDetection.fit

    def counted(self, estimator, x, y, fit_kwargs=None):
        fits.append(x.height)
        return original(self, estimator, x, y, fit_kwargs)

    monkeypatch.setattr(unsupervised.AnomalyDetection, "fit", counted)
    _, reused = fit_final(
        plan, train, validation, selection, options, 0, selection_oof=oof
    )
    assert folds == train.height + validation.height
    assert fits == [train.height + validation.height]  # the final fit alone
    assert reused["out_of_fold_from"] == "the selection's folds (no refit)"
    assert reused["anomaly_threshold"] == refitted["anomaly_threshold"]
    assert reused["oof_metrics"] == refitted["oof_metrics"]
