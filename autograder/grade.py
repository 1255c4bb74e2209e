"""``python -m autograder grade``: score a submitted notebook against the hidden checks."""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from attn.diagnosis import describe
from autograder import timings
from autograder.assemble import (Chapter, chapter_names, grading_notebook, load_chapter, load_golden,
                                 resolve_chapter, vary_inputs)
from autograder.credit import all_or_nothing, credit, whole
from autograder.diagnose import MadeOnTheSpot, diagnose, load_misconceptions
from autograder.course_code import course_code_named
from autograder.feedback import MAX_NOTES, clean, secret_lines
from autograder.notebooks import Ungradable, read_submission, shown, submitted_sources
from autograder.release import GOLDEN_LIMITS, make_golden
from autograder.results import format_report, gradescope_results, ungradable_results
from autograder.run import Limits, kernel_sandbox, run_grading_notebooks
from autograder.sandbox import sandbox_problem


COURSE_CODE = "CourseCodeUsed"  # the error attn.grading's guard raises
UNSANDBOXED = "Graded without the sandbox: the learner's code ran with the grader's rights."
STUB_RAISED = "your code raised NotImplementedError"
NOT_IMPLEMENTED = ("not implemented yet: the function still raises NotImplementedError "
                   "(replace that line with your code)")


@dataclass
class ExerciseResult:
    id: str
    points: int
    score: float = 0  # partial credit: a multiple of 0.5
    feedback: list[str] = field(default_factory=list)
    checks_passed: int = 0
    checks: int = 0
    all_or_nothing: bool = False
    outcomes: dict[str, str] = field(default_factory=dict)  # check label -> passed, failed or not-run
    diagnosis: dict | None = None  # the misconception that explains the failing checks, if any

    @property
    def passed(self) -> bool:
        return self.score == self.points


@dataclass
class Grade:
    chapter: str
    exercises: list[ExerciseResult]
    notes: list[str]
    seconds: float
    records: list[dict] = field(default_factory=list, repr=False)  # the grading run's, for the timings

    @property
    def score(self) -> float:
        return whole(sum(result.score for result in self.exercises))

    @property
    def max_score(self) -> int:
        return sum(result.points for result in self.exercises)


def identify_chapter(exercise_ids: set[str]) -> Chapter:
    """The chapter whose exercises the submission shares the most of (only the chapters that
    the ids' number prefixes name are read)."""
    best, overlap = None, 0
    prefixes = {exercise_id.split(".")[0] for exercise_id in exercise_ids}
    for name in chapter_names():
        if name.split("_")[0] not in prefixes:
            continue
        chapter = load_chapter(name)
        shared = len(exercise_ids & {exercise.id for exercise in chapter.exercises})
        if shared > overlap:
            best, overlap = chapter, shared
    if best is None:
        raise Ungradable("no exercise of this course was found in the notebook "
                         "(exercise cells are recognised by their metadata: was it removed?)")
    return best


@dataclass
class Submission:
    """A submission read and matched to its chapter, with the notebooks that grade it."""

    chapter: Chapter
    sources: dict[str, str]
    notes: list[str]
    golden: dict[str, list[dict]]
    misconceptions: object  # the stored catalogue payloads, or MadeOnTheSpot for per-student inputs
    notebooks: list


def prepare(path: Path, expected_chapter: str | None = None, student: str | None = None) -> Submission:
    """Read ``path`` and build its grading notebooks, one per exercise; raise :class:`Ungradable`
    when it is not a gradable notebook.

    With ``expected_chapter``, a notebook of another chapter is not graded (a wrong upload).
    With ``student``, the random hidden inputs are drawn for that student, and the expected
    outputs made from the reference solutions on the spot (this needs ``solutions/``).
    """
    sources, notes = submitted_sources(read_submission(path))
    chapter = identify_chapter(set(sources))
    if expected_chapter and chapter.name != expected_chapter:
        raise Ungradable(f"this notebook is chapter {chapter.name}, but the assignment is {expected_chapter}: "
                         "submit the right notebook")
    if student is None:
        golden, misconceptions = load_golden(chapter.name), load_misconceptions(chapter.name)
    else:
        chapter = vary_inputs(chapter, student)
        golden = make_golden(chapter)
        misconceptions = MadeOnTheSpot(chapter, golden, GOLDEN_LIMITS)  # runs while the submission is graded
    notebooks = [grading_notebook(chapter, sources, golden, [exercise.id]) for exercise in chapter.exercises]
    return Submission(chapter, sources, notes, golden, misconceptions, notebooks)


def grade_submission(path: Path, limits: Limits = Limits(), expected_chapter: str | None = None,
                     student: str | None = None) -> Grade:
    """Grade one submission (see :func:`prepare`).

    Each exercise runs in a fresh sandboxed kernel of its own (all in the submission's cgroup),
    so one that crashes, times out or changes global state cannot cost another.
    """
    started = time.perf_counter()
    with kernel_sandbox() if limits.sandbox else contextlib.nullcontext() as sandbox:  # starts while we prepare
        submission = prepare(path, expected_chapter, student)
        left = limits.notebook_seconds - (time.perf_counter() - started)
        records = run_grading_notebooks(submission.notebooks, limits, seconds=left, sandbox=sandbox)
    grade = judged(submission, records, limits, time.perf_counter() - started)
    grade.records = records
    return grade


def grade_submissions(paths: list[Path], limits: Limits, expected_chapter: str | None = None,
                      students: list[str | None] | None = None) -> list[Grade | Ungradable]:
    """Grade several submissions in one grading run (one pytest start for all of them), each
    with its own kernels, sandboxes, cgroup and time limit; a file that cannot be graded gets
    its :class:`Ungradable` in its place."""
    started = time.perf_counter()
    students = students or [None] * len(paths)
    outcomes: list[Grade | Ungradable | None] = [None] * len(paths)
    prepared: dict[int, Submission] = {}
    for index, (path, student) in enumerate(zip(paths, students)):
        try:
            prepared[index] = prepare(path, expected_chapter, student)
        except Ungradable as reason:
            outcomes[index] = reason
    notebooks = [notebook for submission in prepared.values() for notebook in submission.notebooks]
    owners = [index for index, submission in prepared.items() for _ in submission.notebooks]
    records = run_grading_notebooks(notebooks, limits, owners=owners) if notebooks else []
    seconds = (time.perf_counter() - started) / max(1, len(prepared))
    for index, submission in prepared.items():
        outcomes[index] = judged(submission, [r for r in records if r.get("owner") == index], limits, seconds)
    return outcomes


def judged(submission: Submission, records: list[dict], limits: Limits, seconds: float) -> Grade:
    """The grade of ``submission`` from its grading run's ``records``."""
    chapter, sources = submission.chapter, submission.sources
    secrets = secret_lines(chapter.check_setup, *(check.source for check in chapter.checks))
    for record in records:
        if record.get("reason"):
            record["reason"] = clean(record["reason"], secrets)
    if any(record.get("cut") for record in records):  # out of time: unfinished exercises are not graded
        ran = [record for record in records if not record.get("cut")]
        records = [record for record in ran if _finished(chapter, record.get("exercise"), ran)]
    exercise_ids = [exercise.id for exercise in chapter.exercises]
    results = judge(chapter, exercise_ids, records, submission.misconceptions)
    for exercise_id in exercise_ids:
        if exercise_id not in results:
            reason = f"not graded: the notebook ran out of its {limits.notebook_seconds} s time limit"
            results[exercise_id] = _result(chapter, exercise_id, [reason])
    for exercise_id, result in results.items():
        _refuse_course_code(result, sources.get(exercise_id, ""))
    for exercise_id in results.keys() - sources.keys():
        results[exercise_id].feedback.insert(0, "No cell with this exercise id was found in your notebook: "
                                                "copy the exercise cell back from the original notebook.")
    ordered = [results[exercise.id] for exercise in chapter.exercises]
    notes = [clean(note, []) for note in submission.notes[:MAX_NOTES]]
    if not limits.sandbox:
        notes.append(UNSANDBOXED)
    return Grade(chapter.name, ordered, notes, seconds)


def _refuse_course_code(result: ExerciseResult, source: str) -> None:
    """Score 0, with one line, an exercise whose source names the course's own answer to it or
    whose run met that answer's refusal (``autograder.course_code``)."""
    named = course_code_named(result.id, source)
    refused = next((line for line in result.feedback if COURSE_CODE in line), None)
    if named or refused:
        used = named or refused.rsplit("the course's ", 1)[-1]
        result.score, result.diagnosis = 0, None
        result.feedback = [f"Not graded: {result.id} uses the course package's {used}. "
                           "An exercise must be your own code."]


def _finished(chapter: Chapter, exercise_id: str | None, records: list[dict]) -> bool:
    """Whether every check of ``exercise_id`` has a record (a run cut short leaves some out)."""
    checks = [r for r in records if r.get("exercise") == exercise_id and r["role"] == "check"]
    return exercise_id is None or len(checks) == len(chapter.checks_for(exercise_id))


def judge(chapter: Chapter, pending: list[str], records: list[dict],
          misconceptions: dict[str, list[dict]] | MadeOnTheSpot | None = None) -> dict[str, ExerciseResult]:
    """Score the exercises whose outcome the records settle; leave out those that did not run.

    An exercise earns points in proportion to the checks it passes (see autograder.credit); a
    failing one is compared with the stored ``misconceptions`` to name its likely mistake."""
    decided = {}
    whole_only = all_or_nothing(chapter.name)
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
        if failed and all((record["reason"] or "").startswith(STUB_RAISED) for record in failed):
            feedback = [NOT_IMPLEMENTED]  # one line, not one per check
        result = _result(chapter, exercise_id, feedback)
        result.checks = len(chapter.checks_for(exercise_id))
        result.checks_passed = sum(record["outcome"] == "passed" for record in checks)
        result.all_or_nothing = exercise_id in whole_only
        result.outcomes = {record["label"]: record["outcome"] for record in checks}
        result.score = credit(result.points, result.checks_passed, result.checks, result.all_or_nothing)
        result.diagnosis = diagnose(exercise_id, checks, misconceptions or {})
        if result.diagnosis:
            result.feedback.insert(0, describe(result.diagnosis, exercise_id))
        rule = "all or nothing" if result.all_or_nothing else "partial credit"
        result.feedback.append(f"{result.checks_passed} of {result.checks} hidden checks pass: "
                               f"{result.score:g} of {result.points} points ({rule}).")
        decided[exercise_id] = result
    return decided


def _result(chapter: Chapter, exercise_id: str, feedback: list[str]) -> ExerciseResult:
    points = next(exercise.points for exercise in chapter.exercises if exercise.id == exercise_id)
    checks = len(chapter.checks_for(exercise_id))
    return ExerciseResult(exercise_id, points, 0, feedback, checks=checks,
                          all_or_nothing=exercise_id in all_or_nothing(chapter.name))


def _refuse(args: argparse.Namespace, reason: str) -> int:
    """Say in one line why ``args.submission`` is not graded; write a zero-score results file."""
    print(f"Cannot grade {shown(str(args.submission), 200)}: {reason}")
    if args.results:
        Path(args.results).write_text(json.dumps(ungradable_results(reason), indent=1))
    return 2


def limits_from(args: argparse.Namespace) -> Limits:
    return Limits(args.cell_timeout, args.notebook_timeout, args.memory_mb, args.output_kb, args.max_processes,
                  sandbox=not args.no_sandbox)


def main(args: argparse.Namespace) -> int:
    paths = [Path(path) for path in args.submissions]
    if args.chapter:
        args.chapter = resolve_chapter(args.chapter)
    if len(paths) > 1 or paths[0].is_dir():
        from autograder.gradebook import grade_class

        return grade_class(paths, Path(args.out), limits_from(args), args.jobs, args.force, args.chapter,
                           args.per_student_inputs)
    args.submission = paths[0]
    limits = limits_from(args)
    problem = sandbox_problem() if limits.sandbox else None
    if problem and args.require_sandbox:
        return _refuse(args, f"the sandbox is unavailable here ({problem})")
    if problem:
        print(f"Note: grading without the sandbox, since {problem}.")
        limits = replace(limits, sandbox=False)
    try:
        grade = grade_submission(args.submission, limits, args.chapter, args.student)
    except Ungradable as reason:
        return _refuse(args, str(reason))
    except RuntimeError:  # the grader's own failure: the details are for the instructor, not the report
        return _refuse(args, "the grader failed on this submission: run it again, and tell the instructor "
                             "if it fails twice")
    print(format_report(grade))
    if args.results:
        Path(args.results).write_text(json.dumps(gradescope_results(grade), indent=1))
    if args.timings:
        timings.note("done")
        Path(args.timings).write_text(json.dumps(timings.parts(grade.records)))
    return 0
