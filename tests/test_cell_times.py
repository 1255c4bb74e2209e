"""Every cell of the website's build runs within a time budget, so the README's first command
also succeeds on a machine several times slower than the one the course is built on.

The build records how long each cell ran (book/_ext/notebook_execution.py turns on
nbclient's timing) beside the jupyter-cache of the current data state; this test reads the
record of the current version of every chapter notebook.
"""

from __future__ import annotations

import nbformat

from conftest import ROOT
from course_pages import toc_files
from notebook_execution import cache_folder, cell_times

CELL_BUDGET_S = 90  # the execution timeout in _config.yml (600 s) leaves a factor of 6.7


def recorded(name: str) -> dict:
    """The build's record of book/<name>.ipynb's cell times, which must be of its current code."""
    path = ROOT / f"{name}.ipynb"
    times = cell_times(cache_folder(ROOT / "_build"), path)
    assert times is not None, f"{name}: the build has no record of executing it"
    current = [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert times["sources"] == current, f"{name}: the record is of an older version"
    return times


def test_every_cell_of_the_build_runs_within_the_budget(site):
    chapters = [name for name in toc_files() if (ROOT / f"{name}.ipynb").exists()]
    assert len(chapters) >= 9
    slow, longest = [], (0.0, "")
    for name in chapters:
        times = recorded(name)
        assert None not in times["seconds"], f"{name}: a code cell has no recorded time"
        for source, took in zip(times["sources"], times["seconds"]):
            first_line = source.strip().splitlines()[0] if source.strip() else ""
            longest = max(longest, (took, f"{name}: {first_line}"))
            if took > CELL_BUDGET_S:
                slow.append(f"{name}: {took:.0f} s in the cell starting {first_line!r}")
    assert not slow, f"cells over the budget of {CELL_BUDGET_S} s:\n" + "\n".join(slow)
    print(f"longest cell: {longest[0]:.1f} s ({longest[1]})")
