"""The run's training notebook: executed after a run that evaluated a model; a
failure is reported (logged, in the summary) without failing the finished run."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import nbformat

from model_training.notebook import TEMPLATE, NotebookHook


class _Catalog:
    def __init__(self, notebook: bool = True) -> None:
        self.notebook = notebook

    def load(self, name):
        if name == "params:reporting":
            return SimpleNamespace(notebook=self.notebook)
        return {"params:epic_id": "demo"}[name]


def _template(root, code):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Model training: {epic}"),
        nbformat.v4.new_code_cell("EPIC_ID = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    (root / TEMPLATE).parent.mkdir(parents=True)
    nbformat.write(notebook, root / TEMPLATE)


def _run(hook, root, catalog, evaluated=True):
    hook.before_pipeline_run()
    if evaluated:
        hook.after_dataset_saved("model_performance")
    hook.after_pipeline_run({"project_path": str(root), "env": None}, catalog)


def test_a_failing_cell_is_reported_and_the_executed_copy_shows_it(tmp_path, caplog):
    _template(tmp_path, "raise ValueError('the figure is missing')")
    hook = NotebookHook()
    with caplog.at_level(logging.ERROR):
        _run(hook, tmp_path, _Catalog())
    assert "the figure is missing" in hook.failed
    assert "The training notebook failed" in caplog.text
    executed = nbformat.read(hook.written, as_version=4)
    assert hook.written.name == "demo_model_training.ipynb"
    assert executed.cells[2].outputs[0]["output_type"] == "error"


def test_the_notebook_runs_only_after_an_evaluation_and_when_wanted(tmp_path):
    _template(tmp_path, "print('ran for', EPIC_ID)")
    hook = NotebookHook()
    _run(hook, tmp_path, _Catalog(), evaluated=False)  # e.g. data_validation only
    assert hook.written is None and hook.failed is None
    _run(hook, tmp_path, _Catalog(notebook=False))
    assert hook.written is None
    _run(hook, tmp_path, _Catalog())
    assert hook.failed is None
    executed = nbformat.read(hook.written, as_version=4)
    assert "ran for demo" in executed.cells[2].outputs[0]["text"]


def _staged_template(root):
    """A setup cell that looks for the run's output before it exists, and a
    cell that reads it afterwards."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# Model training: {epic}"),
        nbformat.v4.new_code_cell("EPIC_ID = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "from pathlib import Path\nprint('setup saw', Path('output.txt').exists())",
            metadata={"tags": ["setup"]},
        ),
        nbformat.v4.new_code_cell("print('then read', Path('output.txt').read_text())"),
    ]
    (root / TEMPLATE).parent.mkdir(parents=True)
    nbformat.write(notebook, root / TEMPLATE)


def _started_early(root):
    """A hook in a run that evaluates, just after the final model is saved:
    the hook, the run's parameters and its early execution, setup cells run."""
    _staged_template(root)
    hook = NotebookHook()
    params = {"project_path": str(root), "env": None}
    pipeline = SimpleNamespace(all_outputs=lambda: {"final_model", "model_performance"})
    hook.before_pipeline_run(params, pipeline, _Catalog())
    hook.after_dataset_saved("final_model")
    early = hook._early
    assert early is not None and early.set_up.wait(timeout=300)
    return hook, params, early


def test_the_kernel_and_setup_cells_start_while_the_model_is_evaluated(tmp_path):
    """Once the final model is saved, the kernel starts and runs the setup
    cells; the cells that read the run's outputs wait for the run's end."""
    hook, params, _ = _started_early(tmp_path)
    assert not (tmp_path / "notebooks/models/demo_model_training.ipynb").exists()
    (tmp_path / "notebooks/models/output.txt").write_text("the metrics")
    hook.after_dataset_saved("model_performance")
    hook.after_pipeline_run(params, _Catalog())
    assert hook.failed is None
    cells = nbformat.read(hook.written, as_version=4).cells
    assert cells[2].outputs[0]["text"] == "setup saw False\n"
    assert cells[3].outputs[0]["text"] == "then read the metrics\n"


def test_a_failed_run_abandons_the_early_kernel_and_writes_no_notebook(tmp_path):
    hook, params, early = _started_early(tmp_path)
    hook.on_pipeline_error(RuntimeError("a node failed"), params, _Catalog())
    assert not early._thread.is_alive() and hook._early is None
    assert hook.written is None
    assert not (tmp_path / "notebooks/models/demo_model_training.ipynb").exists()
