"""Problem types as data: traits, default metrics, lookups."""

from __future__ import annotations

import pytest

from model_training.lib.core.kinds import KINDS, PROBLEM_TYPES, kind, kinds_where
from model_training.lib.core.metrics import metrics_for


def test_traits_select_the_problem_types():
    assert kinds_where(classification=True) == {
        "binary_classification",
        "multiclass_classification",
    }
    assert kinds_where(numeric_output=True) == {"regression", "time_series"}
    assert kinds_where(temporal=True) == {"time_series"}
    assert kinds_where(target="label") == {"clustering", "anomaly_detection"}


def test_default_metrics_fit_their_problem_type():
    for name, traits in KINDS.items():
        fitting = set(metrics_for(name))
        for labelled in (False, True):
            primary, secondary = traits.default_metrics(labelled)
            assert {primary, *secondary} <= fitting, (name, labelled)
            assert primary not in secondary


def test_a_label_column_changes_the_anomaly_and_clustering_defaults():
    assert kind("anomaly_detection").default_metrics(False) == ("flag_rate_gap", [])
    primary, secondary = kind("anomaly_detection").default_metrics(True)
    assert primary == "pr_auc" and "roc_auc" in secondary
    assert "adjusted_rand" in kind("clustering").default_metrics(True)[1]


def test_splits_keep_the_shares_of_classes_or_anomalies():
    assert kind("binary_classification").stratify_on == "target"
    assert kind("anomaly_detection").stratify_on == "label"
    assert kind("clustering").stratify_on is None
    assert kind("regression").stratify_on is None


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="known: " + ", ".join(PROBLEM_TYPES)):
        kind("ranking")
