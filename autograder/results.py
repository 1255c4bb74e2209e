"""Grading results as Gradescope's ``results.json`` and as a report for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.grade import Grade


def gradescope_results(grade: Grade) -> dict:
    """Results in Gradescope's format: one test per exercise, named by its id.

    Each test's ``extra_data`` (a field Gradescope keeps but does not show) holds what the class
    report counts: checks passed of all, all-or-nothing or partial credit, every check's outcome,
    and the diagnosed misconception (its name and the checks it explains), if any."""
    tests = [
        {
            "name": result.id,
            "score": result.score,
            "max_score": result.points,
            "status": "passed" if result.passed else "failed",
            "output": "\n".join(result.feedback),
            "extra_data": {
                "checks_passed": result.checks_passed,
                "checks": result.checks,
                "credit": "all or nothing" if result.all_or_nothing else "partial",
                "outcomes": result.outcomes,
                "misconception": None if result.diagnosis is None else
                {"name": result.diagnosis["name"], "checks": result.diagnosis["checks"]},
            },
        }
        for result in grade.exercises
    ]
    summary = [f"Chapter {grade.chapter}: {grade.score:g}/{grade.max_score} points.", *grade.notes]
    return {
        "score": grade.score,
        "max_score": grade.max_score,
        "execution_time": round(grade.seconds, 2),
        "output": "\n".join(summary),
        "tests": tests,
    }


def ungradable_results(reason: str) -> dict:
    """Results for a file that could not be graded: score 0 and the reason."""
    return {"score": 0, "max_score": 0, "output": f"Not graded: {reason}", "tests": []}


def format_report(grade: Grade) -> str:
    """A readable per-exercise report with feedback."""
    width = max(len(result.id) for result in grade.exercises)
    lines = [f"Chapter {grade.chapter}: {grade.score:g}/{grade.max_score} points "
             f"(graded in {grade.seconds:.1f} s)"]
    for result in grade.exercises:
        mark = "✓" if result.passed else "✗"
        credit = "all or nothing" if result.all_or_nothing else "partial credit"
        lines.append(f"  {mark} {result.id:<{width}}  {result.score:g}/{result.points}  "
                     f"({result.checks_passed} of {result.checks} checks, {credit})")
        lines.extend(f"      {line}" for line in result.feedback)
    lines.extend(f"Note: {note}" for note in grade.notes)
    return "\n".join(lines)
