"""The exercise contract: where notebooks live, and how exercise cells are found and stubbed.

A graded exercise is one code cell tagged ``exercise`` whose metadata holds
``"exercise": {"id": "<chapter>.<name>", "points": <int>}``. In ``solutions/`` the
reference code sits between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines;
the learner notebook in ``book/`` has a stub there instead. Cells tagged ``setup``
hold what the exercises need (imports); the grader runs its own copy of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
SOLUTIONS = ROOT / "solutions"
CHECKS = Path(__file__).resolve().parent / "checks"
GOLDEN = Path(__file__).resolve().parent / "golden"

EXERCISE_TAG = "exercise"
SETUP_TAG = "setup"
SELF_CHECK_TAG = "self-check"
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
EXERCISE_ID = re.compile(r"^(\d\d)\.[a-z][a-z0-9_]*$")
MAX_SUBMISSION_BYTES = 20 * 1024 * 1024


class Ungradable(Exception):
    """A submission that cannot be graded; the message is the one-line reason."""


class ContractError(Exception):
    """Course material that breaks the exercise contract: an instructor notebook, hidden checks
    that do not match it, or golden outputs not yet made."""


class UsageError(Exception):
    """A command-line choice that names nothing there is (a chapter that does not exist)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    points: int


def source_of(cell: dict) -> str:
    """A cell's source as one string (notebook JSON may store it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def tags_of(cell: dict) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return tags if isinstance(tags, list) else []


def exercise_of(cell: dict) -> Exercise | None:
    """The exercise a code cell declares in its metadata, or ``None``."""
    meta = cell.get("metadata", {})
    info = meta.get("exercise") if isinstance(meta, dict) else None
    if cell.get("cell_type") != "code" or not isinstance(info, dict):
        return None
    if not isinstance(info.get("id"), str):
        return None
    points = info.get("points")
    return Exercise(info["id"], points if isinstance(points, int) else 0)


def exercises_in(notebook: dict) -> list[Exercise]:
    """The exercises of an instructor or learner notebook, in order, checked against the contract."""
    found = []
    for cell in notebook["cells"]:
        exercise = exercise_of(cell)
        if exercise is None:
            if EXERCISE_TAG in tags_of(cell):
                raise ContractError("a cell tagged 'exercise' has no exercise metadata {id, points}")
            continue
        if EXERCISE_TAG not in tags_of(cell):
            raise ContractError(f"exercise {exercise.id} is not tagged 'exercise'")
        if not EXERCISE_ID.match(exercise.id):
            raise ContractError(f"exercise id {exercise.id!r} is not of the form '01.name'")
        if exercise.points <= 0:
            raise ContractError(f"exercise {exercise.id} needs a positive integer 'points'")
        if exercise.id in {e.id for e in found}:
            raise ContractError(f"exercise id {exercise.id} appears twice")
        found.append(exercise)
    return found


def setup_sources(notebook: dict) -> list[str]:
    """Sources of the cells tagged ``setup``, in order."""
    return [source_of(c) for c in notebook["cells"] if c.get("cell_type") == "code" and SETUP_TAG in tags_of(c)]


def stub_solution(source: str, exercise_id: str) -> str:
    """Replace every BEGIN/END SOLUTION region of ``source`` with a ``NotImplementedError`` stub."""
    lines = source.split("\n")
    out: list[str] = []
    inside = False
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ContractError(f"{exercise_id}: line {number} opens a solution region inside another")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f"{indent}raise NotImplementedError")
        elif marker == END:
            if not inside:
                raise ContractError(f"{exercise_id}: line {number} closes a solution region never opened")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ContractError(f"{exercise_id}: a solution region is never closed")
    if len(out) == len(lines):
        raise ContractError(f"{exercise_id}: the exercise cell has no '{BEGIN}' region")
    return "\n".join(out)


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read one of the course's own notebooks (trusted input)."""
    return nbformat.read(path, as_version=4)


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """A notebook's file content, written the way Jupyter does, so saved and generated files diff cleanly."""
    return nbformat.writes(notebook) + "\n"


def write_notebook(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Write ``notebook`` to ``path`` as :func:`notebook_text`."""
    path.write_text(notebook_text(notebook), encoding="utf-8")


def solution_sources(chapter: str) -> dict[str, str]:
    """Exercise id -> reference solution source, from the instructor notebook."""
    path = SOLUTIONS / f"{chapter}.ipynb"
    if not path.exists():
        raise ContractError(f"{path} is missing: making expected outputs (for release, per-student inputs "
                            "or the benchmark) needs the instructor's copy of the course")
    notebook = read_notebook(path)
    return {exercise_of(cell).id: source_of(cell) for cell in notebook.cells if exercise_of(cell)}


def write_submission(chapter: str, sources: dict[str, str], target: Path) -> Path:
    """Write a learner notebook whose exercise cells hold ``sources`` (e.g. the reference solutions)."""
    notebook = read_notebook(BOOK / f"{chapter}.ipynb")
    for cell in notebook.cells:
        exercise = exercise_of(cell)
        if exercise and exercise.id in sources:
            cell.source = sources[exercise.id]
    write_notebook(notebook, target)
    return target


def read_submission(path: Path) -> dict:
    """Read a learner's submission, raising :class:`Ungradable` with a clear reason if it is no notebook.

    Whatever bytes the file holds, the answer is a dict with a list of cells or ``Ungradable``
    with a one-line reason that says what to do.
    """
    name = shown(path.name)
    if not path.is_file():
        raise Ungradable(f"{shown(str(path))} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise Ungradable(f"{name} is empty: submit the .ipynb file saved from JupyterLab")
    if size > MAX_SUBMISSION_BYTES:
        raise Ungradable(f"{name} is {size / 2**20:.0f} MB, more than the "
                         f"{MAX_SUBMISSION_BYTES // 2**20} MB limit: clear the outputs (Edit > Clear Outputs of All Cells), save and submit again")
    resave = "open it in JupyterLab, save it and submit the saved .ipynb file"
    try:
        data = json.loads(path.read_bytes())
    except UnicodeDecodeError:
        raise Ungradable(f"{name} is not valid notebook JSON (it is not UTF-8 text): {resave}") from None
    except RecursionError:
        raise Ungradable(f"{name} is not valid notebook JSON (it is nested too deeply): {resave}") from None
    except ValueError:  # a syntax error, or a number too long to read
        raise Ungradable(f"{name} is not valid notebook JSON: submit the .ipynb file saved from JupyterLab") from None
    if isinstance(data, dict) and (data.get("nbformat") == 3 or "worksheets" in data):
        raise Ungradable(f"{name} is an old nbformat 3 notebook: {resave} (JupyterLab converts it to version 4)")
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise Ungradable(f"{name} is JSON but not a Jupyter notebook (no list of cells)")
    version = data.get("nbformat", 4)
    if version != 4 or isinstance(version, bool):
        raise Ungradable(f"{name} says it is nbformat {shown(repr(version))}, not 4: {resave}")
    return data


def submitted_sources(submission: dict) -> tuple[dict[str, str], list[str]]:
    """Exercise id -> source of the submitted cell, plus notes about anything unusual.

    Cells are found by their exercise id, whatever their tags; when a learner copied an
    exercise cell, the last copy counts. Cells that are no exercise of the form ``01.name``
    are ignored; an exercise cell whose source is not text raises :class:`Ungradable`.
    """
    sources: dict[str, str] = {}
    notes = []
    for cell in submission["cells"]:
        exercise = exercise_of(cell) if isinstance(cell, dict) else None
        if exercise is None or not EXERCISE_ID.fullmatch(exercise.id):
            continue
        if exercise.id in sources and exercise.id not in {note.split(":")[0] for note in notes}:
            notes.append(f"{exercise.id}: the notebook has several cells with this id; the last one was graded")
        sources[exercise.id] = _submitted_source(cell, exercise.id)
    return sources, notes


def _submitted_source(cell: dict, exercise_id: str) -> str:
    """The source of a submitted exercise cell as text the grader can run and write, or
    :class:`Ungradable` saying what is wrong with it."""
    source = cell.get("source", "")
    resave = "copy your code into a fresh copy of the exercise cell in JupyterLab, save and submit again"
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    if not isinstance(source, str):
        kind = "a list holding non-text items" if isinstance(source, list) else _JSON_KINDS.get(type(source), "no text")
        raise Ungradable(f"the source of exercise cell {exercise_id} is {kind}, not text: {resave}")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise Ungradable(f"the source of exercise cell {exercise_id} holds a character that is not valid text "
                         f"(a lone surrogate, U+D800 to U+DFFF): {resave}") from None
    return source


_JSON_KINDS = {type(None): "null", bool: "true or false", int: "a number", float: "a number", dict: "a JSON object"}


def shown(text: str, limit: int = 80) -> str:
    """``text`` safe to print on one line: odd characters escaped, cut to ``limit`` characters."""
    escaped = text.encode("ascii", "backslashreplace").decode("ascii")
    escaped = "".join(char if char.isprintable() else repr(char)[1:-1] for char in escaped)
    return escaped if len(escaped) <= limit else escaped[: limit - 3] + "..."
