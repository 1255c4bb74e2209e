"""``python -m autograder grade``: score a submitted notebook against the hidden checks."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.assemble import (Chapter, chapter_names, grading_notebook, load_chapter, load_golden,
                                 resolve_chapter, vary_inputs)
from autograder.notebooks import Ungradable, read_submission, submitted_sources
from autograder.release import make_golden
from autograder.results import format_report, gradescope_results, ungradable_results
from autograder.run import Limits, run_grading_notebook


@dataclass
class ExerciseResult:
    id: str
    points: int
    score: int = 0
    feedback: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.score == self.points


@dataclass
class Grade:
    chapter: str
    exercises: list[ExerciseResult]
    notes: list[str]
    seconds: float

    @property
    def score(self) -> int:
        return sum(result.score for result in self.exercises)

    @property
    def max_score(self) -> int:
        return sum(result.points for result in self.exercises)


def identify_chapter(exercise_ids: set[str]) -> Chapter:
    """The chapter whose exercises the submission shares the most of."""
    best, overlap = None, 0
    for name in chapter_names():
        chapter = load_chapter(name)
        shared = len(exercise_ids & {exercise.id for exercise in chapter.exercises})
        if shared > overlap:
            best, overlap = chapter, shared
    if best is None:
        raise Ungradable("no exercise of this course was found in the notebook "
                         "(exercise cells are recognised by their metadata: was it removed?)")
    return best


def grade_submission(path: Path, limits: Limits = Limits(), expected_chapter: str | None = None,
                     student: str | None = None) -> Grade:
    """Grade one submission; raise :class:`Ungradable` when it is not a gradable notebook.

    With ``expected_chapter``, a notebook of another chapter is not graded (a wrong upload).
    With ``student``, the random hidden inputs are drawn for that student, and the expected
    outputs made from the reference solutions on the spot (this needs ``solutions/``).

    All exercises run in one kernel. When an exercise kills the kernel or times out, the
    exercises after it are graded again in a fresh kernel, so one cannot cost another.
    """
    started = time.perf_counter()
    sources, notes = submitted_sources(read_submission(path))
    chapter = identify_chapter(set(sources))
    if expected_chapter and chapter.name != expected_chapter:
        raise Ungradable(f"this notebook is chapter {chapter.name}, but the assignment is {expected_chapter}: "
                         "submit the right notebook")
    if student is None:
        golden = load_golden(chapter.name)
    else:
        chapter = vary_inputs(chapter, student)
        golden = make_golden(chapter)
    results: dict[str, ExerciseResult] = {}
    pending = [exercise.id for exercise in chapter.exercises]
    while pending:
        notebook = grading_notebook(chapter, sources, golden, pending)
        records = run_grading_notebook(notebook, limits)
        decided = judge(chapter, pending, records)
        if not decided:
            reason = f"not graded: the notebook ran out of its {limits.notebook_seconds} s time limit"
            decided = {exercise_id: _result(chapter, exercise_id, [reason]) for exercise_id in pending}
        results.update(decided)
        pending = [exercise_id for exercise_id in pending if exercise_id not in decided]
    for exercise_id in results.keys() - sources.keys():
        results[exercise_id].feedback.insert(0, "No cell with this exercise id was found in your notebook: "
                                                "copy the exercise cell back from the original notebook.")
    ordered = [results[exercise.id] for exercise in chapter.exercises]
    return Grade(chapter.name, ordered, notes, time.perf_counter() - started)


def judge(chapter: Chapter, pending: list[str], records: list[dict]) -> dict[str, ExerciseResult]:
    """Score the exercises whose outcome the records settle; leave out those that did not run."""
    decided = {}
    for exercise_id in pending:
        cells = [record for record in records if record.get("exercise") == exercise_id]
        checks = [record for record in cells if record["role"] == "check"]
        failed = [record for record in cells if record["outcome"] == "failed"]
        if not failed and (not checks or any(record["outcome"] == "not-run" for record in cells)):
            continue
        feedback = []
        for record in failed:
            where = {"exercise": "your exercise cell", "boundary": "resetting the modules before this exercise",
                     "check": f"check '{record.get('label')}'"}[record["role"]]
            feedback.append(f"{where}: {record['reason']}")
        result = _result(chapter, exercise_id, feedback)
        passed_checks = sum(record["outcome"] == "passed" for record in checks)
        if passed_checks == len(chapter.checks_for(exercise_id)):
            result.score = result.points
        result.feedback.append(f"{passed_checks} of {len(chapter.checks_for(exercise_id))} hidden checks pass.")
        decided[exercise_id] = result
    return decided


def _result(chapter: Chapter, exercise_id: str, feedback: list[str]) -> ExerciseResult:
    points = next(exercise.points for exercise in chapter.exercises if exercise.id == exercise_id)
    return ExerciseResult(exercise_id, points, 0, feedback)


def limits_from(args: argparse.Namespace) -> Limits:
    return Limits(args.cell_timeout, args.notebook_timeout, args.memory_mb, args.output_kb)


def main(args: argparse.Namespace) -> int:
    paths = [Path(path) for path in args.submissions]
    if args.chapter:
        args.chapter = resolve_chapter(args.chapter)
    if len(paths) > 1 or paths[0].is_dir():
        from autograder.gradebook import grade_class

        return grade_class(paths, Path(args.out), limits_from(args), args.jobs, args.force, args.chapter,
                           args.per_student_inputs)
    args.submission = paths[0]
    try:
        grade = grade_submission(args.submission, limits_from(args), args.chapter, args.student)
    except Ungradable as problem:
        print(f"Cannot grade {args.submission}: {problem}")
        if args.results:
            Path(args.results).write_text(json.dumps(ungradable_results(str(problem)), indent=1))
        return 2
    print(format_report(grade))
    if args.results:
        Path(args.results).write_text(json.dumps(gradescope_results(grade), indent=1))
    return 0
