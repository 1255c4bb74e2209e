"""Every chapter, graded end to end: the reference gets full marks, the stubs get nothing,
equivalent answers keep their points and realistic wrong answers lose them."""

from __future__ import annotations

import importlib.util
import time

import pytest

from autograder.assemble import chapter_names
from autograder.grade import grade_submission
from autograder.notebooks import BOOK, solution_sources
from conftest import ROOT, points_of, scores_of

CHAPTERS = chapter_names()


def variants(chapter: str):
    """The EQUIVALENT and WRONG answers of tests/variants/<chapter>.py."""
    spec = importlib.util.spec_from_file_location(chapter, ROOT / "tests" / "variants" / f"{chapter}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EQUIVALENT, module.WRONG


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_reference_solutions_get_full_marks(chapter, make_submission):
    started = time.perf_counter()
    grade = grade_submission(make_submission(solution_sources(chapter), chapter))
    print(f"grading {chapter} took {time.perf_counter() - started:.2f} s")
    assert grade.chapter == chapter
    assert scores_of(grade) == points_of(chapter), [r.feedback for r in grade.exercises]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_learner_notebook_scores_zero(chapter):
    grade = grade_submission(BOOK / f"{chapter}.ipynb")
    assert grade.score == 0 and grade.max_score == sum(points_of(chapter).values())
    assert all("NotImplementedError" in "\n".join(r.feedback) for r in grade.exercises)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_equivalent_answers_keep_full_marks(chapter, make_submission):
    equivalent, _ = variants(chapter)
    assert set(equivalent) == set(points_of(chapter)), "every exercise needs an equivalent answer"
    grade = grade_submission(make_submission(equivalent, chapter))
    assert scores_of(grade) == points_of(chapter), [r.feedback for r in grade.exercises]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_wrong_answers_lose_their_points(chapter, make_submission):
    _, wrong = variants(chapter)
    assert set(wrong) == set(points_of(chapter)), "every exercise needs a realistic wrong answer"
    grade = grade_submission(make_submission(wrong, chapter))
    scores = scores_of(grade)
    # with partial credit a wrong answer may keep the points of the checks it passes, never all of them
    assert all(scores[exercise] < points for exercise, points in points_of(chapter).items()), scores
