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
        )
    assert "test roc_auc >= 0.75: got 0.748" in str(caught.value)
    assert "on_unmet: report" in str(caught.value)


def test_report_only_records_without_failing(caplog):
    enforce_acceptance(
        verification(met=False),
        conf_params("reporting", {"acceptance": {"on_unmet": "report"}}),
    )
    assert "report-only" in caplog.text


def test_failed_verification_check_always_fails():
    with pytest.raises(StageStop, match="package_equals_memory: agree on 10 rows"):
        enforce_acceptance(
            verification(checks_ok=False),
            conf_params("reporting", {"acceptance": {"on_unmet": "report"}}),
        )
    enforce_acceptance(verification(), conf_params("reporting"))
