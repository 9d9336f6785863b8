"""The search machinery of tuning: search spaces to Optuna suggestions and grids, samplers seeded per trial, study storage, fingerprints that name studies, budget caps."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import polars as pl

from model_training.lib.core.params import Caps
from model_training.lib.core.plan import ModelingPlan


def suggest(trial: Any, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Draw one value per hyperparameter from its declared distribution."""
    params: dict[str, Any] = {}
    for name, dist in space.items():
        kind = dist["type"]
        if kind == "float":
            params[name] = trial.suggest_float(
                name, float(dist["low"]), float(dist["high"]), log=bool(dist.get("log"))
            )
        elif kind == "int":
            params[name] = trial.suggest_int(
                name,
                int(dist["low"]),
                int(dist["high"]),
                step=int(dist.get("step", 1)),
                log=bool(dist.get("log")),
            )
        elif kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(dist["choices"]))
        else:
            raise ValueError(
                f"unknown search-space type '{kind}' for '{name}' (use float, int, categorical)"
            )
    return params


def grid_of(space: dict[str, dict[str, Any]], points: int) -> dict[str, list[Any]]:
    """A grid for ``GridSampler``: ``grid`` values if given, else ``points`` spread values."""
    grid: dict[str, list[Any]] = {}
    for name, dist in space.items():
        if "grid" in dist:
            grid[name] = list(dist["grid"])
        elif dist["type"] == "categorical":
            grid[name] = list(dist["choices"])
        else:
            low, high = float(dist["low"]), float(dist["high"])
            values = (
                np.geomspace(low, high, points)
                if dist.get("log")
                else np.linspace(low, high, points)
            )
            grid[name] = (
                sorted({round(v) for v in values})
                if dist["type"] == "int"
                else [float(v) for v in values]
            )
    return grid


def make_sampler(
    strategy: str, space: dict[str, Any], seed: int, grid_points: int
) -> Any:
    import optuna

    if strategy == "grid":
        return optuna.samplers.GridSampler(grid_of(space, grid_points), seed=seed)
    if strategy == "random":
        return TrialSeededSampler(lambda s: optuna.samplers.RandomSampler(seed=s), seed)
    startup = min(5, max(1, len(space) * 2))
    return TrialSeededSampler(
        lambda s: optuna.samplers.TPESampler(seed=s, n_startup_trials=startup), seed
    )


# part of every study's name: a study proposed by another seeding scheme is not
# resumed with this one (its trials would not be the ones this scheme proposes)
SAMPLER_SCHEME = "trial-seeded-1"


def trial_seed(seed: int, number: int) -> int:
    """The sampler seed of trial ``number``: a function of the run's seed and the
    trial's position only."""
    digest = hashlib.sha256(f"{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """A sampler whose randomness for trial *n* depends on the seed and *n* only.

    Optuna's samplers draw from one random stream that starts at the seed when
    the process starts, so a study resumed in a new process would propose other
    trials than an uninterrupted one. Here each trial gets a fresh inner sampler
    seeded by :func:`trial_seed`; TPE reads everything else from the study's
    history, so a resumed study proposes exactly the trials an uninterrupted one
    would have.
    """

    def __init__(self, make: Any, seed: int) -> None:
        self._make, self._seed = make, seed
        self._by_trial: dict[int, Any] = {}

    def _inner(self, trial: Any) -> Any:
        sampler = self._by_trial.get(trial.number)
        if sampler is None:
            sampler = self._make(trial_seed(self._seed, trial.number))
            self._by_trial[trial.number] = sampler
        return sampler

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self._inner(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
        return self._inner(trial).sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Any, trial: Any, param_name: str, distribution: Any
    ) -> Any:
        return self._inner(trial).sample_independent(
            study, trial, param_name, distribution
        )

    def before_trial(self, study: Any, trial: Any) -> None:
        self._inner(trial).before_trial(study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._inner(trial).after_trial(study, trial, state, values)
        self._by_trial.pop(trial.number, None)

    def reseed_rng(self) -> None:
        """Kept deterministic on purpose (Optuna calls this for parallel workers)."""


def fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def data_fingerprint(frame: pl.DataFrame) -> str:
    """A short hash of a frame's content."""
    return f"{frame.hash_rows(seed=0).sum():x}"[:16]


def prepare_storage(url: str | None) -> str | None:
    """The storage URL a run uses; creates a SQLite file's folder."""
    if not url:
        return None
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    return url


# one storage (one connection pool) per URL and process
_STORAGES: dict[tuple[str, int, int], Any] = {}


def open_storage(url: str | None, heartbeat: Any = None) -> Any:
    """An Optuna storage for ``url`` (None: in memory) in this process.

    A database storage sends a heartbeat from each running trial every
    ``heartbeat.interval_s`` seconds; a trial silent for ``grace_s`` seconds
    (its worker died) is failed by the next worker that looks. SQLite waits
    up to a minute for a lock that another worker process holds.
    """
    url = prepare_storage(url)
    if url is None:
        return None
    interval = int(getattr(heartbeat, "interval_s", 0) or 0)
    grace = int(getattr(heartbeat, "grace_s", 0) or 0)
    key = (url, interval, grace)
    if key not in _STORAGES:
        import warnings

        engine_kwargs = (
            {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
        )
        beat = (
            {"heartbeat_interval": interval, "grace_period": grace} if interval else {}
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            _STORAGES[key] = optuna.storages.RDBStorage(
                url, engine_kwargs=engine_kwargs, **beat
            )
    return _STORAGES[key]


def check_storage(options: Any) -> None:
    """Open the study storage once before the run fits anything: a database
    that cannot be reached (or refuses the login) is one message naming
    ``tuning.storage`` (the password hidden), not a traceback after the
    candidates were fitted."""
    from model_training.lib.core.errors import InputError, Problem
    from model_training.lib.core.params import redact_secrets

    url = options.storage
    try:
        open_storage(url, options.heartbeat)
    except Exception as exc:
        first = (redact_secrets(str(exc)).strip().splitlines() or [""])[0]
        raise InputError(
            "The study storage cannot be used",
            [
                Problem(
                    "tuning.storage",
                    f"{redact_secrets(str(url))}: {type(exc).__name__}: {first}",
                    "check the URL (with --env server: the environment variable "
                    "MODEL_TRAINING_OPTUNA_STORAGE), that the database accepts "
                    "connections from this machine and the login; or use the "
                    "embedded SQLite file (conf/base)",
                )
            ],
        ) from None


def capped_search(plan: ModelingPlan, caps: Caps | None) -> Any:
    """The spec's search settings with ``tuning.caps`` applied (e.g. tiny budgets in tests)."""
    search = plan.spec.search
    updates = {}
    for key in ("n_trials", "timeout_s", "per_model_timeout_s"):
        cap = getattr(caps, key) if caps is not None else None
        if cap is not None:
            current = getattr(search, key)
            updates[key] = cap if current is None else min(current, cap)
    return search.model_copy(update=updates)


def model_result(
    name: str,
    study: Any,
    start_params: dict[str, Any],
    seconds: float,
    note: str | None,
    limit: int | None = None,
) -> dict[str, Any]:
    """One model's tuning result from its study: the best trial, the
    defaults' score, counts, and every trial as a child record, with the
    worker that ran it. Claims refused because the budget was spent (see
    lib/training/workers.py) never ran and are left out.

    ``limit``: only the first ``limit`` finished trials (by number) count, so
    that a round asking for fewer trials than a resumed study holds (the first
    round of successive halving, rerun) sees exactly what a fresh run saw."""

    ran = sorted(
        (t for t in study.trials if not t.user_attrs.get("unused")),
        key=lambda t: t.number,
    )
    if limit is not None:
        finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        counted = [t.number for t in ran if t.state in finished][:limit]
        if len(counted) == limit:
            ran = [t for t in ran if t.number <= counted[-1]]
    trials = []
    workers: dict[str, int] = {}
    for t in ran:
        worker = t.user_attrs.get("worker")
        if worker:
            workers[worker] = workers.get(worker, 0) + 1
        entry = {
            # numbered from 1, as the log counts them ("trial 3/10")
            "name": f"tuning/{name}/trial {t.number + 1}",
            "kind": "trial",
            "number": t.number,
            "state": t.state.name,
            "params": dict(t.params),
            "cv_mean": t.value if t.state == optuna.trial.TrialState.COMPLETE else None,
            "partial_cv_mean": None
            if t.state == optuna.trial.TrialState.COMPLETE
            else t.value,
            "cv_std": t.user_attrs.get("cv_std"),
            "fold_scores": {
                f"fold_{i}": s
                for i, s in enumerate(t.user_attrs.get("fold_scores", []))
            },
            "duration_s": t.duration.total_seconds() if t.duration else None,
            "worker": worker,
        }
        if "error" in t.user_attrs:
            entry["error"] = t.user_attrs["error"]
        if "stopped" in t.user_attrs:
            entry["stopped"] = t.user_attrs["stopped"]
        elif t.state == optuna.trial.TrialState.FAIL and "error" not in t.user_attrs:
            entry["stopped"] = "its worker stopped sending heartbeats (slot re-run)"
        trials.append(entry)
    states = [t.state for t in ran]
    complete = [t for t in ran if t.state == optuna.trial.TrialState.COMPLETE]
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MINIMIZE else 1.0
    best = (
        max(complete, key=lambda t: (sign * t.value, -t.number)) if complete else None
    )
    default_trial = next((t for t in complete if t.user_attrs.get("start")), None)
    return {
        "name": f"tuning/{name}",
        "kind": "tuning",
        "model": name,
        "study_name": study.study_name,
        "status": "ok" if best else "failed",
        "params": dict(best.params) if best else {},
        "start_params": start_params,
        "metrics": {
            "cv_mean": best.value if best else None,
            "cv_std": best.user_attrs.get("cv_std") if best else None,
            "default_cv_mean": default_trial.value if default_trial else None,
        },
        "learned_iterations": best.user_attrs.get("learned_iterations")
        if best
        else None,
        "n_trials": len(trials),
        "n_complete": len(complete),
        "n_pruned": states.count(optuna.trial.TrialState.PRUNED),
        "n_failed": states.count(optuna.trial.TrialState.FAIL),
        "n_running": states.count(optuna.trial.TrialState.RUNNING),
        "workers": workers,
        "elapsed_s": round(seconds, 2),
        "note": note,
        "children": trials,
    }
