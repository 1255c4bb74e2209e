"""When a notebook fails during the website's build, the build says so in one line per
failing notebook (which cell, why, what to do) before the details, and builds the rest.

A small book of three notebooks is built with the course's own extension: one that runs,
one whose second cell raises, one whose cell runs past the timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

from autograder.release import site_build_command
from conftest import ROOT


def notebook(*sources: str) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# A page"}] + [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
        for source in sources]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return json.dumps({"cells": cells, "metadata": kernel, "nbformat": 4, "nbformat_minor": 5})


def test_a_failing_build_names_each_failing_notebook_and_cell_first(tmp_path: Path):
    (tmp_path / "_config.yml").write_text(textwrap.dedent(f"""\
        title: A small book
        execute:
          execute_notebooks: cache
          timeout: 3
        sphinx:
          local_extensions:
            notebook_execution: {ROOT / "book" / "_ext"}
          config:
            nb_execution_raise_on_error: false
        """))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                       "  - file: runs\n  - file: raises\n  - file: sleeps\n")
    (tmp_path / "intro.md").write_text("# Intro\n")
    (tmp_path / "runs.ipynb").write_text(notebook("print('fine')"))
    (tmp_path / "raises.ipynb").write_text(notebook("x = 1", "x / 0"))
    (tmp_path / "sleeps.ipynb").write_text(notebook("import time\ntime.sleep(60)"))
    env = {key: value for key, value in os.environ.items() if key != "CONLL2003_DIR"}
    logs = []
    for _ in range(2):  # the second build runs the failed notebooks again, and fails again
        finished = subprocess.run(site_build_command(tmp_path), cwd=tmp_path, env=env, timeout=300,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert finished.returncode != 0, finished.stdout[-3000:]
        logs.append(finished.stdout)
    log, again = logs

    raised = "NOTEBOOK FAILED: raises.ipynb, cell 3 ('x / 0'): ZeroDivisionError: division by zero."
    timed_out = "NOTEBOOK FAILED: sleeps.ipynb, cell 2 ('import time'): CellTimeoutError"
    assert raised in log and timed_out in log, log[-3000:]
    assert log.index(raised) < log.index("Executing notebook failed: CellExecutionError")
    assert log.index(timed_out) < log.index("Executing notebook failed: CellTimeoutError")
    assert "runs.ipynb" not in [line.split(",")[0][17:] for line in log.splitlines()
                                if line.startswith("NOTEBOOK FAILED")]
    summary_lines = [line for line in log.splitlines() if "NOTEBOOK FAILED" in line]
    assert len(summary_lines) == 4, summary_lines  # each once as it happens, once at the end
    assert raised in again and timed_out in again and "runs.ipynb: Executing" not in again
    assert (tmp_path / "_build" / "html" / "runs.html").exists()  # the rest of the site is built
    assert (tmp_path / "_build" / ".jupyter_cache" / "conll2003-absent").is_dir()
