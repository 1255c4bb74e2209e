"""Shared fixtures: paths, and submissions made from the learner notebook."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the autograder runs from the repository root, uninstalled

from autograder.notebooks import BEGIN, BOOK, END, SOLUTIONS, exercise_of, read_notebook, source_of  # noqa: E402

CHAPTER = "01_query_key_value"


def solution_sources(chapter: str = CHAPTER) -> dict[str, str]:
    """Exercise id -> reference source, from the instructor notebook."""
    notebook = read_notebook(SOLUTIONS / f"{chapter}.ipynb")
    return {exercise_of(cell).id: source_of(cell) for cell in notebook.cells if exercise_of(cell)}


def code_text(text: str) -> str:
    """Text with comments cut from every line and all whitespace collapsed to single spaces."""
    return " ".join(" ".join(line.split("#")[0].split()) for line in text.splitlines()).strip()


def solution_snippets() -> set[str]:
    """What would give a solution away: each two consecutive code lines of a solution region,
    or the line itself when the region has one line (comments and layout ignored)."""
    snippets = set()
    for path in SOLUTIONS.glob("*.ipynb"):
        for cell in read_notebook(path).cells:
            region: list[str] | None = None
            for line in source_of(cell).splitlines():
                if line.strip() == BEGIN:
                    region = []
                elif line.strip() == END and region is not None:
                    pairs = [f"{a} {b}" for a, b in zip(region, region[1:])]
                    snippets.update(pairs or region)
                    region = None
                elif region is not None and code_text(line):
                    region.append(code_text(line))
    return snippets


def leaked_snippets(text: str) -> list[str]:
    """The solution snippets found in ``text`` (which must already be passed through code_text)."""
    snippets = solution_snippets()
    assert snippets, "found no solution code at all"
    return sorted(snippet for snippet in snippets if snippet in text)


@pytest.fixture
def make_submission(tmp_path: Path):
    """Write a learner notebook whose exercise cells hold the given sources; return its path."""

    def make(sources: dict[str, str], chapter: str = CHAPTER, name: str = "submission.ipynb") -> Path:
        notebook = copy.deepcopy(read_notebook(BOOK / f"{chapter}.ipynb"))
        for cell in notebook.cells:
            exercise = exercise_of(cell)
            if exercise and exercise.id in sources:
                cell.source = sources[exercise.id]
        path = tmp_path / name
        path.write_text(json.dumps(notebook))
        return path

    return make
