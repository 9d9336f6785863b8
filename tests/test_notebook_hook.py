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
