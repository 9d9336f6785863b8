"""CatBoost models that read the text categorical columns of a large frame as
pandas categoricals.

CatBoost hashes every categorical cell it is given. From a column of Python
or Arrow strings it does so cell by cell while it builds its ``Pool``: 0.5 s of
the 0.56 s CatBoost took to score 100,000 rows of the default epic. From a
pandas categorical it hashes each category once and reads the codes: 0.07 s,
and 0.08 s to make the categoricals. The hashes are those of the same text, so
the model and its predictions are the same to the last bit (checked in the
tests); a few rows stay as they are, where the conversion costs more than it
saves.
"""

from __future__ import annotations

from typing import Any

from catboost import CatBoostClassifier, CatBoostRegressor

# Frames of more rows than this are converted; fewer are passed as they are.
CONVERT_ABOVE_ROWS = 64


def as_categoricals(x: Any, names: Any) -> Any:
    """``x`` with its columns ``names`` as pandas categoricals, when it is a
    pandas frame of more than :data:`CONVERT_ABOVE_ROWS` rows; else ``x``."""
    import pandas as pd

    if not names or not isinstance(x, pd.DataFrame) or len(x) <= CONVERT_ABOVE_ROWS:
        return x
    text = [
        c
        for c in names
        if isinstance(c, str)
        and c in x.columns
        and not isinstance(x[c].dtype, pd.CategoricalDtype)
    ]
    if not text:
        return x
    return x.assign(**{c: x[c].astype("category") for c in text})


class _CategoryFrames:
    """Mixin: ``fit`` (its ``eval_set`` too) and the predictions convert the
    model's ``cat_features`` with :func:`as_categoricals`."""

    def _frame(self, x: Any) -> Any:
        return as_categoricals(x, self.get_param("cat_features"))

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> Any:
        held = kwargs.get("eval_set")
        if isinstance(held, tuple):
            kwargs["eval_set"] = (self._frame(held[0]), *held[1:])
        elif isinstance(held, list):
            kwargs["eval_set"] = [
                (self._frame(h[0]), *h[1:]) if isinstance(h, tuple) else h for h in held
            ]
        return super().fit(self._frame(X), y, **kwargs)

    def predict(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        return super().predict(self._frame(data), *args, **kwargs)


class CatBoostCategoricalClassifier(_CategoryFrames, CatBoostClassifier):
    """CatBoost's classifier, text categoricals read as pandas categoricals."""

    def predict_proba(self, X: Any, *args: Any, **kwargs: Any) -> Any:
        return super().predict_proba(self._frame(X), *args, **kwargs)


class CatBoostCategoricalRegressor(_CategoryFrames, CatBoostRegressor):
    """CatBoost's regressor, text categoricals read as pandas categoricals."""
