"""Run a grading notebook with ``pytest --nbval`` in a subprocess, and return one record per cell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.notebooks import ROOT, write_notebook


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    cell_seconds: int = 60        # one cell
    notebook_seconds: int = 600   # the whole grading run
    memory_mb: int = 4096         # the kernel's data segment
    output_kb: int = 1024         # what one cell may print or display


def kill_processes_in(folder: Path) -> None:
    """Kill every process whose working directory is ``folder`` (Linux; elsewhere the kernel
    notices that its parent died and exits by itself within a second)."""
    for cwd_link in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if Path(os.readlink(cwd_link)) == folder.resolve():
                os.kill(int(cwd_link.parent.name), signal.SIGKILL)
        except OSError:  # the process ended meanwhile, or is not ours to inspect
            continue


def run_grading_notebook(notebook: nbformat.NotebookNode, limits: Limits) -> list[dict]:
    """Execute ``notebook`` under nbval with the grader plugin; return the plugin's per-cell records.

    The notebook and the report live in a private directory; the kernel runs in a separate,
    empty scratch directory, so nothing there reveals the golden outputs. A run that passes
    ``limits.notebook_seconds`` is stopped and returns the records it has: none.
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
            "--nbval", "--nbval-current-env", f"--nbval-cell-timeout={limits.cell_seconds}",
            "-p", "autograder.nbval_plugin", "-p", "no:cacheprovider",
            f"--grader-report={report_path}", f"--grader-kernel-cwd={scratch}",
            f"--grader-memory-mb={limits.memory_mb}", f"--grader-output-kb={limits.output_kb}",
            "-c", str(private_dir / "pytest.ini"), "--rootdir", private, "-q",
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        process = subprocess.Popen(command, cwd=private, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output, _ = process.communicate(timeout=limits.notebook_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and everything in its session
            process.communicate()
            kill_processes_in(Path(scratch))  # the kernel runs in a session of its own
            return []
        if not report_path.exists():
            raise RuntimeError(f"the grading run crashed:\n{output[-4000:]}")
        return json.loads(report_path.read_text())
