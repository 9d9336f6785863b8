"""The ways users work with the project, checked the way they would use them.

* kedro-viz: the static site of ``kedro viz build`` opened in a real headless
  Chromium (Debian ``chromium``): the flowchart renders with the project's node
  names, the screenshot is not blank, layers and previews are there;
* Jupyter: ``notebooks/single_nodes.ipynb`` runs one node of each pipeline from
  catalog inputs, executed headlessly;
* MLflow: ``mlflow models serve`` answers an HTTP request with the predictions of
  the saved package.

All of them read the one full run of the XOR epic (``xor_project`` in conftest).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tests.conftest import PROJECT_ROOT, kedro

pytestmark = pytest.mark.e2e

STAGE_PIPELINES = (
    "data_validation",
    "baseline",
    "modeling",
    "tuning",
    "evaluation",
    "reporting",
)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
    "--virtual-time-budget=15000",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout} s")
        time.sleep(0.5)


def start(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    """Start a server in its own process group (so its children stop with it)."""
    return subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def chromium(url: str, *extra: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                shutil.which("chromium"),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                *extra,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="module")
def viz_site(xor_project):
    """``kedro viz build --include-previews`` with the XOR epic as the default epic."""
    local_globals = xor_project / "conf/local/globals.yml"
    local_globals.parent.mkdir(parents=True, exist_ok=True)
    local_globals.write_text("epic_id: xor\nseed: 42\n")
    try:
        result = kedro(xor_project, "viz", "build", "--include-previews")
    finally:
        local_globals.unlink()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "circular dependency" not in result.stdout + result.stderr
    return xor_project / "build"


def test_viz_build_has_every_pipeline_layers_tags_and_previews(viz_site):
    main = json.loads((viz_site / "api/main").read_text())
    pipelines = {p["id"] for p in main["pipelines"]}
    assert set(STAGE_PIPELINES) | {"__default__", "inference"} <= pipelines
    stage_layers = ["feature", "model_input", "models", "model_output", "reporting"]
    assert main["layers"] == stage_layers
    assert set(STAGE_PIPELINES) <= {t["id"] for t in main["tags"]}
    names = {n["name"] for n in main["nodes"]}
    assert {"validate_data", "fit_baseline_models", "tune_hyperparameters"} <= names
    by_name = {n["name"]: n["id"] for n in main["nodes"]}
    previews = {
        name: json.loads((viz_site / "api/nodes" / by_name[name]).read_text())
        for name in ("train_features", "model_performance", "model_figures")
    }
    table = previews["train_features"]
    assert table["preview_type"] == "TablePreview"
    assert (
        "label" in table["preview"]["columns"] and len(table["preview"]["data"]) == 10
    )
    report = previews["model_performance"]
    assert report["preview_type"] == "JSONPreview"
    assert '"epic_id": "xor"' in report["preview"]
    assert previews["model_figures"]["preview_type"] == "ImagePreview"


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian chromium is not installed (.ci/run installs it)",
)
def test_viz_flowchart_renders_in_headless_chromium(viz_site, tmp_path):
    port = free_port()
    server = start(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=viz_site,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url, timeout=30)
        dom = chromium(url, "--dump-dom").stdout
        screenshot = tmp_path / "kedro_viz.png"
        chromium(url, f"--screenshot={screenshot}")
    finally:
        stop(server)
    # the flowchart's SVG labels carry the project's node and dataset names
    for name in (
        "validate_data",
        "fit_baseline_models",
        "tune_hyperparameters",
        "evaluate_on_test",
        "build_model_package",
        "train_features",
    ):
        assert f">{name}<" in dom, f"{name} is not drawn in the flowchart"
    assert 'class="pipeline-node__text"' in dom
    import matplotlib.image

    pixels = matplotlib.image.imread(screenshot)
    assert pixels.shape[:2] == (1000, 1600)
    gray = pixels[..., :3].mean(axis=2)
    assert gray.std() > 0.05, "the screenshot is blank"
    assert len(np.unique((gray * 255).astype(int))) > 50


@pytest.mark.skipif(
    shutil.which("chromium") is None,
    reason="Debian chromium is not installed (.ci/run installs it)",
)
def test_the_run_report_opens_offline_in_headless_chromium(xor_project, tmp_path):
    """reports/{epic}/model_report.html: the key numbers are on screen, nothing
    is fetched from the network, and the page is not blank."""
    page = xor_project / "reports/xor/model_report.html"
    html = page.read_text()
    assert not re.search(r'(src|href)="(https?:)?//', html), (
        "the page must work offline"
    )
    performance = json.loads(
        (xor_project / "results/metrics/xor_model_performance.json").read_text()
    )
    url = page.as_uri()
    dom = chromium(url, "--dump-dom").stdout
    screenshot = tmp_path / "report.png"
    chromium(url, f"--screenshot={screenshot}", "--window-size=1200,1800")
    final = performance["final_model"]["model"]
    test_auc = performance["metrics"]["test"]["roc_auc"]
    for text in (
        "Model report: xor",
        f"{test_auc:.4f}",
        "Acceptance criteria:",
        "Leaderboard",
        "Test metrics against the baselines",
        "baseline majority_class",
        final,
    ):
        assert text in dom, f"{text!r} is not on the page"
    assert dom.count("data:image/png;base64,") >= 5  # the figures, inline
    import matplotlib.image

    pixels = matplotlib.image.imread(screenshot)
    gray = pixels[..., :3].mean(axis=2)
    assert gray.std() > 0.05, "the screenshot is blank"


def test_single_nodes_notebook_runs_one_node_of_each_pipeline(xor_project):
    import nbformat

    from model_training.notebook import main as run_notebook

    (xor_project / "notebooks").mkdir(exist_ok=True)
    for name in ("single_nodes.ipynb", "logging.yml"):
        shutil.copy2(
            PROJECT_ROOT / "notebooks" / name, xor_project / "notebooks" / name
        )
    args = ["--notebook", "single_nodes", "--epic", "xor", "--env", "test"]
    assert run_notebook([*args, "--root", str(xor_project)]) == 0
    executed = nbformat.read(
        xor_project / "notebooks/single_nodes.xor.executed.ipynb", as_version=4
    )
    outputs = [o for c in executed.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(
        str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
        for o in outputs
    )
    for pipeline in STAGE_PIPELINES:
        assert f"{pipeline}." in text, f"no node of {pipeline} ran"
    assert "predicted" in text  # the inference node's output
    assert "status: pass" in text and "best baseline:" in text
    assert "package_equals_memory" in text
    # quiet logging: no rich log panels in the cell outputs
    rendered = json.dumps([o.get("data", {}) for o in outputs])
    assert "font-family:Menlo" not in rendered  # rich's HTML log records
    assert "Add type hints" not in text


def test_mlflow_serves_the_registered_model_like_the_package(xor_project):
    from model_training.datasets import ModelPackageDataset

    record = json.loads((xor_project / "models/xor/mlflow_model.json").read_text())
    version = record["registered_version"]
    package = ModelPackageDataset(filepath=str(xor_project / "models/xor")).load()
    assert package["metadata"]["mlflow_run_id"] == record["run_id"]
    test = pl.read_csv(xor_project / "data/4_processed/xor/features/test_features.csv")
    rows = test.drop("label", "row_id").head(25)
    expected = package["model"].predict(rows)

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{xor_project / 'mlflow.db'}"
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    server = start(
        [
            str(mlflow_bin),
            "models",
            "serve",
            "-m",
            f"models:/xor_model/{version}",
            "--env-manager",
            "local",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=xor_project,
        env=env,
    )
    launched = time.perf_counter()
    try:
        try:
            wait_for(f"http://127.0.0.1:{port}/ping", timeout=180)
            ready_s = time.perf_counter() - launched
        except TimeoutError:
            stop(server)
            pytest.fail(server.stderr.read().decode()[-3000:])
        body = json.dumps(
            {"dataframe_split": rows.to_pandas().to_dict(orient="split")},
            default=str,
        ).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
        elapsed_ms = 1000 * (time.perf_counter() - started)
    finally:
        stop(server)
    # the inference pipeline's table: decision, probabilities, warnings
    records = answer["predictions"]
    assert [str(r["predicted"]) for r in records] == [str(v) for v in expected]
    probabilities = package["model"].predict_proba(rows)
    classes = [str(c) for c in package["model"].classes_]
    for i, record in enumerate(records):
        assert {"score_no", "score_yes", "warnings", "decision_threshold"} <= set(
            record
        )
        for j, c in enumerate(classes):
            assert abs(record[f"score_{c}"] - probabilities[i, j]) < 1e-9
    print(  # noqa: T201
        f"mlflow models serve: ready in {ready_s:.1f} s; "
        f"round trip for {rows.height} rows: {elapsed_ms:.0f} ms"
    )


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on the PATH")
def test_a_uv_command_does_not_compile_the_environment_again():
    """Bytecode is compiled once at install; `uv run` itself prints nothing."""
    for _ in range(2):  # the first may still settle the environment
        result = subprocess.run(
            ["uv", "run", "--locked", "python", "-c", "pass"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Bytecode compiled" not in result.stderr
    assert result.stderr.strip() == ""
