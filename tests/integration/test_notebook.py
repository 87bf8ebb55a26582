"""notebooks/walkthrough.ipynb is stored without outputs and runs from top to bottom without an error."""

from __future__ import annotations

import sys

import nbformat
import pytest

from helpers import ROOT

NOTEBOOK = ROOT / "notebooks" / "walkthrough.ipynb"


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_notebook_is_stored_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert code_cells(nb)
    with_output = [i for i, cell in enumerate(code_cells(nb)) if cell.outputs or cell.execution_count is not None]
    assert not with_output, f"code cells {with_output} have outputs or execution counts; clear them before committing"


@pytest.mark.slow
def test_notebook_runs_headless_in_the_venv_kernel():
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    client = NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on the first failing cell
    assert nb.cells[-1].outputs[0]["text"].strip() == sys.prefix  # the kernel was this venv's python
    outputs = [out for cell in code_cells(nb) for out in cell.outputs]
    assert sum("image/png" in out.get("data", {}) for out in outputs) == 4  # learning curves + 3 evaluation plots
    html = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    pages = [page for page in html if 'class="arabic-ner"' in page]  # not the Trainer's progress table
    assert len(pages) == 2 and all('dir="rtl"' in page and "<mark " in page for page in pages)  # predicted and gold
