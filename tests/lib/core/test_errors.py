"""Optional analyses and figures fail soft: reported, never fatal."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from matplotlib.figure import Figure

from model_training.lib.algorithms.registry import algorithm, build_pipeline
from model_training.lib.assessment.learning import learning_curve
from model_training.lib.core.errors import InputError, Problem, fail_soft, failed
from model_training.lib.core.frames import split_xy
from model_training.lib.figures.data import Figures


def test_a_failing_analysis_returns_its_empty_shape_and_logs(caplog):
    @fail_soft("Fairness", lambda error: failed(error, attributes={}))
    def analysis(x):
        return {"attributes": {"a": 1 / x}}

    assert analysis(2) == {"attributes": {"a": 0.5}}
    with caplog.at_level(logging.WARNING):
        result = analysis(0)
    assert result["status"] == "failed" and result["attributes"] == {}
    assert result["error"].startswith("ZeroDivisionError")
    assert "Fairness failed and is left out of the reports" in caplog.text


def test_a_user_error_still_stops_the_run():
    @fail_soft("Fairness", failed)
    def analysis():
        raise InputError("bad", [Problem("f.csv", "what", "fix")])

    with pytest.raises(InputError):
        analysis()


def test_a_figure_that_cannot_be_drawn_is_named_not_fatal():
    drawn = Figures()
    drawn.add("good", Figure)
    drawn.add("bad", lambda: {}["missing"])
    drawn.add_all(lambda: {"roc_curve": Figure()})
    report = drawn.report()
    assert report["written"] == ["good", "roc_curve"]
    assert report["failed"] == {"bad": "KeyError: 'missing'"}


def test_a_figure_named_after_a_feature_is_a_safe_file_name(tmp_path):
    """A feature named 'größe/Ω' made the figure's path a missing folder."""
    from model_training.lib.figures.data import file_stem

    drawn = Figures()
    drawn.add("shap_dependence_2_größe/Ω", Figure)
    drawn.add_all(lambda: {'fairness_a:b "c"': Figure()})
    assert sorted(drawn.figures) == ["fairness_a_b__c_", "shap_dependence_2_größe_Ω"]
    for name in drawn.figures:
        (tmp_path / f"{name}.png").write_bytes(b"")  # no folder, no refusal
    assert file_stem("..") == "_" and file_stem("a.b-c_d") == "a.b-c_d"


def test_learning_curve_points_without_a_score_are_skipped(xor_setup):
    """A real 144-point series crashed the figure on points without a score."""
    parts, _, _, plan = xor_setup
    x, y = split_xy(parts["train"], plan)
    pipeline = build_pipeline(
        plan, algorithm("classification", "logistic_regression"), {}, 0
    )
    splits = [(np.arange(0, 120), np.arange(120, len(y)))]

    def no_scores(model, rows, y_rows):  # a model without scores: ROC-AUC is NaN
        return model.predict(rows), None

    curve = learning_curve(
        pipeline, x, y, splits, plan, no_scores, lambda _y: {}, [0.5, 1.0], 0
    )
    assert curve["points"] == []
    assert [p["share"] for p in curve["skipped_points"]] == [0.5, 1.0]
    assert "could not be computed" in curve["skipped_points"][0]["reason"]
    assert curve["verdict"] == "not enough data"
