"""Every cell of the website's build runs within a time budget, so the README's first command
also succeeds on a machine several times slower than the one the course is built on.

The build records each cell's start and end (book/_ext/notebook_execution.py turns on
nbclient's timing) in the jupyter-cache of the current data state; this test reads them
for the current version of every chapter notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from jupyter_cache import get_cache

from conftest import ROOT
from course_pages import toc_files
from notebook_execution import cache_folder, cell_seconds

CELL_BUDGET_S = 90  # the execution timeout in _config.yml (600 s) leaves a factor of 6.7


def executed(name: str) -> nbformat.NotebookNode:
    """The build's latest execution of book/<name>.ipynb, which must be of its current code."""
    cache = get_cache(str(cache_folder(ROOT / "_build")))
    path = ROOT / f"{name}.ipynb"
    records = [record for record in cache.list_cache_records() if Path(record.uri) == path]
    assert records, f"{name}: the build has not executed it"
    latest = max(records, key=lambda record: record.created)
    notebook = cache.get_cache_bundle(latest.pk).nb

    def code(nb: nbformat.NotebookNode) -> list[str]:
        return [cell.source for cell in nb.cells if cell.cell_type == "code"]

    assert code(notebook) == code(nbformat.read(path, as_version=4)), f"{name}: executed an older version"
    return notebook


def test_every_cell_of_the_build_runs_within_the_budget(site):
    chapters = [name for name in toc_files() if (ROOT / f"{name}.ipynb").exists()]
    assert len(chapters) >= 9
    slow, longest = [], (0.0, "")
    for name in chapters:
        code = [cell for cell in executed(name).cells if cell.cell_type == "code"]
        seconds = [cell_seconds(cell) for cell in code]
        assert None not in seconds, f"{name}: a code cell has no recorded time"
        for cell, took in zip(code, seconds):
            first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            longest = max(longest, (took, f"{name}: {first_line}"))
            if took > CELL_BUDGET_S:
                slow.append(f"{name}: {took:.0f} s in the cell starting {first_line!r}")
    assert not slow, f"cells over the budget of {CELL_BUDGET_S} s:\n" + "\n".join(slow)
    print(f"longest cell: {longest[0]:.1f} s ({longest[1]})")
