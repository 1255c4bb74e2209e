"""The misconception catalogue; diagnosis in the grader, with per-student inputs and in the public
self-checks; partial credit; and the diagnosis measured on an independent corpus."""

from __future__ import annotations

import importlib.util
import json
import re
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.assemble import chapter_names, load_chapter, load_golden
from autograder.credit import all_or_nothing, credit
from autograder.diagnose import diagnose, load_catalogue, load_misconceptions
from autograder.grade import grade_submission
from autograder.notebooks import BOOK, exercise_of, read_notebook, solution_sources
from autograder.results import gradescope_results
from conftest import CHAPTER, ROOT

CATALOGUED = [name for name in chapter_names() if load_catalogue(name)]
FIRST_NINE = [name for name in chapter_names() if name[:2] <= "09"]

_spec = importlib.util.spec_from_file_location("measure", ROOT / "tests" / "corpus" / "measure.py")
measure = sys.modules["measure"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure)


def headings(chapter: str) -> set[str]:
    notebook = read_notebook(BOOK / f"{chapter}.ipynb")
    return {line.lstrip("#").strip() for cell in notebook.cells if cell.cell_type == "markdown"
            for line in cell.source.splitlines() if line.startswith("#")}


@pytest.mark.parametrize("chapter", FIRST_NINE)
def test_every_exercise_has_three_misconceptions_pointing_at_a_section(chapter):
    catalogue = load_catalogue(chapter)
    for exercise in load_chapter(chapter).exercises:
        assert sum(entry.exercise == exercise.id for entry in catalogue) >= 3, exercise.id
    sections = headings(chapter)
    for entry in catalogue:
        assert entry.section in sections, (entry.name, entry.section)
        assert entry.explanation.endswith(".") and ". " not in entry.explanation, entry.name  # one sentence


@pytest.mark.parametrize("chapter", CATALOGUED)
def test_each_catalogue_entry_fails_a_hidden_check_and_gets_its_own_diagnosis(chapter):
    """The stored payloads are those of the current catalogue, run through the grader's kernel at
    release; every entry fails a check, and a learner with its results is told that mistake."""
    stored, golden, loaded = load_misconceptions(chapter), load_golden(chapter), load_chapter(chapter)
    for entry in load_catalogue(chapter):
        saved = next((s for s in stored.get(entry.exercise, []) if s["name"] == entry.name), None)
        assert saved is not None, f"{entry.name} is not released: run python -m autograder release {chapter}"
        assert (saved["explanation"], saved["section"]) == (entry.explanation, entry.section)
        assert saved["fails"], f"{entry.exercise} {entry.name} passes every hidden check"
        assert all(check.key in golden for check in loaded.checks), f"stale golden outputs: release {chapter}"
        checks = [{"label": check.label, "outcome": "failed" if check.label in saved["fails"] else "passed",
                   "payloads": saved["fails"].get(check.label, golden[check.key])}
                  for check in loaded.checks_for(entry.exercise)]
        found = diagnose(entry.exercise, checks, stored)
        assert found is not None and found["name"] == entry.name, (entry.exercise, entry.name, found)
        assert set(found["checks"]) <= set(saved["fails"])


WRONG_CHAPTER_1 = {
    "01.softmax": '''
def softmax(s):
    shifted = np.exp(s - s.min())  # the smallest score, not the largest
    return shifted / shifted.sum()
''',
    "01.soft_lookup": '''
def soft_lookup(q, K, V):
    s = K @ q
    p = s / s.sum()  # no exp: the scores divided by their sum
    return p, (p[:, None] * V).sum(axis=0)
''',
}


def test_the_grader_names_the_mistake_and_gives_partial_credit(make_submission):
    solved = solution_sources(CHAPTER)
    beside = grade_submission(make_submission({**solved, "01.softmax": WRONG_CHAPTER_1["01.softmax"]}))
    right = next(result for result in beside.exercises if result.id == "01.soft_lookup")
    assert right.diagnosis is None and right.score == 4  # a correct answer beside a wrong one: none
    grade = grade_submission(make_submission({**solved, **WRONG_CHAPTER_1}))
    by_id = {result.id: result for result in grade.exercises}
    softmax, lookup = by_id["01.softmax"], by_id["01.soft_lookup"]
    assert softmax.diagnosis["name"] == "subtracts-the-minimum"
    assert softmax.feedback[0] == ("Likely mistake: Your softmax subtracts the smallest score, which makes the "
                                   "largest shifted score huge, so exp still overflows when scores are far apart: "
                                   "subtract the largest score, so every shifted score is at most 0. See 'Overflow, "
                                   "and the fix' in chapter 1.")
    assert (softmax.checks_passed, softmax.checks, softmax.score) == (6, 8, 2)  # 3 * 6/8 = 2.25 -> 2
    # only the single key-value pair passes (its one weight is 1 either way): 4 * 1/6 = 0.67 -> 0.5
    assert lookup.diagnosis["name"] == "normalises-without-exp"
    assert (lookup.checks_passed, lookup.checks, lookup.score) == (1, 6, 0.5)
    results = gradescope_results(grade)
    tests = {test["name"]: test for test in results["tests"]}
    assert tests["01.softmax"]["extra_data"]["misconception"]["name"] == "subtracts-the-minimum"
    assert tests["01.softmax"]["extra_data"]["checks_passed"] == 6 and results["score"] == 2.5
    assert tests["01.softmax"]["extra_data"]["outcomes"]["two scores 1000 apart (shift by the right score)"] == "failed"
    golden_numbers = {f"{value:.3g}" for payloads in load_golden(CHAPTER).values() for p in payloads
                      for value in p.get("values", []) if not float(value).is_integer()}  # the expected values
    named = " ".join(line.split(" See '")[0] for line in (softmax.feedback[0], lookup.feedback[0]))
    assert not [number for number in golden_numbers if re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", named)]


def test_per_student_inputs_get_diagnoses(make_submission):
    grade = grade_submission(make_submission({**solution_sources(CHAPTER), **WRONG_CHAPTER_1}), student="carol")
    names = {result.id: result.diagnosis and result.diagnosis["name"] for result in grade.exercises}
    assert names == {"01.softmax": "subtracts-the-minimum", "01.soft_lookup": "normalises-without-exp"}


def test_partial_credit_rounds_down_to_a_half_point_unless_all_or_nothing():
    assert [credit(3, passed, 8) for passed in range(9)] == [0, 0, 0.5, 1, 1.5, 1.5, 2, 2.5, 3]
    assert credit(5, 3, 4) == 3.5 and credit(2, 4, 4) == 2
    assert credit(3, 2, 3, whole_only=True) == 0 and credit(3, 3, 3, whole_only=True) == 3
    assert all_or_nothing("06_multi_head_attention") == {"06.copy_from_torch"}
    assert all_or_nothing(CHAPTER) == set()


def run_learner_notebook(replaced: dict[str, str], extra_before: dict[str, str]) -> dict[str, str]:
    """Execute chapter 1's learner notebook with some exercise cells replaced and cells inserted
    before them; return each exercise's self-check output."""
    notebook = read_notebook(BOOK / f"{CHAPTER}.ipynb")
    cells, checks = [], {}
    for cell in notebook.cells:
        exercise = exercise_of(cell)
        if exercise and exercise.id in extra_before:
            cells.append(nbformat.v4.new_code_cell(extra_before[exercise.id]))
        if exercise and exercise.id in replaced:
            cell.source = replaced[exercise.id]
        cells.append(cell)
    notebook.cells = cells
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(BOOK)}}).execute()
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell, following in zip(code, code[1:]):
        exercise = exercise_of(cell)
        if exercise:
            checks[exercise.id] = "".join(out.get("text", "") for out in following.outputs)
    return checks


def test_self_check_names_the_mistake_and_the_names_from_outside_the_cell():
    outputs = run_learner_notebook(
        {"01.soft_lookup": ("def weigh(p, V):\n    return p @ V\n\n\ndef soft_lookup(q, K, V):\n"
                            "    s = dot_all(K, q)\n    e = np.exp(s - np.max(s))\n    p = e / e.sum()\n"
                            "    return p, weigh(p, V)\n"),
         "01.softmax": "def softmax(s):\n    e = np.exp(s)\n    return e / e.sum()\n"},
        {"01.soft_lookup": "def dot_all(K, q):\n    return K @ q\n"})
    # one line: all 3 checks pass (else a count would follow), and weigh, defined in the
    # exercise's own cell, is not named
    assert outputs["01.soft_lookup"].splitlines() == [
        "✗ 01.soft_lookup: uses dot_all from outside this cell; the grader runs only this cell and the setup cells."]
    softmax = outputs["01.softmax"].splitlines()
    assert softmax[0] == "✗ 01.softmax: 1 of 3 checks pass."
    start = next(i for i, line in enumerate(softmax) if line.startswith("  Likely mistake: "))
    diagnosis = " ".join(line.strip() for line in softmax[start:])
    assert diagnosis.startswith("Likely mistake: Your softmax takes exp of the raw scores")
    assert diagnosis.endswith("See 'Overflow, and the fix' in chapter 1.")
    assert all(len(line) <= 88 for line in softmax[start:])


def test_selfcheck_data_ships_no_code_and_covers_the_catalogue():
    data = json.loads((ROOT / "attn" / "selfcheck_data.json").read_text())
    for chapter in CATALOGUED:
        number = chapter[:2]
        assert number in data["setup_names"], chapter
        names = {(e.exercise, e.name) for e in load_catalogue(chapter)}
        stored = {(exercise, entry["name"]) for exercise, entries in data["misconceptions"].items()
                  if exercise.startswith(number + ".") for entry in entries}
        assert stored == names, f"stale: python -m autograder release {chapter}"
    text = json.dumps(data)
    for chapter in CATALOGUED:
        for entry in load_catalogue(chapter):
            code = [line.strip() for line in entry.source.splitlines() if line.strip().startswith(("return", "def "))]
            assert not [line for line in code if json.dumps(line)[1:-1] in text], (entry.exercise, entry.name)


def test_diagnosis_on_the_corpus():
    """The measured numbers of the README: most wrong answers named, almost all rightly, no correct
    answer ever diagnosed, and every wrong answer of the corpus failing a hidden check."""
    outcomes = [outcome for chapter in FIRST_NINE for outcome in measure.measure_chapter(chapter)]
    counts = measure.summary(outcomes)
    print(counts)
    assert counts["wrong_failing_a_check"] == counts["wrong"] > 100
    assert counts["correct_failing_a_check"] == 0 and counts["correct_diagnosed"] == 0 and counts["correct"] > 50
    assert counts["share_diagnosed"] >= 0.8 and counts["share_right"] >= 0.95


def test_diagnosis_adds_little_to_a_grading(tmp_path):
    seconds, spent = measure.diagnosis_time("05_self_cross_position", tmp_path)  # the largest stored payloads
    print(f"grading {seconds:.2f} s, diagnosis {spent * 1000:.1f} ms")
    assert spent < 0.1 * seconds


def test_learners_get_the_public_payloads_but_no_catalogue(tmp_path):
    from autograder.release import write_student_copy

    write_student_copy(tmp_path / "course")
    shipped = {path.relative_to(tmp_path / "course").as_posix() for path in (tmp_path / "course").rglob("*")}
    assert "attn/selfcheck_data.json" in shipped
    assert not [name for name in shipped if "misconceptions" in name or name.startswith("autograder")]
