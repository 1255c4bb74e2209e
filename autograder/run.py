"""Run a grading notebook with ``pytest --nbval`` in a subprocess, and return one record per cell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.notebooks import ROOT, write_notebook

STARTUP_SECONDS = 120  # kernel start and pytest start-up, on a slow machine


def run_grading_notebook(notebook: nbformat.NotebookNode, cell_timeout: int) -> list[dict]:
    """Execute ``notebook`` under nbval with the grader plugin; return the plugin's per-cell records.

    The notebook and the report live in a private directory; the kernel runs in a separate,
    empty scratch directory, so nothing there reveals the golden outputs.
    """
    with tempfile.TemporaryDirectory(prefix="grader-") as private, \
            tempfile.TemporaryDirectory(prefix="kernel-") as scratch:
        private_dir = Path(private)
        notebook_path = private_dir / "grading.ipynb"
        report_path = private_dir / "report.json"
        write_notebook(notebook, notebook_path)
        (private_dir / "pytest.ini").write_text("[pytest]\n")
        command = [
            sys.executable, "-m", "pytest", str(notebook_path),
            "--nbval", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout}",
            "-p", "autograder.nbval_plugin", "-p", "no:cacheprovider",
            f"--grader-report={report_path}", f"--grader-kernel-cwd={scratch}",
            "-c", str(private_dir / "pytest.ini"), "--rootdir", private, "-q",
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        budget = STARTUP_SECONDS + cell_timeout * len(notebook.cells)
        try:
            finished = subprocess.run(command, cwd=private, env=env, capture_output=True,
                                      text=True, timeout=budget)
        except subprocess.TimeoutExpired:
            return []
        if not report_path.exists():
            raise RuntimeError(f"the grading run crashed:\n{finished.stdout[-2000:]}{finished.stderr[-2000:]}")
        return json.loads(report_path.read_text())
