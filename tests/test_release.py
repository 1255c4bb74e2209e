"""The exercise contract: book/ is generated from solutions/, stubs, and nothing secret leaks."""

from __future__ import annotations

import pytest

from autograder.assemble import chapter_names, load_chapter, load_golden, resolve_chapter
from autograder.notebooks import (BOOK, SOLUTIONS, ContractError, exercise_of, exercises_in, read_notebook,
                                  source_of, stub_solution)
from autograder.release import learner_notebook, stale_learner_notebooks
from conftest import code_text, leaked_snippets, run_cli


def test_book_is_in_sync_with_solutions():
    assert stale_learner_notebooks() == [], "run `python -m autograder release`"
    finished = run_cli("release", "--check")
    assert finished.returncode == 0, finished.stdout


def test_every_solution_has_a_learner_notebook_and_hidden_checks():
    names = sorted(path.stem for path in SOLUTIONS.glob("*.ipynb"))
    assert names and names == chapter_names()
    for name in names:
        chapter = load_chapter(name)
        assert len(chapter.exercises) >= 2  # chapter 1's two; each exercise takes 20-60 minutes of work
        assert all(exercise.id.startswith(name[:2] + ".") for exercise in chapter.exercises)
        assert set(load_golden(name)) == {check.key for check in chapter.checks}


def test_chapters_are_named_in_full_or_by_number():
    assert resolve_chapter("01") == resolve_chapter("01_query_key_value") == "01_query_key_value"
    finished = run_cli("benchmark", "1")
    assert finished.returncode == 1
    assert finished.stdout.startswith("error: no chapter '1': give one of 01_query_key_value, ")


def test_no_reference_solution_appears_in_book():
    for path in BOOK.rglob("*"):
        if path.suffix == ".ipynb":
            text = code_text("\n".join(source_of(cell) for cell in read_notebook(path).cells))
        elif path.is_file():
            text = code_text(path.read_text(encoding="utf-8", errors="ignore"))
        else:
            continue
        assert not leaked_snippets(text), f"{path.name} contains solution code"


def test_learner_notebooks_have_stubs_and_no_outputs():
    for path in BOOK.glob("*.ipynb"):
        notebook = read_notebook(path)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
            if exercise_of(cell):
                assert "raise NotImplementedError" in source_of(cell)


def test_stub_keeps_signature_docstring_and_indentation():
    source = 'def f(x):\n    """Double x."""\n    # BEGIN SOLUTION\n    y = 2 * x\n    return y\n    # END SOLUTION\n'
    assert stub_solution(source, "00.f") == (
        'def f(x):\n    """Double x."""\n    # YOUR CODE HERE\n    raise NotImplementedError\n')


@pytest.mark.parametrize("source, problem", [
    ("def f():\n    return 1\n", "no '# BEGIN SOLUTION' region"),
    ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "never closed"),
    ("def f():\n    # END SOLUTION\n", "never opened"),
])
def test_broken_solution_markers_are_reported(source, problem):
    with pytest.raises(ContractError, match=problem):
        stub_solution(source, "00.f")


def test_contract_violations_are_reported():
    notebook = read_notebook(SOLUTIONS / "01_query_key_value.ipynb")
    exercise = next(cell for cell in notebook.cells if exercise_of(cell))
    exercise.metadata["exercise"]["id"] = "first exercise"
    with pytest.raises(ContractError, match="not of the form"):
        exercises_in(notebook)
    exercise.metadata["exercise"] = {"id": "01.softmax", "points": 3}  # the first exercise's own id again
    notebook.cells.remove(next(cell for cell in notebook.cells if "self-check" in cell.metadata.get("tags", [])))
    with pytest.raises(ContractError, match="not followed by a code cell tagged 'self-check'"):
        learner_notebook(notebook)
