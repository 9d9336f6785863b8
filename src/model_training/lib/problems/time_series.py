"""Time-series forecasting: forecasts by timestamp over a horizon, with intervals.

Validation, test and cross-validation folds are scored **walk-forward**: the
span is cut into blocks of ``forecast_horizon`` periods; each block is
forecast from the actual values before it (the model's parameters stay as
fitted), so every row is forecast exactly once, at a known horizon step, and
no forecast sees a value from its own block or later.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from imblearn.pipeline import Pipeline
from sklearn.base import clone

from model_training.lib.algorithms.interval_calibration import interval_calibration
from model_training.lib.core.plan import ModelingPlan
from model_training.lib.problems.base import (
    ModelSpec,
    ProblemType,
    mean_of_folds,
)
from model_training.lib.problems.walk_forward import (
    INTERVAL_LEVEL,
    fold_forecasts,
    forecaster_of,
    walk_forward,
)
from model_training.lib.reporting.model_card import fmt


class TimeSeries(ProblemType):
    """Forecast a numeric target over a horizon, from its past (and known covariates)."""

    name = "time_series"
    task = "time_series"
    explainable = False
    predicts_rows_it_saw = False
    shap_note = (
        "a forecast depends on the series' own past (lags), not on a row's "
        "features alone; see native (the fitted parameters) and the residual figures"
    )

    def card_output(self, classes: Any) -> str:
        return (
            "`predict` gives the forecast for each row's period (its time column), "
            "up to the horizon after the last observed period."
        )

    def card_sections(
        self, spec: dict[str, Any], performance: dict[str, Any]
    ) -> list[str]:
        """Lead time, horizon, seasonality, baselines on test, caveats."""
        primary = spec["primary_metric"]
        forecast = performance.get("forecast") or {}
        lines = [
            "### Forecasts",
            "",
            f"- Horizon: up to **{spec.get('forecast_horizon')}** periods of `{spec.get('frequency')}` "
            f"after the last observed period (lead time 1 to {spec.get('forecast_horizon')} periods); "
            "multi-step forecasts are recursive (each step's forecast feeds the next).",
            f"- Seasonality: period {spec.get('seasonal_period') or 1}; the test metrics come from "
            "walk-forward blocks of one horizon, each forecast from the actual values before it.",
        ]
        interval = forecast.get("interval") or {}
        calibrated = forecast.get("interval_calibration") or {}
        if interval:
            lines.append(
                f"- 90 % prediction intervals covered {interval['coverage']:.0%} of test values "
                f"(mean width {interval['mean_width']:.3g})"
                + (
                    f"; their half-widths are the model's times {calibrated['scale']:.3g}, "
                    f"the conformal factor of the walk-forward folds, where the model's own "
                    f"covered {calibrated['coverage_before']:.0%} of "
                    f"{calibrated['points']} values."
                    if calibrated.get("scale")
                    else "."
                )
            )
        by_step = forecast.get("by_horizon_step") or {}
        if by_step:
            first, last = by_step[min(by_step, key=int)], by_step[max(by_step, key=int)]
            lines.append(
                f"- Error grows with lead time: MAE {first['mae']:.3g} one step ahead, "
                f"{last['mae']:.3g} at step {max(by_step, key=int)}."
            )
        baselines = performance.get("baselines_on_test") or {}
        if baselines:
            test_value = performance["metrics"]["test"].get(primary)
            lines.append(
                f"- On the same test blocks, {primary}: model {fmt(test_value)}; "
                + ", ".join(
                    f"{name} {fmt(values.get(primary))}"
                    for name, values in baselines.items()
                )
                + "."
            )
        lines += [
            "- Caveats: forecasts beyond the horizon were not evaluated; a level shift or a "
            "change of seasonal pattern after the training period is not foreseen; "
            "refit as new periods arrive.",
            "",
        ]
        return lines

    def native_explanation(self, model, x, y_pred, plan):
        forecaster = forecaster_of(model)
        result = getattr(forecaster, "result_", None)
        if result is not None:
            names = getattr(result, "param_names", None) or list(
                getattr(result.params, "index", range(len(result.params)))
            )
            return {
                "kind": f"fitted {forecaster.kind} parameters",
                "values": {
                    str(n): float(v)
                    for n, v in zip(names, np.asarray(result.params), strict=False)
                },
            }
        inner = getattr(forecaster, "model_", None)
        return {
            "kind": f"{type(forecaster).__name__} ({getattr(forecaster, 'kind', '')})",
            "values": {},
            "note": "lag model: see the error-by-horizon figure"
            if inner is not None
            else "baseline forecaster",
        }

    def baselines(self, plan: ModelingPlan, seed: int) -> list[ModelSpec]:
        from model_training.lib.algorithms.forecasters import NaiveForecaster
        from model_training.lib.algorithms.registry import configure_forecaster

        s = plan.spec.seasonal_period or 1
        window = s if s > 1 else 3
        specs = [
            ("naive", NaiveForecaster("naive"), "the last observed value"),
            (
                "seasonal_naive",
                NaiveForecaster("seasonal_naive"),
                f"the value one season ({s} periods) earlier",
            ),
            (
                "moving_average",
                NaiveForecaster("moving_average", window=window),
                f"the mean of the last {window} values",
            ),
        ]
        return [
            ModelSpec(
                name,
                Pipeline([("model", configure_forecaster(forecaster, plan))]),
                description,
            )
            for name, forecaster, description in specs
        ]

    def target(self, y: np.ndarray) -> np.ndarray:
        return np.asarray(y, dtype=float)

    def fit(self, estimator, x, y, fit_kwargs=None):
        return estimator.fit(x, self.target(y))

    def predict(
        self, model: Any, x: pl.DataFrame, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Forecasts from the end of the model's history, and 90 % intervals."""
        mean, lower, upper, steps = forecaster_of(model).predict_with_interval(
            x, INTERVAL_LEVEL
        )
        return mean, np.column_stack([lower, upper, steps])

    def evaluation_predictions(
        self, model: Any, x: pl.DataFrame, y: np.ndarray, plan: ModelingPlan
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Walk-forward forecasts; scores are (lower, upper, horizon step)."""
        mean, bounds, steps = walk_forward(model, x, y, plan)
        return mean, np.column_stack([bounds, steps])

    def score(self, model, x, y, plan) -> dict[str, float]:
        """Walk-forward metrics over the rows that have enough history before them."""
        from model_training.lib.core.metrics import compute_metrics

        y_pred, y_score = self.evaluation_predictions(model, x, y, plan)
        ok = np.isfinite(y_pred)
        return compute_metrics(
            plan.spec.metric_names,
            self.target(y)[ok],
            y_pred[ok],
            None if y_score is None else y_score[ok],
            plan.metric_context,
        )

    def reference_on_test(
        self, plan, seed, x_fit, y_fit, x_test, y_test, final_info=None
    ):
        """Every baseline refitted on train + validation, walk-forward on test.

        The stage's comparison for forecasts: the final model's test MASE beside
        the seasonal naive forecast's, on the same blocks and origins.
        """
        out = {}
        for spec in self.baselines(plan, seed):
            model = self.fit(clone(spec.estimator), x_fit, y_fit)
            out[spec.name] = self.score(model, x_test, y_test, plan)
        return out

    def monitoring_extras(self, test_evaluation, train_target):
        """Residuals on test (for residual drift) and the series' own distribution.

        A forecaster's input is the series itself, so its distribution on train
        is the input-drift reference (beside any covariates' statistics).
        """
        residuals = np.asarray(
            test_evaluation["details"]["residuals"]["values"], dtype=float
        )
        target = np.asarray(train_target, dtype=float)
        quantiles = (0.05, 0.25, 0.5, 0.75, 0.95)
        return {
            "residuals_test": {
                "mean": float(np.mean(residuals)),
                "std": float(np.std(residuals)),
                "quantiles": {
                    str(q): float(np.quantile(residuals, q)) for q in quantiles
                },
                "mean_absolute": float(np.mean(np.abs(residuals))),
            },
            "series_train": {
                "mean": float(np.mean(target)),
                "std": float(np.std(target)),
                "min": float(np.min(target)),
                "max": float(np.max(target)),
                "last": float(target[-1]),
            },
            "alert_hint": "alert when the rolling mean absolute residual exceeds "
            "1.5 x residuals_test.mean_absolute, or the series leaves its training range",
        }

    def score_columns(self, y_score, plan):
        if y_score is None:
            return {}
        scores = np.asarray(y_score, dtype=float)
        return {
            "lower_90": scores[:, 0],
            "upper_90": scores[:, 1],
            "horizon_step": scores[:, 2].astype(int),
        }

    def scores_from_frame(self, frame, plan):
        columns = ["lower_90", "upper_90", "horizon_step"]
        if not all(c in frame.columns for c in columns):
            return None
        return frame.select(columns).to_numpy().astype(float)

    def output(self, model: Any, x: pl.DataFrame, plan: ModelingPlan) -> np.ndarray:
        """Forecasts; rows inside the history get walk-forward (in-sample) forecasts."""
        from model_training.lib.algorithms.forecasters import times_of

        forecaster = forecaster_of(model)
        if hasattr(forecaster, "models_"):  # several series: each on its own
            out = np.full(x.height, np.nan)
            for series, rows in forecaster.groups(x).items():
                single = forecaster.model_for(series)
                out[rows] = self.output(single, x[rows.tolist()], plan)
            return out
        times = times_of(x, plan.spec.time_column)
        inside = np.asarray(times <= forecaster.history_times_[-1])
        out = np.full(x.height, np.nan)
        if (~inside).any():
            out[~inside] = forecaster.predict(x.filter(pl.Series(~inside)))
        if inside.any():
            lookup = pd.Series(forecaster.history_y_, index=forecaster.history_times_)
            known = lookup.reindex(times[inside]).to_numpy()
            out[inside] = walk_forward(model, x.filter(pl.Series(inside)), known, plan)[
                0
            ]
        return out

    def example_rows(self, model, x, plan, n=5):
        """The next ``n`` periods after the model's history (covariates carried forward)."""
        forecaster = forecaster_of(model)
        sample = x.tail(1)
        if hasattr(forecaster, "models_"):  # the series of the last row
            series = sample.get_column(plan.spec.series_column)[0]
            forecaster = forecaster.model_for(series)
        future = pd.date_range(
            start=forecaster.history_times_[-1], periods=n + 1, freq=plan.spec.frequency
        )[1:]
        rows = pl.concat([sample] * n)
        column = plan.spec.time_column
        # one format for every stamp: dates alone only when every one is a date
        daily = all(t == t.normalize() for t in future)
        stamps = [t.date().isoformat() if daily else t.isoformat() for t in future]
        values = pl.Series(column, stamps)
        if x.schema[column] != pl.String:
            values = values.str.to_datetime().cast(x.schema[column])
        return rows.with_columns(values)

    def output_labels(self, plan: ModelingPlan) -> tuple[str, str]:
        label = f"forecast of {plan.spec.target}"
        return label, label

    def finalize(
        self, pipeline, x, y, plan, splits, fit_kwargs, options, seed, oof=None
    ):
        """Refit on all rows; walk-forward metrics of each CV fold for reference,
        from the selection's forecasts of those folds when it passes them
        (``oof``, the same configuration on the same folds: nothing refitted)."""
        if oof is None:  # nothing to reuse: the folds are walked forward here
            oof = fold_forecasts(self, pipeline, x, y, plan, splits)
        metrics = self._reused_fold_metrics(oof, y, plan, splits)
        truth = np.concatenate([self.target(y[held]) for _, held in splits])
        scores = np.asarray(oof[1], dtype=float)
        calibration = interval_calibration(
            truth, oof[0], scores[:, 0], scores[:, 1], INTERVAL_LEVEL
        )
        model = self.fit(pipeline, x, y)
        forecaster = forecaster_of(model)
        for each in getattr(forecaster, "models_", {}).values() or [forecaster]:
            each.interval_calibration_ = calibration
        return model, {
            "oof_metrics": metrics,
            "interval_calibration": calibration,
            "oof_note": "mean over the walk-forward CV folds (expanding window, "
            "horizon-sized validation blocks)",
            "forecast": {
                "horizon": int(plan.spec.forecast_horizon or 1),
                "frequency": plan.spec.frequency,
                "seasonal_period": plan.spec.seasonal_period,
                "strategy": "recursive (one-step forecasts fed back as inputs)",
                "interval_level": INTERVAL_LEVEL,
                "history_end": str(forecaster.history_end),
                "series_column": plan.spec.series_column,
                "known_covariates": list(plan.spec.known_covariates),
            },
        }

    def _reused_fold_metrics(self, oof, y, plan, splits) -> dict[str, float]:
        """:func:`fold_metrics` from the folds' walk-forward forecasts (in the
        folds' order, as the selection recorded them) instead of refits."""
        from model_training.lib.core.metrics import compute_metrics

        preds, scores, _, _ = oof
        per_fold, start = [], 0
        for _, valid in splits:
            end = start + len(valid)
            pred = np.asarray(preds[start:end], dtype=float)
            score = None if scores is None else np.asarray(scores)[start:end]
            ok = np.isfinite(pred)
            per_fold.append(
                compute_metrics(
                    plan.spec.metric_names,
                    self.target(y[valid])[ok],
                    pred[ok],
                    None if score is None else score[ok],
                    plan.metric_context,
                )
            )
            start = end
        return mean_of_folds(per_fold, plan.spec.metric_names)

    def details(self, y, y_pred, y_score, plan, final_info):
        from model_training.lib.assessment.test_metrics import forecast_details

        return forecast_details(y, y_pred, y_score, plan)

    def figures(self, context: dict[str, Any], plan: ModelingPlan) -> dict[str, Any]:
        from model_training.lib.figures import forecast as eval_plots

        details = context["details"]
        times = pd.to_datetime(
            np.asarray(context["x_test"].get_column(plan.spec.time_column))
        )
        return {
            "forecast_vs_actual": eval_plots.forecast_vs_actual(
                times,
                context["y"],
                context["y_pred"],
                context["y_score"],
                plan,
                series=None
                if not plan.spec.series_column
                else np.asarray(context["x_test"].get_column(plan.spec.series_column)),
            ),
            "residuals_acf": eval_plots.forecast_residuals(details, times, plan),
            "error_by_horizon": eval_plots.error_by_horizon(details, plan),
        }
