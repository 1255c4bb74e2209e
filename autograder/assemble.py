"""Hidden checks, golden outputs, and the grading notebook built from them.

Hidden checks live in ``autograder/checks/<chapter>.py``, a percent-format file:
``# %% setup`` starts code the checks need (imports), and ``# %% <exercise id> | <label>``
starts one check cell; the label names the kind of input, and is what a learner sees in
feedback. A check cell calls ``_check(function, *args)``, which displays the payload of
the result. Golden outputs, the payloads the reference solution produced, live in
``autograder/golden/<chapter>.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, replace

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

from attn.grading import CHECK_MIME
from autograder.notebooks import (BOOK, CHECKS, GOLDEN, ContractError, Exercise, UsageError, exercises_in,
                                  read_notebook, setup_sources)

SEED = re.compile(r"\b(default_rng|manual_seed)\((\d+)\)")
CHECK_HEADER = re.compile(r"^# %% (?P<exercise>\S+) \| (?P<label>.+?)\s*$")
SETUP_HEADER = "# %% setup"
PRELUDE = "from attn.grading import ModuleState, reporter"
SNAPSHOT = "_grader_state = ModuleState()  # after the setup: what each exercise starts from"
BOUNDARY = "_grader_state.restore()  # undo any patching by earlier exercises"
CHECK = "_check = reporter({token!r})  # this cell's results carry its token\n{source}"


@dataclass(frozen=True)
class Check:
    exercise: str
    label: str
    source: str

    @property
    def key(self) -> str:
        return f"{self.exercise} | {self.label}"


@dataclass
class Chapter:
    """Everything the grader needs about one chapter; none of it comes from a submission."""

    name: str
    exercises: list[Exercise]
    setup: list[str]
    check_setup: str
    checks: list[Check]

    def checks_for(self, exercise_id: str) -> list[Check]:
        return [check for check in self.checks if check.exercise == exercise_id]


def chapter_names() -> list[str]:
    """Chapters that have a learner notebook and hidden checks."""
    return sorted(path.stem for path in CHECKS.glob("*.py") if (BOOK / f"{path.stem}.ipynb").exists())


def resolve_chapter(name: str, known: list[str] | None = None) -> str:
    """The chapter ``name`` means, by its full name or its number (``01``); ``known`` defaults to
    :func:`chapter_names`. Raise UsageError listing the chapters when there is none."""
    known = chapter_names() if known is None else known
    for chapter in known:
        if name in (chapter, chapter.split("_")[0]):
            return chapter
    raise UsageError(f"no chapter {name!r}: give one of {', '.join(known)} (or its number, e.g. 01)")


def load_chapter(name: str) -> Chapter:
    """Read a chapter's exercises and setup cells from ``book/`` and its hidden checks."""
    notebook = read_notebook(BOOK / f"{name}.ipynb")
    check_setup, checks = parse_checks((CHECKS / f"{name}.py").read_text(encoding="utf-8"))
    chapter = Chapter(name, exercises_in(notebook), setup_sources(notebook), check_setup, checks)
    ids = {exercise.id for exercise in chapter.exercises}
    for check in checks:
        if check.exercise not in ids:
            raise ContractError(f"{name}: a hidden check names unknown exercise {check.exercise}")
    for exercise_id in ids:
        labels = [check.label for check in chapter.checks_for(exercise_id)]
        if not labels:
            raise ContractError(f"{name}: exercise {exercise_id} has no hidden checks")
        if len(labels) != len(set(labels)):
            raise ContractError(f"{name}: exercise {exercise_id} has two checks with the same label")
    return chapter


def parse_checks(text: str) -> tuple[str, list[Check]]:
    """Split a checks file into its setup code and its check cells."""
    blocks: list[tuple[str, list[str]]] = []  # (header line, body lines)
    for line in text.splitlines():
        if CHECK_HEADER.match(line) or line.strip() == SETUP_HEADER:
            blocks.append((line.strip(), []))
        elif blocks:
            blocks[-1][1].append(line)
    setup = [body for header, body in blocks if header == SETUP_HEADER]
    checks = []
    for header, body in blocks:
        match = CHECK_HEADER.match(header)
        if match:
            checks.append(Check(match["exercise"], match["label"], "\n".join(body).strip()))
    return "\n\n".join("\n".join(body).strip() for body in setup), checks


def vary_inputs(chapter: Chapter, student: str) -> Chapter:
    """The chapter with every literal seed of its hidden checks shifted by a number drawn from
    ``student``, so that each student's random hidden inputs (and expected outputs) differ."""
    offset = int(hashlib.sha256(student.encode()).hexdigest(), 16) % 1_000_000

    def shifted(source: str) -> str:
        return SEED.sub(lambda match: f"{match[1]}({int(match[2]) + offset})", source)

    return replace(chapter, checks=[replace(check, source=shifted(check.source)) for check in chapter.checks])


def grading_notebook(
    chapter: Chapter,
    sources: dict[str, str],
    golden: dict[str, list[dict]] | None,
    exercise_ids: list[str],
) -> nbformat.NotebookNode:
    """The notebook nbval runs: prelude, the chapter's setup, then each exercise and its checks.

    A learner's submission is graded with one notebook, and so one fresh kernel, per
    exercise: nothing an exercise does in its kernel can reach another's. Such a notebook
    names its exercise in its metadata, so that its sandbox shows the course package without
    that exercise's answers (``autograder.course_code``). Several exercises in one notebook
    (trusted code: the reference solutions, the misconceptions) are separated by boundary
    cells that restore what the earlier exercises changed (``attn.grading.ModuleState``).

    ``sources`` maps exercise ids to the code to grade. With ``golden``, check cells carry the
    expected outputs; without it (when making golden outputs) they carry none.
    """
    cells = [_cell(f"{PRELUDE}\n{chapter.check_setup}".strip(), role="prelude")]
    cells += [_cell(source, role="setup") for source in chapter.setup]
    shared = len(exercise_ids) > 1  # one kernel for several exercises: restore state between them
    if shared:
        cells.append(_cell(SNAPSHOT, role="prelude"))
    for exercise_id in exercise_ids:
        if shared:
            cells.append(_cell(BOUNDARY, role="boundary", exercise=exercise_id))
        missing = "# No cell with this exercise id was found in the submission."
        cells.append(_cell(sources.get(exercise_id, missing), role="exercise", exercise=exercise_id))
        for check in chapter.checks_for(exercise_id):
            token = secrets.token_hex(8)
            cell = _cell(CHECK.format(token=token, source=check.source), role="check", exercise=exercise_id,
                         label=check.label, token=token)
            if golden is not None:
                cell.execution_count = 1
                cell.outputs = [new_output("display_data", data={CHECK_MIME: payload})
                                for payload in golden[check.key]]
            cells.append(cell)
    notebook = new_notebook(cells=cells)
    if not shared:
        notebook.metadata["grader"] = {"exercise": exercise_ids[0]}
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def _cell(source: str, **grader: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["grader"] = grader
    return cell


def load_golden(name: str) -> dict[str, list[dict]]:
    path = GOLDEN / f"{name}.json"
    if not path.exists():
        raise ContractError(f"no golden outputs for {name}: run `python -m autograder release`")
    return json.loads(path.read_text(encoding="utf-8"))


def save_golden(name: str, golden: dict[str, list[dict]]) -> None:
    GOLDEN.mkdir(exist_ok=True)
    lines = [f" {json.dumps(key)}: {json.dumps(golden[key])}" for key in sorted(golden)]
    text = "{\n" + ",\n".join(lines) + "\n}\n"  # one line per check: diffs show which changed
    (GOLDEN / f"{name}.json").write_text(text, encoding="utf-8")
