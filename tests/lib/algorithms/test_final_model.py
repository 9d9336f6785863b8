"""The final model's wrappers: calibration and the decision threshold."""

from __future__ import annotations

import numpy as np
import pytest

from model_training.lib.algorithms.final_model import (
    CalibratedModel,
    ThresholdedClassifier,
    apply_calibrator,
    fit_calibrator,
)


class _Fixed:
    """A fitted classifier with given probabilities."""

    def __init__(self, proba, classes):
        self.proba, self.classes_ = np.asarray(proba), np.asarray(classes)

    def predict_proba(self, x):
        return self.proba


def test_the_threshold_decides_and_probabilities_pass_through():
    model = _Fixed([[0.8, 0.2], [0.6, 0.4], [0.1, 0.9]], [0, 1])
    wrapped = ThresholdedClassifier(model, 0.3, 1)
    assert wrapped.predict(None).tolist() == [0, 1, 1]
    assert wrapped.classes_.dtype.kind == "i"  # labels keep their own type
    np.testing.assert_allclose(wrapped.predict_proba(None), model.proba)


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrators_map_overconfident_scores_toward_observed_rates(method):
    rng = np.random.default_rng(0)
    truth = rng.random(2000) < 0.3
    # overconfident scores: far from 0.3 although the positive rate is 0.3
    scores = np.clip(np.where(truth, 0.9, 0.5) + rng.normal(0, 0.05, 2000), 0.01, 0.99)
    calibrator = fit_calibrator(method, scores, truth.astype(int))
    calibrated = apply_calibrator(calibrator, scores)
    assert abs(calibrated.mean() - truth.mean()) < 0.02
    assert calibrated[truth].mean() > calibrated[~truth].mean()
    with pytest.raises(ValueError, match="unknown calibration method"):
        fit_calibrator("beta", scores, truth)


def test_a_calibrated_model_orders_columns_by_its_classes():
    model = _Fixed([[0.7, 0.3], [0.2, 0.8]], ["bad", "good"])
    identity = fit_calibrator(
        "isotonic", np.linspace(0, 1, 50), np.linspace(0, 1, 50) > 0.5
    )
    calibrated = CalibratedModel(model, [identity], ["good", "bad"], "isotonic")
    assert calibrated.classes_.tolist() == ["good", "bad"]
    # columns reordered to (good, bad): P(bad) is 0.7 then 0.2, calibrated to 1, 0
    np.testing.assert_allclose(
        calibrated.predict_proba(None), [[0, 1], [1, 0]], atol=1e-5
    )
    assert calibrated.predict(None).tolist() == ["bad", "good"]


def test_a_pipelines_steps_applied_directly_give_its_own_probabilities():
    """SMOTE acts in fitting only; selection and preprocessing transform; the
    direct path equals the pipeline's predict_proba exactly."""
    import polars as pl
    from imblearn.over_sampling import SMOTE
    from imblearn.pipeline import Pipeline
    from sklearn.feature_selection import SelectKBest
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from model_training.lib.algorithms.final_model import pipeline_proba

    rng = np.random.default_rng(0)
    x = pl.DataFrame({f"f{i}": rng.normal(size=200) for i in range(5)})
    y = (x["f0"] + rng.normal(size=200) > 1).to_numpy()
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("select", SelectKBest(k=3)),
            ("resample", SMOTE(random_state=0)),
            ("model", LogisticRegression()),
        ]
    ).fit(x.to_numpy(), y)
    rows = x.to_numpy()[:17]
    assert np.array_equal(pipeline_proba(pipeline, rows), pipeline.predict_proba(rows))
    bare = LogisticRegression().fit(x.to_numpy(), y)
    assert np.array_equal(pipeline_proba(bare, rows), bare.predict_proba(rows))


def test_calibrators_score_exactly_as_scikit_learn_without_its_checks():
    """The calibrators' fast path (for scoring one row) gives scikit-learn's
    own numbers: isotonic in and out of the fitted range, Platt scaling."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from model_training.lib.algorithms.final_model import (
        TIE_BREAK,
        _logit,
        apply_calibrator,
    )

    rng = np.random.default_rng(0)
    scores = rng.uniform(size=2000)
    y = (rng.uniform(size=2000) < scores).astype(int)
    new = np.concatenate([rng.uniform(-0.2, 1.2, size=5000), scores[:100]])
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(scores, y)
    expected = (1 - TIE_BREAK) * isotonic.predict(new) + TIE_BREAK * np.clip(new, 0, 1)
    assert np.array_equal(apply_calibrator(isotonic, new), expected)
    platt = LogisticRegression().fit(_logit(scores).reshape(-1, 1), y)
    expected = platt.predict_proba(_logit(new).reshape(-1, 1))[:, 1]
    np.testing.assert_allclose(
        apply_calibrator(platt, new), expected, rtol=0, atol=1e-15
    )


def test_linear_proba_is_scikit_learns_to_the_bit_and_steps_aside_otherwise():
    from sklearn.linear_model import LogisticRegression

    from model_training.lib.algorithms.final_model import linear_proba

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6))
    for labels in (np.array(["no", "yes"]), np.array(["a", "b", "c"])):
        y = labels[rng.integers(0, len(labels), 300)]
        model = LogisticRegression(max_iter=1000).fit(x, y)
        for rows in (x[:1], x[:7], x):
            assert np.array_equal(linear_proba(model, rows), model.predict_proba(rows))
    bad = x[:2].copy()
    bad[0, 0] = np.nan
    assert linear_proba(model, bad) is None  # scikit-learn says what is wrong
    assert linear_proba(model, x[:2, :5]) is None
    assert linear_proba(model, x[:2].astype(np.float32)) is None
    assert linear_proba(model, x[:2].tolist()) is None


def test_catboost_scores_a_few_rows_from_one_object_array_with_the_same_probabilities():
    import polars as pl

    from model_training.lib.algorithms.final_model import catboost_rows, pipeline_proba
    from model_training.lib.algorithms.registry import algorithm, build_pipeline
    from tests.lib.assessment.test_assessment import binary_plan

    rng = np.random.default_rng(0)
    frame = pl.DataFrame(
        {
            "age": np.where(rng.random(200) < 0.1, None, rng.integers(20, 70, 200)),
            "sex": rng.choice(["f", "m", None], 200),
        }
    )
    y = np.where(rng.random(200) < 0.4, "bad", "good")
    plan = binary_plan()
    pipe = build_pipeline(
        plan, algorithm("classification", "catboost"), {"iterations": 30}, 0
    ).fit(frame, y)
    for rows in (frame[:1], frame[:5], frame.row(3, named=True)):
        array = catboost_rows(pipe.steps, rows)
        assert isinstance(array, np.ndarray) and array.dtype == object
        assert np.array_equal(
            pipeline_proba(pipe, rows),
            pipe.predict_proba(rows if not isinstance(rows, dict) else frame[3:4]),
        )
    assert catboost_rows(pipe.steps, frame) is None  # a batch: the frame path
    linear = build_pipeline(
        plan, algorithm("classification", "logistic_regression"), {}, 0
    )
    assert catboost_rows(linear.fit(frame, y).steps, frame[:1]) is None


def test_a_one_row_prediction_runs_on_one_openmp_thread():
    """HistGradientBoosting spread one row over every OpenMP thread (p95 112
    against 11 ms on a busy machine); a batch keeps the run's threads."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
    from threadpoolctl import threadpool_limits

    from model_training.lib.algorithms.final_model import ThresholdedClassifier

    seen: list[int] = []

    class Recording(HistGradientBoostingClassifier):
        def predict_proba(self, x):
            seen.append(_openmp_effective_n_threads())
            return super().predict_proba(x)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = np.where(x[:, 0] > 0, "yes", "no")
    pipeline = Pipeline([("model", Recording(max_iter=5))]).fit(x, y)
    model = ThresholdedClassifier(pipeline, 0.5, "yes")
    with threadpool_limits(limits=2, user_api="openmp"):
        model.predict(x[:1])
        model.predict(x)
    assert seen == [1, 2]
