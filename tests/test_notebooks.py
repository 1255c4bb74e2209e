"""Every notebook runs top to bottom: instructor versions pass nbval and their self-checks,
learner versions run in their stub state with friendly self-check messages."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.notebooks import BOOK, SELF_CHECK_TAG, SOLUTIONS
from conftest import ROOT

NOTEBOOKS = sorted(path.name for path in SOLUTIONS.glob("*.ipynb"))


def execute(path) -> nbformat.NotebookNode:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


def text_of(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


def assert_no_stderr(notebook):
    for cell in notebook.cells:
        for out in getattr(cell, "outputs", []):
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_solutions_pass_their_own_self_checks(name):
    notebook = execute(SOLUTIONS / name)
    assert_no_stderr(notebook)
    self_checks = [c for c in notebook.cells if SELF_CHECK_TAG in c.metadata.get("tags", [])]
    assert self_checks
    for cell in self_checks:
        assert text_of(cell).startswith("✓"), text_of(cell)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_learner_notebooks_run_in_their_stub_state(name):
    notebook = execute(BOOK / name)
    assert_no_stderr(notebook)
    for cell in notebook.cells:
        if SELF_CHECK_TAG in cell.metadata.get("tags", []):
            assert "not implemented yet" in text_of(cell)


def test_solutions_pass_nbval():
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
         "-q", *[str(SOLUTIONS / name) for name in NOTEBOOKS]],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stdout[-3000:]
