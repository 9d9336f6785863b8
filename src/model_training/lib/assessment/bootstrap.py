"""Confidence intervals of test metrics: scipy.stats.bootstrap (BCa) for row-wise metrics, a distinct-row percentile loop for pairwise clustering criteria."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from model_training.lib.assessment.resampled import counted_metrics
from model_training.lib.core.metrics import METRICS, coded_labels, compute_metrics
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.core.threads import in_workers, process_workers

logger = logging.getLogger(__name__)

# BCa needs a jackknife pass (one metric computation per test row, on top of
# the resamples): above this many rows the percentile method is used, whose
# bias correction matters less with more rows (at 2,000 test rows and four
# metrics, BCa took 23 s of a 10,000-row run)
BCA_MAX_ROWS = 1000
# resamples are drawn and scored in batches of at most this many row indices
# (at 200,000 test rows, all 1,000 at once were 1.6 GB of indices per copy)
RESAMPLE_BATCH_CELLS = 4_000_000


def bootstrap_ci(
    names: list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    plan: ModelingPlan,
    n_boot: int,
    seed: int,
    level: float = 0.95,
    estimates: dict[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """Bootstrap confidence intervals of metrics over test rows.

    Row-wise metrics go through ``scipy.stats.bootstrap``: bias-corrected and
    accelerated (BCa) up to :data:`BCA_MAX_ROWS` test rows, percentile above.
    A metric undefined on some resamples (ROC-AUC of a resample with one class)
    gets the percentile interval of the resamples where it is defined.

    Metrics that compare rows with each other (silhouette and the other
    internal clustering criteria) are computed on the distinct rows of each
    resample (a duplicated row sits at distance zero from its twin and would
    inflate them), which scipy's resampling cannot do; they use this module's
    percentile loop.

    ``estimates`` are the full-sample values when the caller has them already
    (computed here otherwise: for clustering criteria that is an O(n^2) pass).
    An interval must contain its estimate; where a biased bootstrap
    distribution puts it outside, the interval is widened and says so (``note``).
    """
    pairwise = [m for m in names if METRICS[m].pairwise]
    plain = [m for m in names if m not in pairwise]
    if estimates is None:
        estimates = compute_metrics(names, y, y_pred, y_score, plan.metric_context)
    found: dict[str, tuple[float, float, int, str]] = {}
    started = time.monotonic()
    logger.info(
        "Bootstrap: %d resamples of %d test rows for %d metric(s)...",
        n_boot,
        len(y),
        len(names),
    )
    if plain:
        y_coded, pred_coded, context = coded_labels(y, y_pred, plan.metric_context)
        found.update(
            _scipy_intervals(
                plain, y_coded, pred_coded, y_score, context, n_boot, seed, level
            )
        )
    if pairwise:
        found.update(
            _distinct_row_intervals(
                pairwise, y, y_pred, y_score, plan, n_boot, seed, level
            )
        )
    logger.info("Bootstrap: done in %.0f s", time.monotonic() - started)
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        if name not in found:
            continue
        low, high, n_used, method = found[name]
        interval: dict[str, Any] = {
            "low": low,
            "high": high,
            "level": level,
            "n_boot": n_used,
            "method": method,
        }
        estimate = estimates.get(name, float("nan"))
        if np.isfinite(estimate) and not low <= estimate <= high:
            interval["low"], interval["high"] = min(low, estimate), max(high, estimate)
            interval["note"] = (
                f"the bootstrap interval ({low:.4g} to {high:.4g}) did not contain "
                "the estimate (a biased bootstrap distribution for this metric); "
                "widened to include it"
            )
        out[name] = interval
    return out


def seconds_per_resample(
    names: list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    plan: ModelingPlan,
    seed: int,
    probe: int = 4,
) -> float:
    """The measured seconds one resample takes, drawn and scored as
    :func:`bootstrap_ci` draws and scores them: its row indices drawn and
    copied as scipy does, a batch through the count formulas, every other
    metric by its own function (one pass of every metric's own function
    overstated it about twenty times at 200,000 test rows; leaving the draw
    out understated it about three times)."""
    y_coded, pred_coded, context = coded_labels(y, y_pred, plan.metric_context)
    started = time.perf_counter()
    drawn = np.random.default_rng(seed).integers(0, len(y), (probe, len(y)))
    rows = np.arange(len(y))[drawn].astype(int)
    plain = [m for m in names if not METRICS[m].pairwise]
    counted = counted_metrics(plain, rows, y_coded, pred_coded, y_score, context)
    seconds = (time.perf_counter() - started) / probe
    rest = [m for m in names if m not in counted]
    if rest:
        started = time.perf_counter()
        take = rows[0]
        compute_metrics(
            rest,
            y_coded[take],
            pred_coded[take],
            None if y_score is None else y_score[take],
            context,
        )
        seconds += time.perf_counter() - started
    return seconds


def _metrics_on(
    take: np.ndarray,
    names: list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    plan: ModelingPlan,
) -> dict[str, float]:
    """The metrics on the rows ``take`` (one resample)."""
    return compute_metrics(
        names,
        y[take],
        y_pred[take],
        None if y_score is None else y_score[take],
        plan.metric_context,
    )


def _metrics_of_resamples(
    rows: np.ndarray,
    names: list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    context: dict[str, Any],
) -> np.ndarray:
    """The metrics (rows of the result) of each resample (its columns)."""
    import warnings

    out = np.empty((len(names), len(rows)))
    with warnings.catch_warnings():  # degenerate resamples give NaN, handled later
        warnings.simplefilter("ignore")
        for j, take in enumerate(rows):
            values = compute_metrics(
                names,
                y[take],
                y_pred[take],
                None if y_score is None else y_score[take],
                context,
            )
            out[:, j] = [values[name] for name in names]
    return out


def _scipy_intervals(
    names: list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    context: dict[str, Any],
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, tuple[float, float, int, str]]:
    import warnings

    from scipy.stats import bootstrap

    data_bytes = sum(
        a.nbytes for a in (np.asarray(y), np.asarray(y_pred), y_score) if a is not None
    )

    def statistic(rows: np.ndarray, axis: int = -1) -> np.ndarray:
        # scipy hands over every resample at once (rows of row indices): the
        # metrics with a formula over row counts score them all at once; the
        # others are scored in the run's worker processes, in order, so the
        # intervals do not depend on how many there are
        rows = np.asarray(rows).astype(int)
        flat = rows.reshape(-1, rows.shape[-1])
        values = np.empty((len(names), len(flat)))
        counted = counted_metrics(names, flat, y, y_pred, y_score, context)
        for i, name in enumerate(names):
            if name in counted:
                values[i] = counted[name]
        rest = [i for i, name in enumerate(names) if name not in counted]
        if rest:
            others = [names[i] for i in rest]
            workers = process_workers(len(flat) // 50, data_bytes * 2)
            chunks = np.array_split(flat, max(workers, 1))
            tasks = [(c, others, y, y_pred, y_score, context) for c in chunks if len(c)]
            values[rest] = np.concatenate(
                in_workers(_metrics_of_resamples, tasks, workers), axis=1
            )
        return values.reshape(len(names), *rows.shape[:-1])

    n = len(y)
    method = "BCa" if n <= BCA_MAX_ROWS else "percentile"
    with warnings.catch_warnings():  # degenerate resamples are handled below
        warnings.simplefilter("ignore")
        result = bootstrap(
            (np.arange(n),),
            statistic,
            n_resamples=n_boot,
            vectorized=True,
            confidence_level=level,
            method=method,
            rng=seed,
            batch=max(1, RESAMPLE_BATCH_CELLS // max(n, 1)),
        )
    distribution = np.atleast_2d(result.bootstrap_distribution)
    lows = np.atleast_1d(result.confidence_interval.low)
    highs = np.atleast_1d(result.confidence_interval.high)
    alpha = (1 - level) / 2
    out = {}
    for i, name in enumerate(names):
        values = distribution[i][np.isfinite(distribution[i])]
        if len(values) < max(10, n_boot // 2):
            continue
        if len(values) == n_boot and np.isfinite(lows[i]) and np.isfinite(highs[i]):
            out[name] = (float(lows[i]), float(highs[i]), n_boot, method)
        else:
            out[name] = (
                float(np.quantile(values, alpha)),
                float(np.quantile(values, 1 - alpha)),
                len(values),
                "percentile (resamples where the metric is defined)",
            )
    return out


def _distinct_row_intervals(
    names: list[str],
    y: np.ndarray,
    y_pred: np.ndarray,
    y_score: np.ndarray | None,
    plan: ModelingPlan,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, tuple[float, float, int, str]]:
    rng = np.random.default_rng(seed)
    n = len(y)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(n_boot):
        take = np.unique(rng.integers(0, n, n))
        values = _metrics_on(take, names, y, y_pred, y_score, plan)
        for name, value in values.items():
            if np.isfinite(value):
                samples[name].append(value)
    alpha = (1 - level) / 2
    return {
        name: (
            float(np.quantile(values, alpha)),
            float(np.quantile(values, 1 - alpha)),
            len(values),
            "percentile over the distinct rows of each resample",
        )
        for name, values in samples.items()
        if len(values) >= max(10, n_boot // 2)
    }
