"""The fitted preprocessing as plain array arithmetic, for scoring.

scikit-learn's ``ColumnTransformer`` validates, slices and re-wraps its input
on every call: about 2 ms for one row of the default epic, ten times the linear
model behind it. Once fitted, the stage's preprocessing is a handful of arrays
(medians, missing-indicator columns, means and scales, sorted categories), so
:class:`FeatureTransformer` compiles them at fit time and transforms a dict, a
polars or a pandas frame with numpy alone. The compiled path is used only for
the exact steps :mod:`preprocessing` builds (checked at fit, then checked to
agree with scikit-learn's own output on training rows); anything else, and any
input it cannot read, goes through ``ColumnTransformer`` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from model_training.lib.algorithms.input_cells import (
    ROW_WISE,
    category_text,
    numbers,
    polars_categories,
    reader,
)

SELF_CHECK_ROWS = 64


@dataclass(frozen=True)
class Numeric:
    """Median imputation, missing indicators and (optionally) scaling."""

    columns: list[str]
    fill: np.ndarray
    indicators: np.ndarray
    mean: np.ndarray | None
    scale: np.ndarray | None

    def apply(self, block: np.ndarray) -> np.ndarray:
        missing = np.isnan(block)
        out = np.where(missing, self.fill, block)
        if len(self.indicators):
            out = np.hstack((out, missing[:, self.indicators].astype(float)))
        if self.mean is not None:
            out -= self.mean
        if self.scale is not None:
            out /= self.scale
        return out


@dataclass(frozen=True)
class Categorical:
    """Missing as a category, then one-hot over the training categories
    (unseen ones all zeros, or the infrequent column); or, with
    ``categories`` None, the text itself.

    ``grouped`` (per column: each training category's output column within
    the column's block, and an unseen category's, -1 for none) is one-hot
    with the infrequent categories in one column, as scikit-learn's
    ``max_categories`` makes it; None is one column per category.
    """

    columns: list[str]
    categories: list[np.ndarray] | None
    grouped: list[tuple[np.ndarray, int]] | None = None
    # per column, each training category's output column and an unseen
    # one's (offsets included); recomputed when unpickled, so a part saved
    # before these existed encodes as a new one does
    slots: list[dict[str, int]] = field(init=False)
    unseen: list[int] = field(init=False)
    targets: list[np.ndarray] = field(init=False)
    width: int = field(init=False)

    def __post_init__(self) -> None:
        slots, unseen, targets, start = [], [], [], 0
        for j, known in enumerate(self.categories or []):
            if self.grouped is None:
                target, other = np.arange(len(known)), -1
            else:
                target, other = self.grouped[j]
                target = np.asarray(target, dtype=int)
            slots.append(
                {c: start + int(t) for c, t in zip(known, target, strict=True)}
            )
            unseen.append(start + other if other >= 0 else -1)
            targets.append(start + target)
            start += int(max(target.max(initial=-1), other)) + 1
        object.__setattr__(self, "slots", slots)
        object.__setattr__(self, "unseen", unseen)
        object.__setattr__(self, "targets", targets)
        object.__setattr__(self, "width", start)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickled: the look-ups are computed again (a part saved by an
        earlier version lacks some of them)."""
        self.__dict__.update(state)
        self.__dict__.setdefault("grouped", None)
        self.__post_init__()

    def apply(self, block: np.ndarray) -> np.ndarray:
        text = category_text(block)
        if self.categories is None:
            return text
        out = np.zeros((len(text), self.width))
        if len(text) <= ROW_WISE:  # a few rows: dictionary look-ups, one write
            hits = [
                r * self.width + column
                for r, row in enumerate(text.tolist())
                for slot, other, cell in zip(self.slots, self.unseen, row, strict=True)
                if (column := slot.get(cell, other)) >= 0
            ]
            out.reshape(-1)[hits] = 1.0
            return out
        rows = np.arange(len(text))
        for j, target in enumerate(self.targets):
            index = self._positions(j, text[:, j])
            found = index >= 0
            out[rows[found], target[index[found]]] = 1.0
            if self.unseen[j] >= 0:
                out[rows[~found], self.unseen[j]] = 1.0
        return out

    def _positions(self, j: int, text: np.ndarray) -> np.ndarray:
        """Each cell's position among column ``j``'s categories, -1 if unseen."""
        import pandas as pd

        return pd.Index(self.categories[j]).get_indexer(text)


def _grouping(encode: OneHotEncoder) -> list[tuple[np.ndarray, int]] | None:
    """Where the fitted encoder writes each category and an unseen one, when
    it grouped infrequent categories (None when it did not)."""
    infrequent = getattr(encode, "infrequent_categories_", None)
    if infrequent is None or all(group is None for group in infrequent):
        return None
    out = []
    for known, group in zip(encode.categories_, infrequent, strict=True):
        rare = (
            np.isin(known, group) if group is not None else np.zeros(len(known), bool)
        )
        target = np.cumsum(~rare) - 1
        n_frequent = int((~rare).sum())
        target[rare] = n_frequent
        unseen = (
            n_frequent
            if group is not None and encode.handle_unknown == "infrequent_if_exist"
            else -1
        )
        out.append((target, unseen))
    return out


def _numeric(step: Any, columns: list[str]) -> Numeric | None:
    steps = step.steps if isinstance(step, Pipeline) else [("impute", step)]
    impute, *rest = (s for _, s in steps)
    if not (
        type(impute) is SimpleImputer
        and impute.keep_empty_features
        and isinstance(impute.missing_values, float)
        and np.isnan(impute.missing_values)
        and len(rest) <= 1
    ):
        return None
    indicator = getattr(impute, "indicator_", None)
    if indicator is not None and indicator.features != "missing-only":
        return None
    mean = scale = None
    if rest:
        scaler = rest[0]
        if type(scaler) is not StandardScaler:
            return None
        mean = scaler.mean_ if scaler.with_mean else None
        scale = scaler.scale_ if scaler.with_std else None
    return Numeric(
        columns,
        np.asarray(impute.statistics_, dtype=float),
        np.asarray(indicator.features_ if indicator is not None else [], dtype=int),
        mean,
        scale,
    )


def _categorical(step: Any, columns: list[str]) -> Categorical | None:
    steps = step.steps if isinstance(step, Pipeline) else [("fill", step)]
    fill, *rest = (s for _, s in steps)
    if not getattr(fill, "fills_missing_categories", False) or len(rest) > 1:
        return None
    if not rest:
        return Categorical(columns, None)
    encode = rest[0]
    if not (
        type(encode) is OneHotEncoder
        and encode.handle_unknown in ("ignore", "infrequent_if_exist")
        and encode.drop is None
        and not encode.sparse_output
        and encode.dtype in (np.float64, float)
    ):
        return None
    return Categorical(
        columns,
        [np.asarray(c, dtype=object) for c in encode.categories_],
        _grouping(encode),
    )


def compile_parts(transformer: ColumnTransformer) -> list[Numeric | Categorical] | None:
    """The fitted transformer's parts, or None when a step is not one the
    compiled path reproduces."""
    parts: list[Numeric | Categorical] = []
    for name, step, columns in transformer.transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        if not all(isinstance(c, str) for c in columns):
            return None
        names = list(columns)
        part = _numeric(step, names) if name == "num" else None
        part = _categorical(step, names) if name == "cat" else part
        if part is None:
            return None
        parts.append(part)
    return parts or None


def apply_parts(
    parts: list[Numeric | Categorical], x: Any, names: np.ndarray, as_frame: bool
) -> Any:
    """The compiled transform of ``x``: a float array, or (``as_frame``) a
    pandas frame with numeric and text (or, from a large polars frame,
    categorical) columns."""
    read = reader(x)

    def block(p: Numeric | Categorical) -> np.ndarray:
        cells = read(p.columns)
        return p.apply(numbers(cells) if isinstance(p, Numeric) else cells)

    if not as_frame:
        blocks = [block(p) for p in parts]
        return blocks[0] if len(blocks) == 1 else np.hstack(blocks)
    import pandas as pd

    values: list[Any] = []
    for p in parts:
        done = (
            polars_categories(x, p.columns)
            if isinstance(p, Categorical) and p.categories is None
            else None
        )
        if done is None:
            out = block(p)
            done = [out[:, j] for j in range(out.shape[1])]
        values.extend(done)
    index = x.index if isinstance(x, pd.DataFrame) else None
    return pd.DataFrame(dict(zip(names, values, strict=True)), index=index)


def same_output(fast: Any, slow: Any) -> bool:
    """The compiled output equals scikit-learn's (values, columns, dtypes)."""
    if hasattr(slow, "columns"):
        return (
            hasattr(fast, "columns")
            and list(fast.columns) == list(slow.columns)
            and list(fast.dtypes) == list(slow.dtypes)
            and all(
                np.array_equal(
                    fast[c].to_numpy(),
                    slow[c].to_numpy(),
                    equal_nan=slow[c].dtype.kind == "f",
                )
                for c in slow.columns
            )
        )
    slow = np.asarray(slow)
    return (
        isinstance(fast, np.ndarray)
        and fast.shape == slow.shape
        and fast.dtype == slow.dtype
        and np.array_equal(fast, slow, equal_nan=True)
    )


class FeatureTransformer(ColumnTransformer):
    """``ColumnTransformer`` that, once fitted, transforms with the compiled
    arrays (:func:`compile_parts`) and falls back to scikit-learn otherwise.

    A one-row dict (``{"age": 41, "housing": "own"}``) is accepted too.
    ``transform`` and ``fit_transform`` are attached below the class, so that
    scikit-learn's ``set_output`` wrapper does not copy and rename the frame
    the compiled path already built (their fallbacks are the wrapped
    ``ColumnTransformer`` methods, which honour ``set_output``).
    """

    def _as_frame(self) -> bool:
        config = getattr(self, "_sklearn_output_config", {}).get("transform", "default")
        return config == "pandas"


def _fit_transform(
    self: FeatureTransformer, X: Any, y: Any = None, **params: Any
) -> Any:
    out = ColumnTransformer.fit_transform(self, X, y, **params)
    self.compiled_ = None
    self.names_ = self.get_feature_names_out()
    parts = compile_parts(self)
    if parts is not None and hasattr(X, "columns"):
        head = (
            X[:SELF_CHECK_ROWS]
            if isinstance(X, pl.DataFrame)
            else X.iloc[:SELF_CHECK_ROWS]
        )
        try:
            fast = apply_parts(parts, head, self.names_, self._as_frame())
            agrees = same_output(fast, ColumnTransformer.transform(self, head))
        except (TypeError, ValueError, KeyError):
            agrees = False
        self.compiled_ = parts if agrees else None
    return out


def _transform(self: FeatureTransformer, X: Any, **params: Any) -> Any:
    parts = getattr(self, "compiled_", None)
    if parts is not None and not params:
        try:
            return apply_parts(parts, X, self.names_, self._as_frame())
        except (
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
            pl.exceptions.PolarsError,
        ):
            pass  # scikit-learn's own path says what is wrong with the input
    if isinstance(X, dict):
        X = pl.DataFrame({k: np.atleast_1d(v) for k, v in X.items()})
    return ColumnTransformer.transform(self, X, **params)


_fit_transform.__doc__ = ColumnTransformer.fit_transform.__doc__
_transform.__doc__ = ColumnTransformer.transform.__doc__
FeatureTransformer.fit_transform = _fit_transform  # type: ignore[method-assign]
FeatureTransformer.transform = _transform  # type: ignore[method-assign]
