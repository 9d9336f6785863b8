"""The one-page HTML report: self-contained, the key numbers, only the sections that apply."""

from __future__ import annotations

import re

import pytest
from kedro.io.core import DatasetError

from model_training.datasets import HTMLReportDataset
from model_training.lib.reporting.html_report import render_report

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _classification():
    return {
        "epic_id": "credit<risk>",
        "problem_type": "binary_classification",
        "primary_metric": "roc_auc",
        "final_model": {
            "model": "catboost",
            "threshold": {"threshold": 0.31, "chosen_by": "minimum expected cost"},
        },
        "metrics": {
            "test": {"roc_auc": 0.8123, "expected_cost": 0.5},
            "test_confidence_intervals": {"roc_auc": {"low": 0.75, "high": 0.86}},
        },
        "baselines_on_test": {"majority_class": {"roc_auc": 0.5, "expected_cost": 1.5}},
        "comparison": {
            "rows": [
                {
                    "model": "catboost",
                    "stage": "candidate",
                    "evaluated_on": "validation",
                    "metrics": {"roc_auc": 0.8},
                    "fit_time_s": 1.2,
                    "latency_p95_ms": 0.9,
                }
            ]
        },
        "calibration": {
            "chosen": {"method": "isotonic", "ece_before": 0.05, "ece_after": 0.02},
            "test": {"expected_calibration_error": 0.04},
        },
        "feature_importance": {
            "permutation": {
                "metric": "roc_auc",
                "rows": 5000,
                "of_rows": 200000,
                "values": {"income": {"mean": 0.1, "std": 0.01}},
            },
            "shap_sample": {
                "explainer": "PermutationExplainer (sampled)",
                "rows_explained": 41,
                "rows_capped": "SVC is explained by a sampled permutation explainer",
            },
        },
        "fairness": {
            "sex": {
                "column": "sex",
                "groups": {"f": {}, "m": {}},
                "demographic_parity_difference": 0.12,
                "flags": ["equalized odds difference 0.22 exceeds 0.1"],
            }
        },
        "latency_ms": {"p95": 0.9},
    }


VERIFICATION = {
    "package_version": 3,
    "checks": [{"check": "package_predicts", "passed": True, "detail": "ok"}],
    "acceptance_criteria": [
        {"criterion": "test roc_auc >= 0.75", "value": 0.8123, "met": True}
    ],
}
REGISTERED = {
    "run_id": "abc123",
    "registered_model_name": "credit_model",
    "registered_version": 3,
    "alias": "champion",
}


def test_the_page_holds_the_key_numbers_and_is_self_contained():
    page = render_report(
        _classification(), VERIFICATION, REGISTERED, {"roc_curve": PNG}, "models/x"
    )
    for text in (
        "Acceptance criteria: 1 of 1 met",
        "0.8123",
        "0.750 to 0.860",
        "baseline majority_class",
        "isotonic",
        "0.3100",
        "minimum expected cost",
        "income",
        "equalized odds difference 0.22 exceeds 0.1",
        "abc123",
        "credit_model v3 (champion)",
        "Permutation importance on 5000 of 200000 test rows.",
        "SHAP (PermutationExplainer (sampled)) on 41 test rows: SVC is explained",
        'src="data:image/png;base64,',
    ):
        assert text in page, text
    # offline: nothing is fetched from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', page)
    # text from the data is escaped, not interpreted
    assert "credit&lt;risk&gt;" in page and "credit<risk>" not in page


def test_explanations_of_a_log_target_model_say_their_units():
    performance = _classification()
    performance["feature_importance"]["shap_sample"]["units"] = "log(1 + target)"
    page = render_report(performance, VERIFICATION, REGISTERED, {}, "models/x")
    assert (
        "SHAP values and coefficients are in log(1 + target) units: the model "
        "was fitted on that scale." in page
    )
    assert "units: the model" not in render_report(
        _classification(), VERIFICATION, REGISTERED, {}, "models/x"
    )


def test_sections_a_problem_type_does_not_have_are_left_out():
    performance = {
        "epic_id": "houses",
        "problem_type": "regression",
        "primary_metric": "root_mean_squared_error",
        "final_model": {"model": "lightgbm"},
        "metrics": {"test": {"root_mean_squared_error": 3.2}},
    }
    page = render_report(performance, {}, {}, {}, "models/houses")
    assert "3.2000" in page
    for absent in ("Calibration", "Fairness", "Business impact", "Figures"):
        assert absent not in page
    assert 'class="verdict' not in page  # no acceptance criteria, no verdict


def test_an_unmet_criterion_shows_as_such():
    verification = {
        **VERIFICATION,
        "acceptance_criteria": [
            {"criterion": "test roc_auc >= 0.9", "value": 0.81, "met": False}
        ],
    }
    page = render_report(_classification(), verification, REGISTERED, {}, "models/x")
    assert "Acceptance criteria: 0 of 1 met" in page and "NOT met" in page
    assert 'class="verdict unmet"' in page


def test_the_dataset_writes_the_page_whole_and_reads_it_back(tmp_path):
    dataset = HTMLReportDataset(filepath=str(tmp_path / "r/model_report.html"))
    dataset.save("<html></html>")
    assert dataset.load() == "<html></html>"
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["model_report.html"]
    with pytest.raises(DatasetError, match="expected the page as a string"):
        dataset.save({"not": "a page"})
