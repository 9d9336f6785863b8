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
