"""Shared fixtures: paths, and submissions made from the learner notebook."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the autograder runs from the repository root, uninstalled

from autograder.notebooks import BOOK, SOLUTIONS, exercise_of, read_notebook, source_of  # noqa: E402

CHAPTER = "01_query_key_value"


def solution_sources(chapter: str = CHAPTER) -> dict[str, str]:
    """Exercise id -> reference source, from the instructor notebook."""
    notebook = read_notebook(SOLUTIONS / f"{chapter}.ipynb")
    return {exercise_of(cell).id: source_of(cell) for cell in notebook.cells if exercise_of(cell)}


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
