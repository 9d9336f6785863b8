"""Quality benchmark: the project against plain, well-configured peers on the same splits.

For each data set (bundled with installed packages, so nothing is downloaded),
an epic is built in a temporary copy of the project, the whole stage runs with
its default budgets (`kedro run --params epic_id=<epic>`, base settings), and
the final model's test score is read from the performance JSON. Beside it, on
the very same train + validation rows and test rows, plain peers are fitted
with their defaults and scored with the same metric function:

* classification and regression: CatBoost, LightGBM, HistGradientBoosting and
  RandomForest (500 trees), ordinal-encoded categoricals (CatBoost: native);
* forecasting: statsforecast's SeasonalNaive, AutoARIMA, AutoETS and MSTL,
  walk-forward over horizon blocks like the project;
* clustering: k-means with the true number of clusters on standardised features;
* anomaly detection: IsolationForest.

Never tuned on test: the peers see train + validation only, as the project does.
Results go to ``bench/results/quality.json`` and a Markdown table on stdout.

Usage::

    uv run python bench/quality.py [--only credit_risk,wine]
    uv run python bench/quality.py --only digits --peers-only   # peers again, the
        # project's recorded score kept (its data_validation rebuilds the splits)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from examples import copy_project  # noqa: E402


def _frame_csv(frame: Any, path: Path) -> Path:
    pl.from_pandas(frame).write_csv(path)
    return path


def _sklearn(name: str, target: str, transform: Any = None):
    def make(folder: Path) -> Path:
        import sklearn.datasets as ds

        data = getattr(ds, f"load_{name}")(as_frame=True).frame
        data = data.rename(columns={"target": target})
        if transform is not None:
            data = transform(data)
        return _frame_csv(data, folder / f"{name}.csv")

    return make


def _statsmodels(name: str, transform: Any):
    def make(folder: Path) -> Path:
        import importlib

        data = (
            importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data
        )
        return _frame_csv(transform(data), folder / f"{name}.csv")

    return make


def _sunspots(data):
    import pandas as pd

    return pd.DataFrame(
        {
            "year": pd.to_datetime(data["YEAR"].astype(int).astype(str) + "-01-01"),
            "sunspots": data["SUNACTIVITY"],
        }
    )


def _macro(data):
    import pandas as pd

    quarters = pd.PeriodIndex.from_fields(
        year=data["year"].astype(int), quarter=data["quarter"].astype(int), freq="Q"
    ).to_timestamp()
    return pd.DataFrame({"quarter": quarters, "unemployment": data["unemp"]})


def _fair(data):
    data = data.copy()
    data["had_affair"] = np.where(data.pop("affairs") > 0, "yes", "no")
    return data


def _anes(data):
    data = data.copy()
    data["vote"] = np.where(data["vote"] > 0, "republican", "democrat")
    return data


# epic: (how to build it, primary metric)
DATASETS: dict[str, tuple[Any, str]] = {
    "credit_risk": (None, "roc_auc"),
    "breast_cancer": (
        (
            "csv",
            _sklearn(
                "breast_cancer",
                "malignant",
                lambda d: d.assign(
                    malignant=np.where(d["malignant"] == 0, "malignant", "benign")
                ),
            ),
        ),
        {"problem_type": "binary_classification", "target": "malignant"},
    ),
    "fair_affairs": (
        ("csv", _statsmodels("fair", _fair)),
        {"problem_type": "binary_classification", "target": "had_affair"},
    ),
    "anes96_vote": (
        ("csv", _statsmodels("anes96", _anes)),
        {"problem_type": "binary_classification", "target": "vote"},
    ),
    "digits": (
        ("csv", _sklearn("digits", "digit")),
        {"problem_type": "multiclass_classification", "target": "digit"},
    ),
    "wine": (["sklearn", "wine"], "f1_macro"),
    "diabetes": (["sklearn", "diabetes"], "root_mean_squared_error"),
    "iris": (["sklearn", "iris"], "silhouette"),
    "breast_cancer_anomaly": (["sklearn", "breast_cancer_anomaly"], "pr_auc"),
    "sunspots": (
        ("csv", _statsmodels("sunspots", _sunspots)),
        {
            "problem_type": "time_series",
            "target": "sunspots",
            "time_column": "year",
            "frequency": "YS",
            "horizon": 5,
            "seasonal_period": 11,
        },
    ),
    "unemployment": (
        ("csv", _statsmodels("macrodata", _macro)),
        {
            "problem_type": "time_series",
            "target": "unemployment",
            "time_column": "quarter",
            "frequency": "QS",
            "horizon": 4,
            "seasonal_period": 4,
        },
    ),
    "co2": (["co2"], "mean_absolute_scaled_error"),
    # RAND health insurance experiment: outpatient visits a year (a count,
    # skewed: most 0 to 5, a few above 50), 20,190 people
    "rand_visits": (
        ("csv", _statsmodels("randhie", lambda d: d)),
        {"problem_type": "regression", "target": "mdvis"},
    ),
}


def build(project: Path, epic: str) -> None:
    from model_training.epics.cli import main as epic_main

    how, extra = DATASETS[epic]
    if how is None:
        return  # embedded
    if isinstance(how, list):
        epic_main(["--root", str(project), *how, "--force"])
        return
    _, make = how
    csv = make(project)
    args = ["--root", str(project), "from-csv", "--epic-id", epic, "--csv", str(csv)]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    epic_main([*args, "--force"])


def run(project: Path, epic: str) -> tuple[float, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    kedro = Path(sys.executable).parent / "kedro"
    start = time.perf_counter()
    result = subprocess.run(
        [
            str(kedro),
            "run",
            "--params",
            f"epic_id={epic},reporting.acceptance.on_unmet=report",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - start, result.returncode, result.stderr[-3000:]


def splits(project: Path, epic: str) -> tuple[Any, dict[str, pl.DataFrame]]:
    from model_training.lib.core.frames import conform
    from model_training.lib.core.plan import load_plan

    plan = load_plan(
        json.loads(
            (project / f"data/5_model_input/{epic}/modeling_plan.json").read_text()
        )
    )
    folder = project / f"data/4_processed/{epic}/features"
    frames = {
        name: conform(
            pl.read_csv(folder / f"{name}_features.csv", infer_schema_length=None), plan
        )
        for name in ("train", "validation", "test")
    }
    return plan, frames


def _encoded(plan, fit: pl.DataFrame, test: pl.DataFrame):
    from sklearn.preprocessing import OrdinalEncoder

    x_fit = fit.select(plan.numeric_features).to_numpy().astype(float)
    x_test = test.select(plan.numeric_features).to_numpy().astype(float)
    if plan.categorical_features:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-2,
        )
        cats_fit = fit.select(plan.categorical_features).to_pandas()
        cats_test = test.select(plan.categorical_features).to_pandas()
        x_fit = np.hstack([x_fit, encoder.fit_transform(cats_fit)])
        x_test = np.hstack([x_test, encoder.transform(cats_test)])
    return x_fit, x_test


def supervised_peers(plan, frames, seed: int) -> dict[str, tuple[float, float]]:
    from catboost import CatBoostClassifier, CatBoostRegressor
    from lightgbm import LGBMClassifier, LGBMRegressor
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

    from model_training.lib.core.frames import split_xy

    fit = pl.concat([frames["train"], frames["validation"]], how="diagonal_relaxed")
    x_fit_frame, y_fit = split_xy(fit, plan)
    x_test_frame, y_test = split_xy(frames["test"], plan)
    x_fit, x_test = _encoded(plan, x_fit_frame, x_test_frame)
    classify = plan.spec.kind.classification
    peers = {
        "catboost": (CatBoostClassifier if classify else CatBoostRegressor)(
            random_seed=seed, verbose=0, thread_count=1
        ),
        "lightgbm": (LGBMClassifier if classify else LGBMRegressor)(
            random_state=seed, verbose=-1, n_jobs=1
        ),
        "hist_gradient_boosting": (
            HistGradientBoostingClassifier
            if classify
            else HistGradientBoostingRegressor
        )(random_state=seed),
        "random_forest": (
            RandomForestClassifier if classify else RandomForestRegressor
        )(n_estimators=500, random_state=seed, n_jobs=1),
    }
    out = {}
    for name, model in peers.items():
        start = time.perf_counter()
        if name == "catboost":
            cats = list(range(len(plan.numeric_features), len(plan.features)))
            train_x = x_fit_frame.select(plan.features).to_pandas()
            test_x = x_test_frame.select(plan.features).to_pandas()
            for column in plan.categorical_features:
                train_x[column] = train_x[column].fillna("__missing__").astype(str)
                test_x[column] = test_x[column].fillna("__missing__").astype(str)
            model.fit(train_x, y_fit, cat_features=cats)
            predict_x = test_x
        else:
            model.fit(x_fit, y_fit)
            predict_x = x_test
        seconds = time.perf_counter() - start
        out[name] = (_test_score(plan, model, predict_x, y_test), round(seconds, 2))
    return out


def _test_score(plan, model, predict_x, y_test) -> float:
    """The primary metric of a fitted supervised model on the test rows."""
    from model_training.lib.core.frames import label_array
    from model_training.lib.core.metrics import compute_metrics

    primary = plan.spec.primary_metric
    if plan.spec.kind.classification:
        proba = model.predict_proba(predict_x)
        order = [list(map(str, model.classes_)).index(str(c)) for c in plan.classes]
        scores = proba[:, order]
        # labels of their own type (0..9 stay integers, as in y_test)
        y_pred = label_array(plan.classes)[scores.argmax(axis=1)]
        return float(
            compute_metrics([primary], y_test, y_pred, scores, plan.metric_context)[
                primary
            ]
        )
    predictions = np.asarray(model.predict(predict_x)).ravel()
    return float(
        compute_metrics([primary], y_test, predictions, None, plan.metric_context)[
            primary
        ]
    )


def _plain_default(name: str, classify: bool, seed: int):
    """The library's own default of one of the project's scaled algorithms, or
    None where the project's algorithm has no plain library counterpart."""
    from sklearn.linear_model import (
        ElasticNet,
        Lasso,
        LinearRegression,
        LogisticRegression,
        Ridge,
    )
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.svm import SVC, SVR

    makers = (
        {
            "logistic_regression": lambda: LogisticRegression(max_iter=5000),
            "svm_rbf": lambda: SVC(probability=True, random_state=seed),
            "mlp": lambda: MLPClassifier(max_iter=1000, random_state=seed),
        }
        if classify
        else {
            "linear_regression": LinearRegression,
            "ridge": Ridge,
            "lasso": Lasso,
            "elastic_net": ElasticNet,
            "svm_rbf": SVR,
            "mlp": lambda: MLPRegressor(max_iter=1000, random_state=seed),
        }
    )
    return makers[name]() if name in makers else None


def chosen_defaults(plan, frames, names, seed: int) -> dict[str, tuple[float, float]]:
    """The plain defaults of the chosen algorithms that are not peers already
    (a logistic regression, an SVM, ridge...), fitted on train + validation
    with median imputation, standard scaling and one-hot encoding (what a
    careful user would wrap around them), scored on the same test rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from model_training.lib.core.frames import split_xy

    traits = plan.spec.kind
    if traits.temporal or traits.flags_anomalies or traits.target == "label":
        return {}
    fit = pl.concat([frames["train"], frames["validation"]], how="diagonal_relaxed")
    x_fit, y_fit = split_xy(fit, plan)
    x_test, y_test = split_xy(frames["test"], plan)
    x_fit = x_fit.select(plan.features).to_pandas()
    x_test = x_test.select(plan.features).to_pandas()
    for frame in (x_fit, x_test):
        for column in plan.categorical_features:
            frame[column] = frame[column].fillna("__missing__").astype(str)
    out = {}
    for name in names:
        model = _plain_default(name, traits.classification, seed)
        if model is None:
            continue
        columns = ColumnTransformer(
            [
                (
                    "numeric",
                    make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                    plan.numeric_features,
                ),
                (
                    "categorical",
                    OneHotEncoder(handle_unknown="ignore"),
                    plan.categorical_features,
                ),
            ]
        )
        pipeline = make_pipeline(columns, model)
        start = time.perf_counter()
        pipeline.fit(x_fit, y_fit)
        seconds = time.perf_counter() - start
        out[name] = (_test_score(plan, pipeline, x_test, y_test), round(seconds, 2))
    return out


def forecasting_peers(plan, frames, seed: int) -> dict[str, tuple[float, float]]:
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, SeasonalNaive

    from model_training.lib.core.metrics import compute_metrics

    spec = plan.spec
    season = spec.seasonal_period or 1
    horizon = spec.forecast_horizon
    history = pl.concat([frames["train"], frames["validation"]], how="diagonal_relaxed")
    test = frames["test"]

    def frame(rows: pl.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "unique_id": "series",
                "ds": pd.to_datetime(rows.get_column(spec.time_column).to_pandas()),
                "y": rows.get_column(spec.target).cast(pl.Float64).to_numpy(),
            }
        )

    known = frame(history)
    actual = frame(test)
    models = {
        "seasonal_naive": SeasonalNaive(season_length=season),
        "auto_arima": AutoARIMA(season_length=season),
        "auto_ets": AutoETS(season_length=season),
        "mstl": MSTL(season_length=max(season, 2)),
    }
    out = {}
    for name, model in models.items():
        start = time.perf_counter()
        forecasts = []
        seen = known
        for first in range(0, len(actual), horizon):  # walk forward, block by block
            block = actual.iloc[first : first + horizon]
            engine = StatsForecast(models=[model], freq=spec.frequency, n_jobs=1)
            try:
                predicted = engine.forecast(df=seen, h=len(block))
                forecasts.append(predicted.iloc[:, -1].to_numpy())
            except Exception:  # e.g. MSTL without two full seasons
                forecasts.append(np.full(len(block), np.nan))
            seen = pd.concat([seen, block])
        y_pred = np.concatenate(forecasts)
        value = compute_metrics(
            [spec.primary_metric],
            actual["y"].to_numpy(),
            y_pred,
            None,
            plan.metric_context,
        )[spec.primary_metric]
        out[name] = (float(value), round(time.perf_counter() - start, 2))
    return out


def clustering_peers(plan, frames, seed: int) -> dict[str, tuple[float, float]]:
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    from model_training.lib.core.frames import split_xy
    from model_training.lib.core.metrics import compute_metrics

    fit = pl.concat([frames["train"], frames["validation"]], how="diagonal_relaxed")
    x_fit, y_fit = split_xy(fit, plan)
    x_test, y_test = split_xy(frames["test"], plan)
    scaler = StandardScaler().fit(x_fit.select(plan.numeric_features).to_numpy())
    fit_values = scaler.transform(x_fit.select(plan.numeric_features).to_numpy())
    test_values = scaler.transform(x_test.select(plan.numeric_features).to_numpy())
    k = len(set(np.asarray(y_fit).tolist()))
    start = time.perf_counter()
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(fit_values)
    labels = model.predict(test_values)
    primary = plan.spec.primary_metric
    value = compute_metrics(
        [primary], y_test, labels, test_values, plan.metric_context
    )[primary]
    return {
        f"kmeans (true k={k})": (float(value), round(time.perf_counter() - start, 2))
    }


def anomaly_peers(plan, frames, seed: int) -> dict[str, tuple[float, float]]:
    from sklearn.ensemble import IsolationForest

    from model_training.lib.core.frames import split_xy
    from model_training.lib.core.metrics import compute_metrics

    fit = pl.concat([frames["train"], frames["validation"]], how="diagonal_relaxed")
    x_fit, _ = split_xy(fit, plan)
    x_test, y_test = split_xy(frames["test"], plan)
    start = time.perf_counter()
    model = IsolationForest(random_state=seed).fit(
        x_fit.select(plan.numeric_features).to_numpy()
    )
    score = -model.score_samples(x_test.select(plan.numeric_features).to_numpy())
    flagged = score >= np.quantile(score, 1 - (plan.contamination or 0.05))
    normal, anomaly = plan.labels
    y_pred = np.where(flagged, anomaly, normal)
    primary = plan.spec.primary_metric
    value = compute_metrics([primary], y_test, y_pred, score, plan.metric_context)[
        primary
    ]
    return {"isolation_forest": (float(value), round(time.perf_counter() - start, 2))}


def peers(plan, frames, seed: int) -> dict[str, tuple[float, float]]:
    traits = plan.spec.kind
    if traits.temporal:
        return forecasting_peers(plan, frames, seed)
    if traits.flags_anomalies:
        return anomaly_peers(plan, frames, seed)
    if traits.target == "label":
        return clustering_peers(plan, frames, seed)
    return supervised_peers(plan, frames, seed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(DATASETS))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--peers-only",
        action="store_true",
        help="refit the peers only; keep the project's recorded score",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="run in this folder and keep the project (outputs, timings)",
    )
    args = parser.parse_args()
    out_path = ROOT / "bench" / "results" / "quality.json"
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(args.keep or scratch) / "project"
        if not project.exists():
            copy_project(project)
        for epic in args.only.split(","):
            build(project, epic)
            if args.peers_only and epic in results and "project" in results[epic]:
                row = results[epic]
                validate(project, epic)
                plan, frames = splits(project, epic)
                row["peers"] = peers(plan, frames, args.seed)
                row["plain_defaults"] = _own_defaults(row, plan, frames, args.seed)
                _summarise(row)
                print(f"{epic}: peers again, best {row['best_peer']}")
                out_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
                continue
            wall, code, err = run(project, epic)
            row: dict[str, Any] = {"wall_s": round(wall, 1), "exit": code}
            if code != 0:
                row["error"] = err
                results[epic] = row
                print(f"{epic}: run failed ({code})\n{err[-1500:]}")
                continue
            performance = json.loads(
                (project / f"results/metrics/{epic}_model_performance.json").read_text()
            )
            plan, frames = splits(project, epic)
            primary = plan.spec.primary_metric
            row.update(
                {
                    "problem_type": plan.spec.problem_type,
                    "metric": primary,
                    "greater_is_better": plan.greater_is_better,
                    "final_model": performance["final_model"]["model"],
                    "project": performance["metrics"]["test"][primary],
                    "peers": peers(plan, frames, args.seed),
                }
            )
            row["final_members"] = [
                m["model"] for m in performance["final_model"].get("members") or []
            ] or [performance["final_model"]["model"]]
            row["plain_defaults"] = _own_defaults(row, plan, frames, args.seed)
            _summarise(row)
            results[epic] = row
            print(
                f"{epic}: project {row['project']:.4f} ({row['final_model']}, {wall:.0f} s); "
                f"best peer {row['best_peer']['name']} {row['best_peer']['score']:.4f}"
            )
            out_path.parent.mkdir(parents=True, exist_ok=True)
            out_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))
    return 0


def _own_defaults(row, plan, frames, seed: int) -> dict[str, tuple[float, float]]:
    """Plain defaults of the chosen algorithm(s) that no peer stands for."""
    members = row.get("final_members") or [row["final_model"]]
    return chosen_defaults(
        plan, frames, [m for m in members if m not in row["peers"]], seed
    )


def _summarise(row: dict[str, Any]) -> None:
    """The best peer; the plain defaults of the algorithm(s) chosen (each
    member, for an ensemble), from the peers or fitted apart; and whether the
    project's score is at least the best of them."""
    sign = 1 if row["greater_is_better"] else -1
    best = max(
        row["peers"].items(),
        key=lambda kv: sign * np.nan_to_num(kv[1][0], nan=-sign * 1e18),
    )
    row["best_peer"] = {"name": best[0], "score": best[1][0], "seconds": best[1][1]}
    chosen = row.get("final_members") or [row["final_model"]]
    found = {**row["peers"], **(row.get("plain_defaults") or {})}
    row["same_algorithm_defaults"] = {
        name: found[name][0] for name in chosen if name in found
    }
    defaults = list(row["same_algorithm_defaults"].values())
    row["not_below_own_default"] = (
        None
        if not defaults
        else bool(sign * row["project"] >= max(sign * v for v in defaults))
    )


def validate(project: Path, epic: str) -> None:
    """The epic's data_validation pipeline alone (writes its modeling plan)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "kedro"),
            "run",
            "--pipelines",
            "data_validation",
            "--params",
            f"epic_id={epic}",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        check=True,
    )


def _yes_no(flag: bool | None) -> str:
    return "" if flag is None else ("yes" if flag else "no")


def table(results: dict[str, Any]) -> str:
    lines = [
        "| data set | problem type | metric | project (final model, run s) | best plain peer "
        "| within 1 % | plain default of the chosen algorithm(s) | not below it |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for epic, row in results.items():
        if row.get("exit") != 0:
            lines.append(f"| {epic} | | | run failed | | | | |")
            continue
        project, peer = row["project"], row["best_peer"]["score"]
        sign = 1 if row["greater_is_better"] else -1
        ok = sign * (project - peer) >= -0.01 * abs(peer)
        same = ", ".join(
            f"{name} {value:.4f}"
            for name, value in (row.get("same_algorithm_defaults") or {}).items()
        )
        lines.append(
            f"| {epic} | {row['problem_type']} | {row['metric']} | {project:.4f} "
            f"({row['final_model']}, {row['wall_s']:.0f} s) | {row['best_peer']['name']} "
            f"{peer:.4f} ({row['best_peer']['seconds']:.1f} s) | {'yes' if ok else 'no'} "
            f"| {same} | {_yes_no(row.get('not_below_own_default'))} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
