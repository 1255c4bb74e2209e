"""``python -m autograder release``: make ``book/`` and the golden outputs from ``solutions/``.

``solutions/`` is the single source of truth. Each learner notebook is its instructor
notebook with the solution regions replaced by stubs and every output cleared; the golden
outputs are what the reference solutions print in the hidden checks.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from autograder.assemble import Chapter, load_chapter, resolve_chapter, save_golden
from autograder.diagnose import load_catalogue, misconception_payloads, rounds_of, run_rounds, save_misconceptions
from autograder.notebooks import (BOOK, ROOT, SELF_CHECK_TAG, SOLUTIONS, ContractError, exercise_of, exercises_in,
                                  notebook_text, read_notebook, solution_sources, source_of, stub_solution, tags_of,
                                  write_notebook)
from autograder.run import Limits
from autograder.selfcheck_data import SELFCHECK_DATA, save_public_payloads

GOLDEN_LIMITS = Limits(cell_seconds=300, notebook_seconds=1800)
# What learners get: the book and what it needs to build and run; never solutions/, the hidden
# checks or the golden outputs (all under autograder/), nor the tests that read them.
STUDENT_FILES = ["book", "attn", "_config.yml", "_toc.yml", "requirements.txt", "pyproject.toml", "README.md"]


def learner_notebook(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner's copy of an instructor notebook: stubs instead of solutions, no outputs."""
    _check_contract(solution)
    notebook = copy.deepcopy(solution)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        exercise = exercise_of(cell)
        if exercise is not None:
            cell.source = stub_solution(source_of(cell), exercise.id)
    return notebook


def _check_contract(solution: nbformat.NotebookNode) -> None:
    """Exercise metadata is valid, and each exercise is followed by its public self-check."""
    exercises_in(solution)
    code_cells = [cell for cell in solution.cells if cell.cell_type == "code"]
    for cell, following in zip(code_cells, code_cells[1:] + [None]):
        exercise = exercise_of(cell)
        if exercise and (following is None or SELF_CHECK_TAG not in tags_of(following)):
            raise ContractError(f"exercise {exercise.id} is not followed by a code cell tagged '{SELF_CHECK_TAG}'")


def stale_learner_notebooks() -> list[Path]:
    """Learner notebooks that differ from what ``release`` would write."""
    stale = []
    for solution_path in sorted(SOLUTIONS.glob("*.ipynb")):
        target = BOOK / solution_path.name
        expected = notebook_text(learner_notebook(read_notebook(solution_path)))
        if not target.exists() or target.read_text(encoding="utf-8") != expected:
            stale.append(target)
    return stale


def holds_work(path: Path) -> bool:
    """Whether a learner notebook has outputs or solved exercises: someone's work, not a release."""
    if not path.exists():
        return False
    for cell in read_notebook(path).cells:
        if cell.cell_type == "code" and cell.outputs:
            return True
        exercise = exercise_of(cell)
        if exercise and "raise NotImplementedError" not in source_of(cell):
            return True
    return False


def make_golden(chapter: Chapter) -> dict[str, list[dict]]:
    """Run the chapter's hidden checks on the reference solutions and return their outputs."""
    return make_expected(chapter, with_misconceptions=False)[0]


def make_expected(chapter: Chapter, with_misconceptions: bool = True) -> tuple[dict[str, list[dict]], dict]:
    """The golden outputs and, in the same kernel run, the misconception payloads (see
    :mod:`autograder.diagnose`) of the chapter's hidden checks."""
    name = chapter.name
    rounds = rounds_of(load_catalogue(name)) if with_misconceptions else []
    sources = [solution_sources(name)] + [{e: m.source for e, m in entries.items()} for entries in rounds]
    records = run_rounds(chapter, sources, GOLDEN_LIMITS)
    golden = {}
    for check in chapter.checks:
        record = records[0].get(check.key)
        if record is None or record["outcome"] != "passed" or not record["payloads"]:
            reason = record["reason"] if record else "it did not run"
            raise ContractError(f"{name}: the reference solution fails hidden check '{check.key}': {reason}")
        if any(payload["type"] in ("error", "other") for payload in record["payloads"]):
            raise ContractError(f"{name}: the reference solution raises, or gives a result payloads do not "
                                f"describe, in hidden check '{check.key}': {record['payloads']}")
        golden[check.key] = record["payloads"]
    return golden, misconception_payloads(chapter, rounds, records[1:], golden)


def write_student_copy(target: Path) -> None:
    """Copy the learner-facing course (see ``STUDENT_FILES``) into ``target``."""
    for name in STUDENT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(source, target / name)


def write_solutions_edition(target: Path) -> None:
    """The learner-facing course with the reference solutions in place of the stubs."""
    write_student_copy(target)
    for solution_path in sorted(SOLUTIONS.glob("*.ipynb")):
        notebook = read_notebook(solution_path)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        write_notebook(notebook, target / "book" / solution_path.name)


def site_build_command(tree: Path) -> list[str]:
    """``jupyter-book build`` of the course in ``tree``, from this environment, warnings as errors."""
    return [str(Path(sys.executable).parent / "jupyter-book"), "build", str(tree), "-W", "-n", "--keep-going"]


def build_solutions_site(target: Path) -> None:
    """Build the solutions edition of the website into ``target`` (for after the deadline)."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "course"
        write_solutions_edition(tree)
        subprocess.run(site_build_command(tree), check=True)
        shutil.copytree(tree / "_build" / "html", target)


def refuse_to_overwrite(target: Path) -> bool:
    if target.exists() and any(target.iterdir()):
        print(f"{target} exists and is not empty: choose an empty or new folder")
        return True
    return False


def main(args: argparse.Namespace) -> int:
    if args.student or args.solutions_site:
        target = Path(args.student or args.solutions_site)
        if refuse_to_overwrite(target):
            return 1
        if args.student:
            write_student_copy(target)
            print(f"wrote the learner-facing course to {target} (no solutions, hidden checks or golden outputs)")
        else:
            build_solutions_site(target)
            print(f"wrote the solutions edition of the website to {target}")
        return 0
    if args.check:
        stale = stale_learner_notebooks()
        for path in stale:
            print(f"out of date: {path.relative_to(BOOK.parent)} (run `python -m autograder release`)")
        return 1 if stale else 0
    solution_paths = sorted(SOLUTIONS.glob("*.ipynb"))
    if args.chapters:
        chosen = {resolve_chapter(name, [path.stem for path in solution_paths]) for name in args.chapters}
        solution_paths = [path for path in solution_paths if path.stem in chosen]
    worked_in = [BOOK / path.name for path in solution_paths if holds_work(BOOK / path.name)]
    if worked_in and not args.force:
        names = ", ".join(str(path.relative_to(BOOK.parent)) for path in worked_in)
        print(f"not released: {names} hold outputs or solved exercises (someone's work?). "
              "Save them elsewhere, then run again with --force to overwrite.")
        return 1
    for solution_path in solution_paths:
        target = BOOK / solution_path.name
        write_notebook(learner_notebook(read_notebook(solution_path)), target)
        print(f"wrote {target.relative_to(BOOK.parent)}")
    for solution_path in solution_paths:
        golden, misconceptions = make_expected(load_chapter(solution_path.stem))
        save_golden(solution_path.stem, golden)
        save_misconceptions(solution_path.stem, misconceptions)
        print(f"wrote golden outputs and misconception payloads for {solution_path.stem}")
        save_public_payloads(solution_path.stem)
        print(f"wrote the public self-check payloads of {solution_path.stem} to attn/{SELFCHECK_DATA.name}")
    return 0
