"""The problem-type registry and what every problem type shares."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.core.kinds import KINDS
from model_training.lib.problems import get_problem, is_registered, registered
from model_training.lib.problems.base import simple_params


def test_every_kind_has_a_problem_type_and_back():
    assert set(registered()) == set(KINDS)
    for name in KINDS:
        problem = get_problem(name)
        assert problem.name == name and is_registered(name)
        assert problem.task == KINDS[name].family


def test_an_unknown_problem_type_names_the_known_ones():
    assert not is_registered("ranking")
    with pytest.raises(NotImplementedError, match="available: anomaly_detection"):
        get_problem("ranking")


def test_scores_become_named_columns_and_back(xor_setup):
    plan = xor_setup[3]
    problem = get_problem("binary_classification")
    scores = np.array([[0.8, 0.2], [0.3, 0.7]])
    columns = problem.score_columns(scores, plan)
    assert list(columns) == ["score_no", "score_yes"]
    import polars as pl

    back = problem.scores_from_frame(pl.DataFrame(columns), plan)
    np.testing.assert_allclose(back, scores)
    assert problem.score_columns(None, plan) == {}


def test_simple_params_keep_scalars_of_the_final_step():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = Pipeline([("s", StandardScaler()), ("m", LogisticRegression(C=0.5))])
    params = simple_params(pipe)
    assert params["estimator"] == "LogisticRegression" and params["C"] == 0.5
    assert all(not isinstance(v, (list, dict)) for v in params.values())


def test_the_default_card_purpose_names_target_and_positive_class():
    problem = get_problem("regression")
    assert problem.card_purpose({"target": "price"}) == "predict `price`"
    binary = get_problem("binary_classification")
    text = binary.card_purpose({"target": "risk", "positive_class": "bad"})
    assert text == "predict `risk` (positive class `bad`)"
