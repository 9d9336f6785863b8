"""A regressor fitted on log(1 + target): the search may try it on a skewed,
non-negative target.

Prices, incomes, durations and counts are right-skewed: a model fitted on the
raw values spends its capacity on the few largest ones, and its squared
errors are dominated by them. Fitted on ``log1p(y)``, it models relative
differences; its predictions are mapped back (exp, minus 1), so every
score, the package and the served model are in the target's own units. Whether that
pays is the primary metric's call under the search's own cross-validation:
``target_transform`` is one more searched hyperparameter, ``none`` or
``log1p`` (``tuning.target_transform``).

exp(mean of log y) is the geometric mean, below the mean a squared error
rewards: when the primary metric is one (RMSE, MSE, R²), predictions are
scaled by Duan's (1983) smearing factor, the mean of exp(residual) over the
training rows in log units (at least 1), before 1 is subtracted. On diamonds'
prices (5-fold CV, CatBoost) the factor was 1.013 from the training rows
against 1.014 from the held-out ones, and RMSE 713 became 703.

What the model inside sees is log units: its SHAP values are in
log(1 + target) units (the explanation says so), and boosted trees stop early
on the log of the held-out targets.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from imblearn.pipeline import Pipeline

LOG1P = "log1p"
NONE = "none"
# a non-negative target at least this skewed (Fisher-Pearson, scipy's
# skew) gets log1p as a search choice: a log-normal is far above it (6 at
# sigma 1), diamonds' prices 1.6, Poisson counts of mean 1 about 1; a
# symmetric target (diabetes' disease progression, 0.4) stays raw
MIN_SKEW = 1.0
# predictions are capped at e times the largest training target: a linear
# model extrapolating on the log scale would otherwise overflow expm1
HEADROOM = 1.0
# primary metrics whose best constant prediction is the mean (smearing applies)
MEAN_METRICS = ("root_mean_squared_error", "mean_squared_error", "r2")


def transform_choices(y: np.ndarray, setting: str, regression: bool) -> list[str]:
    """The target transforms the search may try: ``[none, log1p]`` when
    ``setting`` is ``auto`` and the target is non-negative and right-skewed
    (skewness at least :data:`MIN_SKEW`), ``[log1p]`` when the setting asks for
    it and the target allows it, else ``[none]``."""
    if not regression or setting == NONE:
        return [NONE]
    values = np.asarray(y, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 3 or values.min() < 0 or np.ptp(values) == 0:
        return [NONE]
    if setting == LOG1P:
        return [LOG1P]
    from scipy.stats import skew

    return [NONE, LOG1P] if float(skew(values)) >= MIN_SKEW else [NONE]


def searches_log_target(space: dict[str, Any]) -> bool:
    """Whether a search space chooses between the raw and the log target."""
    return len((space.get("target_transform") or {}).get("choices", [])) > 1


class LogTargetPipeline(Pipeline):
    """A pipeline fitted on ``log1p(y)`` whose ``predict`` returns its
    model's output in the target's units (:func:`inverse`), at most e times
    the largest training target. Evaluation sets passed to its model (``model__eval_set``, early
    stopping) are transformed the same way. The steps are those of the
    pipeline it replaces, so everything that reads the model step (early
    stopping, deadlines, importances, SHAP) reads it as before.

    ``smearing``: scale predictions by Duan's smearing factor (for a primary
    metric that rewards the mean); ``smearing_`` holds it after ``fit``."""

    def __init__(
        self,
        steps: Any,
        *,
        smearing: bool = False,
        transform_input: Any = None,
        memory: Any = None,
        verbose: bool = False,
    ) -> None:
        super().__init__(
            steps, transform_input=transform_input, memory=memory, verbose=verbose
        )
        self.smearing = smearing

    def fit(self, X: Any, y: Any = None, **params: Any) -> LogTargetPipeline:
        target = np.asarray(y, dtype=float)
        if np.nanmin(target) < 0:
            raise ValueError(
                "target_transform log1p needs a non-negative target; "
                f"its smallest value is {np.nanmin(target):g}"
            )
        self.log_max_ = float(np.log1p(np.nanmax(target))) + HEADROOM
        for key, value in list(params.items()):
            if key.endswith("__eval_set") and value is not None:
                params[key] = [
                    (xs, np.log1p(np.asarray(ys, float))) for xs, ys in value
                ]
        logged = np.log1p(target)
        super().fit(X, logged, **params)
        self.smearing_ = 1.0
        if self.smearing and hasattr(self._final_estimator, "predict"):
            residuals = logged - np.asarray(super().predict(X), dtype=float)
            factor = float(np.nanmean(np.exp(residuals)))
            # below 1 only when the fit is off-centre on its own rows
            self.smearing_ = max(factor, 1.0) if np.isfinite(factor) else 1.0
        return self

    def predict(self, X: Any, **params: Any) -> np.ndarray:
        """Predictions in the target's units."""
        return inverse(super().predict(X, **params), self.log_max_, self.smearing_)


def inverse(
    log_values: Any, log_max: float = math.inf, smearing: float = 1.0
) -> np.ndarray:
    """Log-scale predictions back in the target's units: exp, times the
    smearing factor, minus 1; the log values clipped to [0, log_max]."""
    clipped = np.clip(np.asarray(log_values, dtype=float), 0.0, log_max)
    if smearing == 1.0:
        return np.expm1(clipped)
    return np.exp(clipped) * smearing - 1.0


def target_transform_of(model: Any) -> str:
    """``log1p`` for a fitted :class:`LogTargetPipeline` (inside the shipped
    wrappers), else ``none``."""
    while not hasattr(model, "steps") and hasattr(model, "estimator"):
        model = model.estimator
    return LOG1P if isinstance(model, LogTargetPipeline) else NONE
