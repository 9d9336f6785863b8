"""Scale-out benchmark: tuning with 1 and 2 workers on one study, on SQLite and PostgreSQL.

On the default epic (credit_risk), the tuning step (``tune_models``, as the
tuning node calls it, with the project's base search spaces and defaults)
runs the same trial budget per model with ``tuning.workers`` 1 and 2 and the
study in SQLite or PostgreSQL. Recorded: tuning wall time, trials per worker,
the best CV score. Beside it, Optuna's own cost per trial on each storage
(a trivial objective, heartbeat on, as the workers use it) tells the storage
overhead apart from the fits.

PostgreSQL: the URL in ``MODEL_TRAINING_TEST_POSTGRES`` (any database the
benchmark may create schemas in), else a throw-away cluster started with
``.ci/postgres``. Results go to ``bench/results/scale_out.json`` and a
Markdown table on stdout.

Usage::

    uv run python bench/scale_out.py [--trials 24] [--models catboost,random_forest]
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from examples import copy_project  # noqa: E402
from quality import splits, validate  # noqa: E402


def plan_and_train(folder: Path) -> tuple[Any, Any]:
    """The default epic's plan (from its data_validation pipeline) and train split."""
    copy_project(folder)
    validate(folder, "credit_risk")
    plan, frames = splits(folder, "credit_risk")
    return plan, frames["train"]


def params(group: str) -> Any:
    """A parameter group from conf/base, as a run validates it."""
    import yaml

    data = yaml.safe_load((ROOT / f"conf/base/parameters_{group}.yml").read_text())
    return data[group]


def schema_url(base: str, name: str) -> str:
    """A new schema in the PostgreSQL database ``base``, as a storage URL."""
    import psycopg

    with psycopg.connect(base.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{base}?options=-csearch_path%3D{name}"


def tune(plan, train, models, trials, storage, workers) -> dict[str, Any]:
    from model_training.lib.core.params import GROUPS
    from model_training.lib.training.tuning import tune_models

    raw = params("tuning")
    raw.update(
        storage=storage,
        workers=workers,
        caps={"n_trials": trials, "timeout_s": 3600, "per_model_timeout_s": 3600},
    )
    options = GROUPS["tuning"].model_validate(raw)
    modeling = GROUPS["modeling"].model_validate(params("modeling"))
    # one round: every model gets the whole budget (no successive halving)
    spec = plan.spec.model_copy(
        update={"search": plan.spec.search.model_copy(update={"n_trials": trials})}
    )
    plan = plan.model_copy(update={"spec": spec})
    start = time.perf_counter()
    result = tune_models(plan, train, models, modeling.defaults, options, 42)
    seconds = time.perf_counter() - start
    per_model = {}
    for model in result["models"]:
        finished = [
            t for t in model["children"] if t["state"] in ("COMPLETE", "PRUNED")
        ]
        per_model[model["model"]] = {
            "trials": len(finished),
            "budget": model["trial_budget"],
            "workers": model["workers"],
            "best_cv": model["metrics"]["cv_mean"],
        }
    return {"seconds": round(seconds, 2), "models": per_model}


def optuna_overhead(storage: str, trials: int = 200) -> float:
    """Seconds per trial of a trivial objective (storage and sampler only)."""
    import optuna

    from model_training.lib.core.params import Heartbeat
    from model_training.lib.training.search import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    beat = Heartbeat(interval_s=5, grace_s=30)
    study = optuna.create_study(
        storage=open_storage(storage, beat),
        sampler=optuna.samplers.TPESampler(seed=0),
    )
    start = time.perf_counter()
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=trials)
    return (time.perf_counter() - start) / trials


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--models", default="catboost,random_forest")
    args = parser.parse_args()
    models = args.models.split(",")
    from model_training.lib.core.threads import thread_share, usable_cores

    results: dict[str, Any] = {
        "cores": usable_cores(),
        "trials_per_model": args.trials,
        "models": models,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        postgres = os.environ.get("MODEL_TRAINING_TEST_POSTGRES")
        cluster = folder / "pg"
        if not postgres:
            out = subprocess.run(
                [str(ROOT / ".ci/postgres"), "start", str(cluster)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            postgres = out.strip().split("=", 1)[1] if "=" in out else None
        try:
            plan, train = plan_and_train(folder / "project")
            results["train_rows"] = train.height
            with thread_share(usable_cores()):
                for backend in ("sqlite", "postgresql"):
                    if backend == "postgresql" and not postgres:
                        continue
                    results[f"optuna_s_per_trial_{backend}"] = optuna_overhead(
                        f"sqlite:///{folder / 'overhead.db'}"
                        if backend == "sqlite"
                        else schema_url(postgres, f"overhead_{os.getpid()}")
                    )
                    for workers in (1, 2):
                        storage = (
                            f"sqlite:///{folder / f'{backend}{workers}.db'}"
                            if backend == "sqlite"
                            else schema_url(postgres, f"bench_{os.getpid()}_{workers}")
                        )
                        run = tune(plan, train, models, args.trials, storage, workers)
                        run.update(backend=backend, workers=workers)
                        results["runs"].append(run)
                        print(
                            f"{backend} workers={workers}: {run['seconds']} s",
                            file=sys.stderr,
                        )
        finally:
            if cluster.exists():
                subprocess.run(
                    [str(ROOT / ".ci/postgres"), "stop", str(cluster)], check=False
                )
    out = ROOT / "bench/results/scale_out.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(results: dict[str, Any]) -> str:
    lines = [
        f"Tuning {', '.join(results['models'])} on credit_risk "
        f"({results['train_rows']} training rows, {results['trials_per_model']} "
        f"trials each, {results['cores']} cores)",
        "",
        "| storage | workers | tuning wall time | ratio to 1 worker | trials per worker | best CV |",
        "|---|---|---|---|---|---|",
    ]
    single = {r["backend"]: r["seconds"] for r in results["runs"] if r["workers"] == 1}
    for run in results["runs"]:
        counts: dict[str, int] = {}
        for model in run["models"].values():
            for i, n in enumerate(sorted(model["workers"].values(), reverse=True)):
                counts[i] = counts.get(i, 0) + n
        best = ", ".join(
            f"{name} {m['best_cv']:.4f}" for name, m in run["models"].items()
        )
        lines.append(
            f"| {run['backend']} | {run['workers']} | {run['seconds']:.1f} s | "
            f"{single[run['backend']] / run['seconds']:.2f}x | "
            f"{' + '.join(str(counts[k]) for k in sorted(counts))} | {best} |"
        )
    for backend in ("sqlite", "postgresql"):
        key = f"optuna_s_per_trial_{backend}"
        if key in results:
            lines.append(
                f"\nOptuna's own cost per trial on {backend}: {results[key] * 1000:.1f} ms"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
