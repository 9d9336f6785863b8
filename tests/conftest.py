"""Shared fixtures: tiny frames, a schema and a spec, MLflow isolation, project copies."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from kedro.framework.project import configure_project
from threadpoolctl import threadpool_limits

from model_training.epics.cli import main as epic_main
from model_training.lib.core.schema import FeatureSchema
from model_training.lib.core.spec import ModelingSpec
from model_training.lib.core.threads import POOL_ENVS, THREADS_ENV
from model_training.lib.data_quality.epic_builder import infer_schema, split_frame

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# one thread per fit, as conf/test's `threads: 1` gives a run: the suite shares
# a 2-core machine with other jobs, where competing thread pools crawl
for _key in (THREADS_ENV, *POOL_ENVS):
    os.environ.setdefault(_key, "1")
threadpool_limits(limits=1)

# pipelines are discovered through the project's package, as `kedro run` does
configure_project("model_training")
CREDIT_FEATURES = PROJECT_ROOT / "data" / "4_processed" / "credit_risk" / "features"


def _merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def selected_alone(plan, train, validation, model: str, params: dict):
    """The selection of one tuned configuration (its tuning record made up),
    with the out-of-fold predictions it keeps for the final fit, and the
    tuning options used: ``(selection, oof, options)``."""
    from model_training.lib.training.selection import select_model

    options = conf_params("tuning", {"storage": None})
    tuning = {
        "models": [
            {
                "model": model,
                "status": "ok",
                "params": params,
                "metrics": {"cv_mean": 0.9},
            }
        ]
    }
    kept: dict = {}
    selection = select_model(
        plan, train, validation, tuning, {}, {}, options, 0, keep_oof=kept
    )
    return selection, kept["oof"], options


def conf_params(
    group: str,
    overrides: dict | None = None,
    *,
    env: str | None = "test",
    replace: dict | None = None,
):
    """A parameter group as a run gets it: conf/base, then conf/<env> merged
    key by key (as settings.py merges parameters), then ``overrides``, validated
    by the group's model; ``replace`` sets top-level keys wholesale (a test's
    own search spaces). The study storage is in memory unless overridden."""
    from model_training.lib.core.params import GROUPS

    def load(folder: str) -> dict:
        path = PROJECT_ROOT / "conf" / folder / f"parameters_{group}.yml"
        return (
            (yaml.safe_load(path.read_text()) or {}).get(group, {})
            if path.exists()
            else {}
        )

    data = load("base")
    if env:
        data = _merged(data, load(env))
    if group == "tuning":
        data["storage"] = None
    if group == "inference":
        data["input"] = "new.csv"
    data = {**_merged(data, overrides or {}), **(replace or {})}
    return GROUPS[group].model_validate(data)


@pytest.fixture(autouse=True, scope="session")
def _signing_key(tmp_path_factory):
    """The suite signs and verifies pickles with a key of its own (kept for the
    session, shared with the `kedro run` subprocesses through the environment)."""
    from model_training.datasets.signing import KEY_ENV

    previous = os.environ.get(KEY_ENV)
    os.environ[KEY_ENV] = str(tmp_path_factory.mktemp("key") / "signing.key")
    yield
    if previous is None:
        os.environ.pop(KEY_ENV, None)
    else:
        os.environ[KEY_ENV] = previous


@pytest.fixture(autouse=True)
def _isolate_mlflow(monkeypatch, tmp_path_factory):
    """No test writes to the project's mlflow.db; every MLflow run is ended."""
    for key in list(os.environ):
        if key.startswith("MLFLOW_"):
            monkeypatch.delenv(key, raising=False)
    uri = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{uri}")
    # an experiment set by an earlier test (mlflow.set_experiment keeps it in a
    # module global) does not exist in this test's fresh database
    from mlflow.tracking import fluent

    monkeypatch.setattr(fluent, "_active_experiment_id", None)
    yield
    import mlflow

    while mlflow.active_run():
        mlflow.end_run()


def make_frame(n: int = 120, seed: int = 0) -> pl.DataFrame:
    """A small binary-classification frame with numeric and text features."""
    rng = np.random.default_rng(seed)
    amount = rng.gamma(2.0, 1500.0, n).round(0)
    age = rng.integers(19, 75, n)
    segment = rng.choice(["retail", "business", "student"], n)
    score = 0.0008 * amount - 0.03 * (age - 40) + (segment == "student") * 0.8
    prob = 1 / (1 + np.exp(-(score - 3)))
    label = np.where(rng.random(n) < prob, "bad", "good")
    return pl.DataFrame(
        {
            "row_id": np.arange(1, n + 1),
            "amount": amount,
            "age": age,
            "segment": segment,
            "label": label,
        }
    )


def make_xor_frame(n: int = 300, seed: int = 0) -> pl.DataFrame:
    """A binary problem no linear model can solve (an XOR of two features), 10 % label noise."""
    rng = np.random.default_rng(seed)
    a, b = rng.random(n), rng.random(n)
    flip = rng.random(n) < 0.1
    positive = ((a > 0.5) ^ (b > 0.5)) ^ flip
    return pl.DataFrame(
        {
            "row_id": np.arange(1, n + 1),
            "a": a.round(4),
            "b": b.round(4),
            "noise": rng.normal(size=n).round(4),
            "colour": rng.choice(["red", "green", "blue"], n),
            "label": np.where(positive, "yes", "no"),
        }
    )


@pytest.fixture
def xor_setup():
    """Splits, schema, spec and plan of :func:`make_xor_frame`."""
    from model_training.lib.core.plan import build_plan

    frame = make_xor_frame()
    parts = split_frame(frame, seed=0, stratify="label")
    schema = infer_schema(frame, "xor", target="label", roles={"row_id": "identifier"})
    spec = ModelingSpec(
        epic_id="xor",
        problem_type="binary_classification",
        target="label",
        positive_class="yes",
        primary_metric="roc_auc",
        id_columns=["row_id"],
        cost_matrix={"labels": ["no", "yes"], "costs": [[0, 1], [3, 0]]},
        cross_validation={"n_splits": 3},
        search={"n_trials": 3, "timeout_s": 60, "top_k": 2},
    )
    return parts, schema, spec, build_plan(spec, schema, parts["train"])


@pytest.fixture
def frames() -> dict[str, pl.DataFrame]:
    """Train/validation/test splits of :func:`make_frame`."""
    return split_frame(make_frame(), seed=1, stratify="label")


@pytest.fixture
def schema() -> FeatureSchema:
    """The feature schema of :func:`make_frame`."""
    return infer_schema(
        make_frame(),
        "tiny",
        target="label",
        roles={"row_id": "identifier"},
        sensitive=["age"],
    ).model_copy(update={"source": "data/4_processed/tiny/features/feature_schema.yml"})


def spec_dict(**overrides) -> dict:
    """A valid binary-classification spec for :func:`make_frame`, as raw YAML data."""
    data = {
        "epic_id": "tiny",
        "problem_type": "binary_classification",
        "target": "label",
        "positive_class": "bad",
        "primary_metric": "roc_auc",
        "secondary_metrics": ["expected_cost", "f1"],
        "id_columns": ["row_id"],
        "cost_matrix": {"labels": ["good", "bad"], "costs": [[0, 1], [5, 0]]},
        "sensitive_features": [
            {
                "name": "age_band",
                "column": "age",
                "derive": {"kind": "bins", "edges": [25]},
            }
        ],
        "cross_validation": {"n_splits": 3},
    }
    data.update(overrides)
    return data


@pytest.fixture
def spec() -> ModelingSpec:
    """The validated spec of :func:`spec_dict`."""
    return ModelingSpec.model_validate(
        {**spec_dict(), "source": "docs/objectives/user_stories/tiny/modeling_spec.yml"}
    )


def with_params(group_params, **changes):
    """A copy of a parameter group with some keys changed (merged key by key)."""
    return type(group_params).model_validate(
        _merged(group_params.model_dump(), changes)
    )


@pytest.fixture
def thresholds():
    """``data_validation.thresholds`` as in conf/base."""
    return conf_params("data_validation").thresholds


def copy_project(destination: Path, *, credit_rows: int | None = None) -> Path:
    """Copy what a run needs (conf, code config, inputs) into ``destination``.

    With ``credit_rows``, the credit_risk splits are cut to that many rows each
    (stratified by keeping the first rows of each class), for a fast run.
    """
    for name in ("conf", "docs", "data/1_raw", "data/4_processed"):
        shutil.copytree(PROJECT_ROOT / name, destination / name)
    for name in ("pyproject.toml", ".telemetry"):
        shutil.copy2(PROJECT_ROOT / name, destination / name)
    shutil.copytree(
        PROJECT_ROOT / "src",
        destination / "src",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # the notebook templates (not copies a run executed here)
    shutil.copytree(
        PROJECT_ROOT / "notebooks",
        destination / "notebooks",
        ignore=shutil.ignore_patterns(
            "*_model_training.ipynb", "*.executed.ipynb", ".ipynb_checkpoints"
        ),
    )
    if credit_rows:
        features = destination / "data" / "4_processed" / "credit_risk" / "features"
        for split in ("train", "validation", "test"):
            path = features / f"{split}_features.csv"
            frame = pl.read_csv(path, infer_schema_length=None)
            half = credit_rows // 2
            cut = pl.concat(
                [
                    frame.filter(pl.col("credit_risk") == "bad").head(half),
                    frame.filter(pl.col("credit_risk") == "good").head(
                        credit_rows - half
                    ),
                ]
            )
            cut.write_csv(path)
    return destination


def kedro(
    project: Path, *args: str, timeout: int = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``kedro <args>`` in ``project`` as a user would, capturing the
    output; ``env``: variables to set besides the test's (MLflow's are not
    passed on otherwise)."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["KEDRO_DISABLE_TELEMETRY"] = "1"
    env.update(extra)
    kedro_bin = Path(sys.executable).parent / "kedro"
    return subprocess.run(
        [str(kedro_bin), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def make_xor_epic(project: Path) -> Path:
    """The XOR epic (from a CSV, as a user makes one) in a copied project."""
    source = project / "xor.csv"
    make_xor_frame(400, seed=1).write_csv(source)
    args = [
        "--root",
        str(project),
        "from-csv",
        "--epic-id",
        "xor",
        "--csv",
        str(source),
        "--target",
        "label",
        "--problem-type",
        "binary_classification",
        "--id-column",
        "row_id",
    ]
    assert epic_main(args) == 0
    spec = project / "docs/objectives/user_stories/xor/modeling_spec.yml"
    spec.write_text(
        spec.read_text()
        + "cost_matrix: {labels: ['no', 'yes'], costs: [[0, 1], [3, 0]]}\n"
        "algorithms: [logistic_regression, random_forest, hist_gradient_boosting]\n"
        "search: {top_k: 2}\n"
    )
    return project


@pytest.fixture(scope="session")
def xor_project(tmp_path_factory):
    """A new epic from a CSV (an XOR problem trees solve and linear models cannot), run in full.

    Session-scoped: the e2e tests of test_e2e_xor.py and the ways-of-working
    tests (kedro-viz, the single-node notebook, MLflow serving) read this one
    run. The suite runs its modules on several pytest-xdist workers (``--dist
    loadscope``), so each worker that runs one of those modules builds its own:
    no module relies on what another module's tests did to it.
    """
    project = make_xor_epic(copy_project(tmp_path_factory.mktemp("xor")))
    # the one test run that executes the training notebook, as a user's run does
    result = kedro(
        project,
        "run",
        "--env",
        "test",
        "--params",
        "epic_id=xor,reporting.notebook=true",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (project / "console_of_the_run.txt").write_text(result.stdout + result.stderr)
    return project
