"""Metrics of many bootstrap resamples at once, from each resample's row counts.

A resample that draws row ``i`` ``c_i`` times has the metric of the test rows
weighted by ``c``. Most of the stage's metrics are functions of weighted sums:
a confusion matrix (accuracy, precision, recall, F1, balanced accuracy,
expected cost), a weighted mean of per-row losses (Brier, log-loss, absolute
and squared errors, R²), or weighted sums over the rows in score order (ROC-AUC,
average precision). For these the metric of a whole batch of resamples is a
few array operations on the batch's count matrix instead of one scikit-learn
call per resample and metric (at 200 test rows and eight metrics, 4 s of
scikit-learn calls for BCa's 1,200 evaluations; at 200,000 rows, each ROC-AUC
sorts the resample again).

The values are those of :func:`~model_training.lib.core.metrics.compute_metrics`:
a resample where a metric is degenerate (one class only, no variance) is
returned as not computed, for the caller to score with the metric's own
function; and :func:`counted_metrics` checks its first resample against that
function, dropping a metric whose values disagree (to 1e-9).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from model_training.lib.core.metrics import compute_metrics

# drawn rows per batch of resamples (each a few 8-byte cells): 2 million
BATCH_CELLS = 2_000_000
AGREEMENT = 1e-9


class _Coded:
    """The test rows as the formulas need them (labels as class positions,
    the positive class's scores in rank order), computed once."""

    def __init__(self, y, y_pred, y_score, context) -> None:
        self.y, self.pred, self.score, self.context = y, y_pred, y_score, context
        classes = context.get("classes")
        self.k = len(classes) if classes else 0
        self.labelled = bool(self.k) and _codes(y, self.k) and _codes(y_pred, self.k)
        self._cells: np.ndarray | None = None
        self._ranked: tuple[np.ndarray, int, np.ndarray] | None = None

    def cells(self) -> np.ndarray:
        """Each row's confusion-matrix cell: true class * k + predicted class."""
        if self._cells is None:
            self._cells = self.y.astype(np.int64) * self.k + self.pred.astype(np.int64)
        return self._cells

    def positive(self) -> int | None:
        code = self.context.get("positive_class")
        return int(code) if self.labelled and code is not None else None

    def positive_score(self) -> np.ndarray | None:
        positive = self.positive()
        if positive is None or self.score is None:
            return None
        score = np.asarray(self.score, dtype=float)
        column = score if score.ndim == 1 else score[:, positive]
        return column if np.isfinite(column).all() else None

    def ranked(self) -> tuple[np.ndarray, int, np.ndarray]:
        """Each row's run of tied scores (0 for the lowest score), the number
        of runs, and 1 for a row of the positive class (else 0)."""
        if self._ranked is None:
            score = self.positive_score()
            distinct, run = np.unique(score, return_inverse=True)
            truth = (self.y == self.positive()).astype(np.int64)
            self._ranked = (run.astype(np.int64), len(distinct), truth)
        return self._ranked


class _Batch:
    """A batch of resamples (a line of row positions each) and the sums the
    formulas share, computed once per batch."""

    def __init__(self, rows: np.ndarray, coded: _Coded) -> None:
        self.rows, self.coded = rows, coded
        self.size = rows.shape[1]
        self._table: np.ndarray | None = None
        self._sums: tuple[np.ndarray, np.ndarray] | None = None

    def mean(self, values: np.ndarray) -> np.ndarray:
        """The mean of per-row ``values`` over each resample."""
        return values[self.rows].mean(axis=1)

    def _per_resample(self, keys: np.ndarray, width: int) -> np.ndarray:
        """How often each key (below ``width``) is drawn, per resample (one
        resample at a time: its counts stay in the processor's cache)."""
        out = np.empty((len(keys), width))
        for line, drawn in enumerate(keys):
            out[line] = np.bincount(drawn, minlength=width)
        return out

    def table(self) -> np.ndarray:
        """Each resample's confusion matrix, (resample, true, predicted)."""
        if self._table is None:
            k = self.coded.k
            drawn = self._per_resample(self.coded.cells()[self.rows], k * k)
            self._table = drawn.reshape(len(self.rows), k, k)
        return self._table

    def score_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Per resample, the positive and the negative rows drawn in each run
        of tied scores (lowest score first)."""
        if self._sums is None:
            run, width, truth = self.coded.ranked()
            keys = run * 2 + truth  # (run, class) pairs: one count for both
            drawn = self._per_resample(keys[self.rows], 2 * width)
            drawn = drawn.reshape(len(self.rows), width, 2)
            self._sums = (drawn[:, :, 1], drawn[:, :, 0])
        return self._sums


def _codes(values: np.ndarray, k: int) -> bool:
    values = np.asarray(values)
    if values.dtype.kind not in "iu" or values.size == 0:
        return False
    return bool(values.min() >= 0 and values.max() < k)


def _ratio(top: np.ndarray, bottom: np.ndarray, empty: float = 0.0) -> np.ndarray:
    out = np.full(np.broadcast(top, bottom).shape, empty, dtype=float)
    np.divide(top, bottom, out=out, where=bottom > 0)
    return out


def _binary_cells(batch: _Batch):
    table = batch.table()
    p = batch.coded.positive()
    tp = table[:, p, p]
    actual = table[:, p, :].sum(axis=1)
    flagged = table[:, :, p].sum(axis=1)
    return tp, actual - tp, flagged - tp, table.sum(axis=(1, 2))


def _precision(batch: _Batch):
    tp, _fn, fp, _total = _binary_cells(batch)
    return _ratio(tp, tp + fp), None


def _recall(batch: _Batch):
    tp, fn, _fp, _total = _binary_cells(batch)
    return _ratio(tp, tp + fn), None


def _f1(batch: _Batch):
    tp, fn, fp, _total = _binary_cells(batch)
    return _ratio(2 * tp, 2 * tp + fn + fp), None


def _false_positive_rate(batch: _Batch):
    tp, fn, fp, total = _binary_cells(batch)
    return _ratio(fp, total - tp - fn, empty=np.nan), None


def _accuracy(batch: _Batch):
    table = batch.table()
    return np.trace(table, axis1=1, axis2=2) / table.sum(axis=(1, 2)), None


def _per_class(batch: _Batch):
    table = batch.table()
    hits = np.diagonal(table, axis1=1, axis2=2)
    return hits, table.sum(axis=2), table.sum(axis=1)


def _balanced_accuracy(batch: _Batch):
    hits, support, _ = _per_class(batch)
    present = support > 0
    recall = _ratio(hits, support)
    return (recall * present).sum(axis=1) / present.sum(axis=1), None


def _f1_macro(batch: _Batch):
    hits, support, flagged = _per_class(batch)
    present = (support + flagged) > 0
    f1 = _ratio(2 * hits, support + flagged)
    return (f1 * present).sum(axis=1) / present.sum(axis=1), None


def _f1_weighted(batch: _Batch):
    hits, support, flagged = _per_class(batch)
    f1 = _ratio(2 * hits, support + flagged)
    return (f1 * support).sum(axis=1) / support.sum(axis=1), None


def _mean_of(per_row: Callable[[_Coded], np.ndarray | None]):
    """The resample mean of a per-row loss (None: not for these rows)."""

    def metric(batch: _Batch):
        values = per_row(batch.coded)
        return (None, None) if values is None else (batch.mean(values), None)

    return metric


def _squared_error(coded: _Coded):
    if coded.k:
        return None
    return (np.asarray(coded.y, float) - np.asarray(coded.pred, float)) ** 2


def _absolute_error(coded: _Coded):
    if coded.k:
        return None
    return np.abs(np.asarray(coded.y, float) - np.asarray(coded.pred, float))


def _brier(coded: _Coded):
    score = coded.positive_score()
    if score is None:
        return None
    return ((coded.y == coded.positive()).astype(float) - score) ** 2


def _log_loss(coded: _Coded):
    if not coded.labelled or coded.score is None or np.ndim(coded.score) != 2:
        return None
    score = np.asarray(coded.score, dtype=float)
    if score.shape[1] != coded.k:
        return None
    eps = np.finfo(score.dtype).eps
    true_class = score[np.arange(len(score)), coded.y.astype(np.int64)]
    return -np.log(np.clip(true_class, eps, 1 - eps))


def _expected_cost(coded: _Coded):
    cost = coded.context.get("cost_matrix")
    if cost is None or not coded.labelled:
        return None
    index = {label: i for i, label in enumerate(cost["labels"])}
    try:
        where = [index[c] for c in range(coded.k)]
    except KeyError:
        return None
    table = np.asarray(cost["costs"], dtype=float)[np.ix_(where, where)]
    return table[coded.y.astype(np.int64), coded.pred.astype(np.int64)]


def _root_mean_squared(batch: _Batch):
    mean, _ = _mean_of(_squared_error)(batch)
    return (None, None) if mean is None else (np.sqrt(mean), None)


def _r2(batch: _Batch):
    coded = batch.coded
    if coded.k:
        return None, None
    y = np.asarray(coded.y, dtype=float)
    centred = y - y.mean()  # sums of squares about the mean: well conditioned
    residual = batch.mean((y - np.asarray(coded.pred, float)) ** 2)
    square = batch.mean(centred**2)
    total = square - batch.mean(centred) ** 2
    degenerate = total <= 1e-12 * np.maximum(square, 1e-300)
    return 1 - _ratio(residual, total, empty=np.nan), degenerate


def _roc_auc(batch: _Batch):
    """The Mann-Whitney statistic: each positive wins against the negatives
    scored below it and half-wins against those tied with it."""
    if batch.coded.positive_score() is None:
        return None, None
    positives, negatives = batch.score_sums()
    below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    wins = (positives * (below + 0.5 * negatives)).sum(axis=1)
    return _ratio(wins, pairs, empty=np.nan), pairs == 0


def _average_precision(batch: _Batch):
    """Precision at each distinct score (from the highest down), weighted by
    the share of the positives it adds, as scikit-learn's average precision."""
    if batch.coded.positive_score() is None:
        return None, None
    positives, negatives = batch.score_sums()
    gained = positives[:, ::-1]
    hits = np.cumsum(gained, axis=1)
    flagged = hits + np.cumsum(negatives[:, ::-1], axis=1)
    total = hits[:, -1]
    precision = _ratio(hits, flagged)
    return _ratio((gained * precision).sum(axis=1), total, empty=np.nan), total == 0


def _labelled(formula, positive: bool = False):
    """``formula`` where the labels are class positions (and, with
    ``positive``, a positive class is named); not computed otherwise."""

    def metric(batch: _Batch):
        coded = batch.coded
        if not coded.labelled or (positive and coded.positive() is None):
            return None, None
        return formula(batch)

    return metric


# metric name -> (batch) -> (values or None, degenerate resamples or None)
FORMULAS: dict[str, Callable[..., tuple[np.ndarray | None, np.ndarray | None]]] = {
    "accuracy": _labelled(_accuracy),
    "balanced_accuracy": _labelled(_balanced_accuracy),
    "precision": _labelled(_precision, positive=True),
    "recall": _labelled(_recall, positive=True),
    "detection_rate": _labelled(_recall, positive=True),
    "f1": _labelled(_f1, positive=True),
    "f1_macro": _labelled(_f1_macro),
    "f1_weighted": _labelled(_f1_weighted),
    "false_positive_rate": _labelled(_false_positive_rate, positive=True),
    "expected_cost": _mean_of(_expected_cost),
    "roc_auc": _roc_auc,
    "pr_auc": _average_precision,
    "brier_loss": _mean_of(_brier),
    "log_loss": _mean_of(_log_loss),
    "mean_absolute_error": _mean_of(_absolute_error),
    "mean_squared_error": _mean_of(_squared_error),
    "root_mean_squared_error": _root_mean_squared,
    "r2": _r2,
}


def counted_metrics(
    names: list[str],
    rows: np.ndarray,
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    context: dict[str, Any],
) -> dict[str, np.ndarray]:
    """The metrics of ``names`` of each resample
    (a line of row positions in ``rows``), as ``compute_metrics`` gives them.

    Batches of resamples are counted together (at most :data:`BATCH_CELLS`
    counts at a time); a degenerate resample is scored by the metric's own
    function. A metric with no formula here, or none for these rows (text
    labels, no scores), or whose first resample disagrees with its own
    function, is left out of the result: the caller scores it resample by
    resample."""
    y, y_pred = np.asarray(y), np.asarray(y_pred)
    coded = _Coded(y, y_pred, y_score, context)
    rows = np.asarray(rows, dtype=np.int64)
    out = {name: np.empty(len(rows)) for name in names if name in FORMULAS}
    step = max(1, BATCH_CELLS // max(rows.shape[1], 1))
    for start in range(0, len(rows), step):
        batch = rows[start : start + step]
        shared = _Batch(batch, coded)
        for name in list(out):
            values, degenerate = FORMULAS[name](shared)
            if values is None:
                del out[name]
                continue
            values = np.array(values, dtype=float)
            redo = set() if degenerate is None else set(np.flatnonzero(degenerate))
            checked = {0} if start == 0 else set()
            for i in sorted(redo | checked):
                exact = _exact(name, batch[i], y, y_pred, y_score, context)
                if i in checked and i not in redo and not _agrees(values[i], exact):
                    del out[name]
                    break
                values[i] = exact
            else:
                out[name][start : start + len(batch)] = values
    return out


def _exact(name, take, y, y_pred, y_score, context) -> float:
    """The metric of one resample, by its own function."""
    with warnings.catch_warnings():  # a degenerate resample: NaN, as intended
        warnings.simplefilter("ignore")
        return compute_metrics(
            [name],
            y[take],
            y_pred[take],
            None if y_score is None else y_score[take],
            context,
        )[name]


def _agrees(value: float, exact: float) -> bool:
    if np.isnan(exact) or np.isnan(value):
        return bool(np.isnan(exact) and np.isnan(value))
    return abs(value - exact) <= AGREEMENT * max(1.0, abs(exact))
