"""The shipped model's wrappers: calibrated probabilities and a decision threshold.

Both wrap an already fitted pipeline and are plain picklable objects with the
scikit-learn ``predict`` / ``predict_proba`` interface, so the package, MLflow and
SHAP see one model that predicts from raw feature columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from model_training.lib.core.frames import label_array
from model_training.lib.core.threads import scoring_threads


def fit_calibrator(method: str, scores: np.ndarray, truth: np.ndarray) -> Any:
    """Fit a one-dimensional calibrator mapping a class score to a probability."""
    if method == "isotonic":
        return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(
            scores, truth
        )
    if method == "sigmoid":
        # Platt (1999): targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) instead of
        # 1 and 0, as scikit-learn's own sigmoid calibration does. On scores
        # that separate the classes, plain 0/1 targets give an unbounded slope:
        # probabilities of exactly 0 and 1, and any error costs without bound.
        truth = np.asarray(truth, dtype=int)
        positives = int(truth.sum())
        negatives = len(truth) - positives
        target = np.where(
            truth == 1, (positives + 1) / (positives + 2), 1 / (negatives + 2)
        )
        z = _logit(scores).reshape(-1, 1)
        model = LogisticRegression(C=1e6, max_iter=1000)
        # soft targets as a weighted pair of rows, one per class
        return model.fit(
            np.vstack([z, z]),
            np.r_[np.ones(len(z)), np.zeros(len(z))],
            sample_weight=np.r_[target, 1 - target],
        )
    raise ValueError(f"unknown calibration method '{method}'; use sigmoid or isotonic")


# Isotonic calibration is a step function: rows in one step would tie, and a
# ranking metric (ROC-AUC, PR-AUC) would lose what the model's scores told apart.
# A weight this small on the raw score breaks the ties in the model's own order
# and moves no probability by more than it.
TIE_BREAK = 1e-6


def apply_calibrator(calibrator: Any, scores: np.ndarray) -> np.ndarray:
    """Calibrated probabilities for one class's scores (strictly increasing in
    the score: isotonic steps are broken by the score itself)."""
    scores = np.asarray(scores, dtype=float)
    if isinstance(calibrator, IsotonicRegression):
        return (1 - TIE_BREAK) * _isotonic(calibrator, scores) + TIE_BREAK * np.clip(
            scores, 0.0, 1.0
        )
    if hasattr(calibrator, "coef_") and calibrator.coef_.shape == (1, 1):
        # Platt scaling: the logistic regression's own formula, without its
        # input validation (a sizeable share of scoring one row)
        from scipy.special import expit

        logit = _logit(scores)
        return expit(logit * calibrator.coef_[0, 0] + calibrator.intercept_[0])
    return calibrator.predict_proba(_logit(scores).reshape(-1, 1))[:, 1]


def _isotonic(calibrator: IsotonicRegression, scores: np.ndarray) -> np.ndarray:
    """What ``calibrator.predict`` returns (linear interpolation between its
    thresholds, clipped to the fitted range), without its input validation."""
    if calibrator.out_of_bounds != "clip":
        return calibrator.predict(scores)
    clipped = np.clip(scores, calibrator.X_min_, calibrator.X_max_)
    return np.interp(clipped, calibrator.X_thresholds_, calibrator.y_thresholds_)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def calibrate_scores(calibrators: list[Any], scores: np.ndarray) -> np.ndarray:
    """Apply one calibrator per class column, then renormalise rows to sum to one."""
    if len(calibrators) == 1:  # binary: calibrate the positive column
        positive = apply_calibrator(calibrators[0], scores[:, -1])
        return np.column_stack([1 - positive, positive])
    out = np.column_stack(
        [apply_calibrator(c, scores[:, j]) for j, c in enumerate(calibrators)]
    )
    total = out.sum(axis=1, keepdims=True)
    return np.divide(
        out, total, out=np.full_like(out, 1 / out.shape[1]), where=total > 0
    )


def transformed(steps: list[tuple[str, Any]], x: Any) -> Any:
    """``x`` through fitted pipeline steps as at prediction: resamplers (SMOTE,
    undersampling) act in fitting only, so they are passed over."""
    for _, step in steps:
        if step is None or isinstance(step, str) or hasattr(step, "fit_resample"):
            continue
        x = step.transform(x)
    return x


def pipeline_proba(estimator: Any, x: Any) -> np.ndarray:
    """``estimator.predict_proba(x)``; for a fitted pipeline, its steps applied
    directly (:func:`transformed`): what the pipeline's own method does,
    without its per-call fitted-state checks, a third of a one-row
    prediction's time."""
    steps = getattr(estimator, "steps", None)
    if not steps:
        return np.asarray(estimator.predict_proba(x))
    final = steps[-1][1]
    features = catboost_rows(steps, x)
    if features is None:
        features = transformed(steps[:-1], x)
    fast = linear_proba(final, features)
    if fast is not None:
        return fast
    with scoring_threads(features.shape[0]):
        return np.asarray(final.predict_proba(features))


def catboost_rows(steps: list[tuple[str, Any]], x: Any) -> np.ndarray | None:
    """A few rows for a CatBoost model behind the compiled preprocessing, as
    one object array (numbers and category text, in the fitted column order)
    instead of the pandas frame the pipeline builds: building a one-row frame
    and CatBoost reading it take 0.87 ms of a 1 ms prediction, the array
    0.13 ms, with the same probabilities (tested). None otherwise."""
    from model_training.lib.algorithms.feature_transform import apply_parts
    from model_training.lib.algorithms.input_cells import ROW_WISE

    if len(steps) != 2 or not type(steps[-1][1]).__name__.startswith("CatBoost"):
        return None
    head = steps[0][1]
    parts = getattr(head, "compiled_", None)
    rows = 1 if isinstance(x, dict) else getattr(x, "shape", (ROW_WISE + 1,))[0]
    if parts is None or rows > ROW_WISE:
        return None
    try:
        return apply_parts(parts, x, head.names_, as_frame=False)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None  # the pipeline's own path says what is wrong


def linear_proba(model: Any, x: Any) -> np.ndarray | None:
    """A fitted ``LogisticRegression``'s ``predict_proba`` on a dense finite
    float array, computed with the same operations scikit-learn uses (so the
    same numbers to the bit) but without its input validation, which is 98 %
    of a one-row call (70 of 72 microseconds); None for anything else, which
    then goes through scikit-learn (and its errors)."""
    if (
        type(model) is not LogisticRegression
        or type(x) is not np.ndarray
        or x.dtype != np.float64
        or x.ndim != 2
        or x.shape[1] != model.coef_.shape[1]
        or not np.isfinite(x).all()
    ):
        return None
    from scipy.special import expit
    from sklearn.utils.extmath import softmax

    scores = x @ model.coef_.T + model.intercept_
    if len(model.classes_) > 2:
        return softmax(scores, copy=False)
    scores = scores.reshape(-1)
    expit(scores, out=scores)
    return np.stack([1 - scores, scores], axis=1)


class CalibratedModel(ClassifierMixin, BaseEstimator):
    """A fitted classifier whose probabilities pass through fitted calibrators.

    Args:
        estimator: the fitted pipeline.
        calibrators: one per class (multiclass) or one for the positive class.
        classes: class labels in the column order of ``predict_proba``.
        method: ``sigmoid`` or ``isotonic`` (for reports).
    """

    def __init__(
        self, estimator: Any, calibrators: list[Any], classes: list[Any], method: str
    ) -> None:
        self.estimator = estimator
        self.calibrators = calibrators
        self.classes = classes
        self.method = method

    @property
    def classes_(self) -> np.ndarray:
        return label_array(self.classes)

    def _raw(self, x: Any) -> np.ndarray:
        proba = pipeline_proba(self.estimator, x)
        fitted = [str(c) for c in self.estimator.classes_]
        return proba[:, [fitted.index(str(c)) for c in self.classes]]

    def predict_proba(self, x: Any) -> np.ndarray:
        """Calibrated class probabilities, columns in ``classes`` order."""
        return calibrate_scores(self.calibrators, self._raw(x))

    def predict(self, x: Any) -> np.ndarray:
        """The most probable class."""
        return self.labels_for(self.predict_proba(x))

    def labels_for(self, proba: np.ndarray) -> np.ndarray:
        """What ``predict`` returns, from ``predict_proba``'s output (so a
        caller that needs both scores the rows once)."""
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_is_fitted__(self) -> bool:
        return True


class ThresholdedClassifier(ClassifierMixin, BaseEstimator):
    """A fitted binary classifier that decides at a chosen probability threshold.

    ``predict`` returns the positive class when its probability is at least
    ``threshold``; ``predict_proba`` is the wrapped model's.
    """

    def __init__(self, estimator: Any, threshold: float, positive_class: Any) -> None:
        self.estimator = estimator
        self.threshold = threshold
        self.positive_class = positive_class

    @property
    def classes_(self) -> np.ndarray:
        return label_array(self.estimator.classes_)

    def predict_proba(self, x: Any) -> np.ndarray:
        """The wrapped model's class probabilities."""
        return pipeline_proba(self.estimator, x)

    def predict(self, x: Any) -> np.ndarray:
        """The positive class where P(positive) >= threshold, else the other class."""
        return self.labels_for(self.predict_proba(x))

    def labels_for(self, proba: np.ndarray) -> np.ndarray:
        """What ``predict`` returns, from ``predict_proba``'s output."""
        classes = [str(c) for c in self.classes_]
        position = classes.index(str(self.positive_class))
        positive = np.asarray(proba)[:, position] >= self.threshold
        return self.classes_[np.where(positive, position, 1 - position)]

    def __sklearn_is_fitted__(self) -> bool:
        return True
