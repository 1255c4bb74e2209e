"""Any bad file gets a clear answer (issue 12, item 7).

Whatever bytes a submission holds, the notebook reader either returns exercise sources the
grader can run and write, or raises ``Ungradable`` with a one-line reason. Hypothesis throws
malformed notebook JSON at the reader in-process (wrong types everywhere, lone surrogates,
huge and deeply nested values, nbformat 3, duplicate exercise ids, sources that are lists
holding numbers, bytes that are not UTF-8); a handful of fixed nasty files go through the
command line, which must exit 0 (graded) or 2 (one line saying why, and a zero-score results
file), never 1 and never with a traceback.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from autograder.assemble import grading_notebook, load_chapter, load_golden
from autograder.notebooks import (BOOK, EXERCISE_ID, Ungradable, notebook_text, read_submission,
                                  solution_sources, submitted_sources)
from conftest import CHAPTER, POINTS, run_cli

LEARNER = json.loads((BOOK / f"{CHAPTER}.ipynb").read_text(encoding="utf-8"))
COURSE_IDS = sorted(POINTS)
_SCRATCH = tempfile.TemporaryDirectory(prefix="bad-files-")  # removed when the test run ends
SCRATCH = Path(_SCRATCH.name)
set_hypothesis_home_dir(str(SCRATCH / ".hypothesis"))  # its caches go there, not into the repository

# --------------------------------------------------------------------------- strategies

characters = st.one_of(st.characters(), st.characters(categories=["Cs"]))  # Cs: lone surrogates
texts = st.text(characters, max_size=12)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                             st.dictionaries(texts, inner, max_size=4)),
                           max_leaves=12)


def either(right: st.SearchStrategy) -> st.SearchStrategy:
    """The right kind of value, or any JSON value at all."""
    return st.one_of(right, json_values)


exercise_ids = st.one_of(st.sampled_from(COURSE_IDS), texts, st.sampled_from(["01.softmax\n", "١١.softmax", "01.Softmax"]))
sources = st.one_of(texts, st.lists(either(texts), max_size=4))
metadata = st.fixed_dictionaries({}, optional={
    "exercise": either(st.fixed_dictionaries({}, optional={"id": either(exercise_ids), "points": json_values})),
    "tags": either(st.lists(either(st.sampled_from(["exercise", "setup", "self-check"])), max_size=3)),
})
cells = st.fixed_dictionaries({}, optional={
    "cell_type": either(st.sampled_from(["code", "markdown", "raw"])),
    "metadata": either(metadata),
    "source": either(sources),
    "outputs": json_values,
})
notebooks = st.fixed_dictionaries({}, optional={
    "cells": either(st.lists(either(cells), max_size=6)),
    "nbformat": either(st.sampled_from([4, 3, 5, 4.0])),
    "nbformat_minor": json_values,
    "metadata": json_values,
    "worksheets": json_values,
})


def serialised(notebook: object, ascii_only: bool, indent: int | None) -> bytes:
    """JSON bytes as a careless tool might write them: surrogates escaped (valid JSON holding
    invalid text) or written raw (bytes that are not UTF-8)."""
    return json.dumps(notebook, ensure_ascii=ascii_only, indent=indent).encode("utf-8", "surrogatepass")


# --------------------------------------------------------------------------- the property

def answer_for(content: bytes) -> tuple[dict[str, str], list[str]] | str:
    """What the reader makes of ``content``: the sources and notes, or the reason it is ungradable.
    Any other exception fails the test."""
    path = SCRATCH / "submission.ipynb"
    path.write_bytes(content)
    try:
        return submitted_sources(read_submission(path))
    except Ungradable as reason:
        return str(reason)


def assert_clear_answer(content: bytes) -> None:
    answer = answer_for(content)
    if isinstance(answer, str):  # one printable line that names the file or the cell
        assert answer and "\n" not in answer and "\r" not in answer and len(answer) < 400, answer
        answer.encode("utf-8")
        return
    found, notes = answer
    for exercise_id, source in found.items():
        assert EXERCISE_ID.fullmatch(exercise_id) and isinstance(source, str)
        source.encode("utf-8")  # the grader writes it into the grading notebook
    for note in notes:
        assert "\n" not in note
        note.encode("utf-8")
    graded = {exercise_id: source for exercise_id, source in found.items() if exercise_id in POINTS}
    if graded:  # what the grader does next: build and write the grading notebook
        notebook_text(grading_notebook(CHAPTER_1, graded, GOLDEN_1, list(graded)))


CHAPTER_1 = load_chapter(CHAPTER)
GOLDEN_1 = load_golden(CHAPTER)
FUZZ = settings(max_examples=300, deadline=None, database=None,  # no .hypothesis/ folder in the repository
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(notebook=notebooks, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
@example(notebook={"cells": [{"cell_type": "code", "metadata": {"exercise": {"id": "01.softmax"}},
                              "source": "def softmax(s):\n    return '\ud800'\n"}]}, ascii_only=True, indent=None)
@example(notebook={"cells": [{"cell_type": "code", "metadata": {"exercise": {"id": "01.soft_lookup"}},
                              "source": ["def soft_lookup(q, K, V):\n", 7, None]}]}, ascii_only=True, indent=None)
@example(notebook={"nbformat": 3, "worksheets": [{"cells": []}]}, ascii_only=True, indent=1)
def test_malformed_notebook_json_gets_a_clear_answer(notebook, ascii_only, indent):
    assert_clear_answer(serialised(notebook, ascii_only, indent))


def cell_of(exercise_id: str, source: object) -> dict:
    return {"cell_type": "code", "metadata": {"exercise": {"id": exercise_id, "points": 1}}, "source": source}


@FUZZ
@given(copies=st.lists(st.tuples(st.sampled_from(COURSE_IDS), either(sources)), min_size=1, max_size=8))
def test_duplicate_exercise_ids_keep_the_last_copy_or_say_what_is_wrong(copies):
    notebook = {**LEARNER, "cells": [cell_of(exercise_id, source) for exercise_id, source in copies]}
    answer = answer_for(serialised(notebook, True, None))
    assert_clear_answer(serialised(notebook, True, None))
    if isinstance(answer, str):
        return
    found, notes = answer
    last = {exercise_id: source for exercise_id, source in copies}
    assert found == {exercise_id: "".join(source) if isinstance(source, list) else source
                     for exercise_id, source in last.items()}
    repeated = {exercise_id for exercise_id in last if [i for i, _ in copies].count(exercise_id) > 1}
    assert {note.split(":")[0] for note in notes} == repeated


VALID = json.dumps(LEARNER).encode()


@FUZZ
@given(cut=st.integers(0, len(VALID)), noise=st.binary(max_size=16), at=st.integers(0, len(VALID)))
def test_damaged_bytes_of_a_real_notebook_get_a_clear_answer(cut, noise, at):
    assert_clear_answer(VALID[:cut])
    assert_clear_answer(VALID[:at] + noise + VALID[at:])


@FUZZ
@given(content=st.binary(max_size=256))
def test_arbitrary_bytes_get_a_clear_answer(content):
    assert_clear_answer(content)


@pytest.mark.parametrize("depth", [10, 1_000, 100_000])
def test_deeply_nested_json_gets_a_clear_answer(depth):
    assert_clear_answer(b'{"cells": ' + b"[" * depth + b"]" * depth + b"}")
    assert_clear_answer(b'{"cells": [{"metadata": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}]}")


def test_huge_values_get_a_clear_answer():
    assert_clear_answer(b'{"cells": [], "nbformat": ' + b"9" * 5000 + b"}")  # past Python's int-digit limit
    long_source = "x = 1\n" * 1_000_000
    assert_clear_answer(json.dumps({**LEARNER, "cells": [cell_of("01.softmax", long_source)]}).encode())


# --------------------------------------------------------------------------- the command line

def notebook_with(cell: dict) -> bytes:
    return json.dumps({**LEARNER, "cells": [*LEARNER["cells"], cell]}).encode()


NASTY = {
    "empty": (b"", "is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "not valid notebook JSON"),
    "not UTF-8": ('{"cells": [], "nbformat": 4, "x": "caf\u00e9"}'.encode("latin-1"), "not valid notebook JSON"),
    "a lone surrogate in a source": (notebook_with(cell_of("01.softmax", "x = '\ud800'")), "lone surrogate"),
    "a source list holding a number": (notebook_with(cell_of("01.soft_lookup", ["def soft_lookup(q, K, V):\n", 42])), "not text"),
    "deeply nested": (b'{"cells": [' + b"[" * 200_000 + b"]" * 200_000 + b"]}", "not valid notebook JSON"),
    "a number of 5000 digits": (b'{"cells": [], "nbformat": ' + b"7" * 5000 + b"}", "not valid notebook JSON"),
    "nbformat 3": (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": []}],
                               "metadata": {}}).encode(), "nbformat 3"),
    "cells that are not a list": (json.dumps({**LEARNER, "cells": {"0": {}}}).encode(), "not a Jupyter notebook"),
    "only a surrogate exercise id": (json.dumps({"nbformat": 4, "cells": [cell_of("01.\ud800", "x")] * 2}).encode(),
                                     "no exercise of this course"),
}


@pytest.mark.parametrize("name", list(NASTY))
def test_nasty_files_exit_2_with_one_line_and_a_zero_score(tmp_path, name):
    content, reason = NASTY[name]
    path = tmp_path / "submission.ipynb"
    path.write_bytes(content)
    results_path = tmp_path / "results.json"
    finished = run_cli("grade", str(path), "--results", str(results_path), timeout=120)
    assert finished.returncode == 2, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "Traceback" not in finished.stdout + finished.stderr
    lines = finished.stdout.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], finished.stdout
    results = json.loads(results_path.read_text())
    assert results["score"] == 0 and results["tests"] == [] and reason in results["output"]


def test_a_notebook_with_junk_around_its_exercises_is_graded(tmp_path):
    """Cells that are numbers, markdown with exercise metadata, a duplicate exercise and odd
    characters outside the exercises do not stop the grading (exit 0)."""
    solved = solution_sources(CHAPTER)
    cells = [7, None, "cell", {"cell_type": "markdown", "metadata": {"exercise": {"id": "01.softmax"}}, "source": "\ud800"},
             cell_of("01.softmax", "wrong = True"), *(cell_of(i, source) for i, source in solved.items()),
             {"cell_type": "code", "metadata": [], "source": ["# \udfff", 3]}]
    path = tmp_path / "submission.ipynb"
    path.write_bytes(json.dumps({**LEARNER, "cells": cells}).encode())
    results_path = tmp_path / "results.json"
    finished = run_cli("grade", str(path), "--results", str(results_path), timeout=300)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    results = json.loads(results_path.read_text())
    assert results["score"] == sum(POINTS.values())
    assert "01.softmax: the notebook has several cells with this id" in results["output"]


def test_a_class_with_odd_file_names_is_graded_into_a_gradebook(tmp_path):
    """File names are bytes too: one that is not UTF-8, or holds a newline, gets its row."""
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    learner = (BOOK / f"{CHAPTER}.ipynb").read_bytes()
    for name in (b"caf\xe9.ipynb", b"two\nlines.ipynb"):
        Path(os.fsdecode(bytes(class_dir) + b"/" + name)).write_bytes(learner)
    out = tmp_path / "gradebook"
    finished = run_cli("grade", str(class_dir), "--out", str(out), "--jobs", "2", timeout=300)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "Traceback" not in finished.stdout + finished.stderr
    with (out / "gradebook.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and [row["total"] for row in rows] == ["0", "0"]
    assert len(list((out / "results").glob("*.json"))) == 2


def test_an_ungradable_file_with_an_odd_name_gets_one_line(tmp_path):
    path = tmp_path / "two\nlines.ipynb"
    path.write_bytes(b"")
    finished = run_cli("grade", str(path), "--results", str(tmp_path / "results.json"), timeout=120)
    assert finished.returncode == 2 and "Traceback" not in finished.stdout + finished.stderr
    lines = finished.stdout.strip().splitlines()
    assert len(lines) == 1 and "is empty" in lines[0], finished.stdout
