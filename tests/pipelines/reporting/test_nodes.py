"""Verification and the acceptance gate."""

from __future__ import annotations

import pytest

from model_training.lib.core.errors import StageStop
from model_training.pipelines.reporting.nodes import enforce_acceptance
from tests.conftest import conf_params


def verification(checks_ok=True, met=True):
    return {
        "checks": [
            {
                "check": "package_equals_memory",
                "passed": checks_ok,
                "detail": "agree on 10 rows",
            }
        ],
        "acceptance_criteria": [
            {"criterion": "test roc_auc >= 0.75", "value": 0.748, "met": met}
        ],
    }


def test_unmet_criterion_fails_the_run_naming_it():
    with pytest.raises(StageStop) as caught:
        enforce_acceptance(
            verification(met=False),
            conf_params("reporting", {"acceptance": {"on_unmet": "fail"}}),
            "<html></html>",
        )
    assert "test roc_auc >= 0.75: got 0.748" in str(caught.value)
    assert "on_unmet: report" in str(caught.value)


def test_report_only_records_without_failing(caplog):
    enforce_acceptance(
        verification(met=False),
        conf_params("reporting", {"acceptance": {"on_unmet": "report"}}),
        "<html></html>",
    )
    assert "report-only" in caplog.text


def test_failed_verification_check_always_fails():
    with pytest.raises(StageStop, match="package_equals_memory: agree on 10 rows"):
        enforce_acceptance(
            verification(checks_ok=False),
            conf_params("reporting", {"acceptance": {"on_unmet": "report"}}),
            "<html></html>",
        )
    enforce_acceptance(verification(), conf_params("reporting"), "<html></html>")


def test_the_registry_entry_says_what_the_version_is_and_names_the_champion():
    from model_training.lib.stage.reporting import registry_entry
    from tests.lib.assessment.test_assessment import binary_plan

    plan = binary_plan(acceptance_criteria={"metrics": {"roc_auc": {"min": 0.7}}})
    package = {
        "version": 3,
        "metadata": {
            "code_commit": "abc123",
            "input_hashes": {"train_features.csv": "f00d"},
        },
    }

    def performance(auc):
        return {
            "final_model": {"model": "catboost"},
            "metrics": {
                "test": {"roc_auc": auc},
                "test_confidence_intervals": {
                    "roc_auc": {"low": auc - 0.05, "high": auc + 0.05}
                },
            },
        }

    entry = registry_entry(plan, package, performance(0.8))
    assert entry["alias"] == "champion"
    assert entry["description"].startswith(
        "catboost for epic x (binary_classification), package v3"
    )
    assert "meets all 1 acceptance criteria" in entry["description"]
    assert entry["tags"]["test_roc_auc"] == "0.8"
    assert entry["tags"]["code_commit"] == "abc123"
    assert entry["tags"]["data_hash.train_features.csv"] == "f00d"
    unmet = registry_entry(plan, package, performance(0.6))
    assert unmet["alias"] == "challenger" and unmet["tags"]["acceptance"] == "not met"
    assert "meets 0 of 1 acceptance criteria" in unmet["description"]
