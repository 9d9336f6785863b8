"""Feature selection steps (stage step 5.3), placed inside the CV pipeline.

Each selector is fitted on the training rows of a fold, after preprocessing, so
selection never sees validation or test rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from model_training.lib.core.params import FeatureSelectionOptions

KINDS = ("none", "importance", "rfe", "l1", "correlation")


class CorrelationFilter(TransformerMixin, BaseEstimator):
    """Drop numeric columns whose absolute Pearson correlation with an earlier kept
    column exceeds ``threshold``. Non-numeric columns (native categoricals) pass through.
    """

    def __init__(self, threshold: float = 0.95) -> None:
        self.threshold = threshold

    def fit(self, x: Any, y: Any = None) -> CorrelationFilter:
        """Learn which columns to keep."""
        columns = _columns(x)
        numeric = [i for i, c in enumerate(columns) if _is_numeric(x, i, c)]
        keep = set(range(len(columns))) - set(numeric)
        values = _numeric_matrix(x, numeric)
        kept: list[int] = []
        if values.shape[1]:
            with np.errstate(invalid="ignore", divide="ignore"):
                corr = np.abs(np.corrcoef(values, rowvar=False))
            corr = np.atleast_2d(np.nan_to_num(corr))
            for j in range(len(numeric)):
                if all(corr[j, k] <= self.threshold for k in kept):
                    kept.append(j)
        keep |= {numeric[j] for j in kept}
        self.support_ = np.array([i in keep for i in range(len(columns))])
        self.n_features_in_ = len(columns)
        return self

    def transform(self, x: Any) -> Any:
        """Keep the selected columns."""
        check_is_fitted(self, "support_")
        if hasattr(x, "iloc"):
            return x.loc[:, self.support_]
        return np.asarray(x)[:, self.support_]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the kept columns."""
        names = np.asarray(
            input_features
            if input_features is not None
            else [f"x{i}" for i in range(self.n_features_in_)]
        )
        return names[self.support_]


def _columns(x: Any) -> list[Any]:
    return (
        list(x.columns)
        if hasattr(x, "columns")
        else list(range(np.asarray(x).shape[1]))
    )


def _is_numeric(x: Any, index: int, column: Any) -> bool:
    if hasattr(x, "dtypes"):
        return np.issubdtype(np.asarray(x.iloc[:, index]).dtype, np.number)
    return np.issubdtype(np.asarray(x).dtype, np.number)


def _numeric_matrix(x: Any, numeric: list[int]) -> np.ndarray:
    if hasattr(x, "iloc"):
        return x.iloc[:, numeric].to_numpy(dtype=float)
    return np.asarray(x, dtype=float)[:, numeric]


def make_selector(
    kind: str,
    classification: bool,
    seed: int,
    options: FeatureSelectionOptions | None,
    *,
    native: bool,
) -> Any:
    """Build a selection step, or None for ``none``.

    Native-categorical models (CatBoost) see text columns, which only the
    correlation filter can handle; other kinds are skipped for them (their own
    regularisation and importance-driven splits do the job).
    """
    if kind not in KINDS:
        raise ValueError(
            f"unknown feature_selection '{kind}'; use one of {', '.join(KINDS)}"
        )
    if kind == "none":
        return None
    if options is None:
        raise ValueError(f"feature_selection '{kind}' needs its options")
    if kind == "correlation":
        return CorrelationFilter(threshold=options.correlation_threshold)
    if native:
        return None
    from sklearn.feature_selection import RFE, SelectFromModel

    from model_training.lib.core.threads import fit_threads

    if kind == "importance":
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        forest = ExtraTreesClassifier if classification else ExtraTreesRegressor
        return SelectFromModel(
            forest(n_estimators=100, random_state=seed, n_jobs=fit_threads()),
            threshold=options.importance_threshold,
        )
    if kind == "rfe":
        from sklearn.linear_model import LogisticRegression, Ridge

        base = (
            LogisticRegression(max_iter=5000, random_state=seed)
            if classification
            else Ridge()
        )
        return RFE(base, n_features_to_select=options.rfe_fraction, step=0.1)
    from sklearn.linear_model import Lasso, LogisticRegression

    if classification:
        base = LogisticRegression(
            l1_ratio=1.0,
            solver="liblinear",
            C=options.l1_C,
            random_state=seed,
        )
    else:
        base = Lasso(
            alpha=options.l1_alpha,
            random_state=seed,
            max_iter=20000,
        )
    return SelectFromModel(base)
