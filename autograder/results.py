"""Grading results as Gradescope's ``results.json`` and as a report for the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.grade import Grade


def gradescope_results(grade: Grade) -> dict:
    """Results in Gradescope's format: one test per exercise, named by its id."""
    tests = [
        {
            "name": result.id,
            "score": result.score,
            "max_score": result.points,
            "status": "passed" if result.passed else "failed",
            "output": "\n".join(result.feedback),
        }
        for result in grade.exercises
    ]
    summary = [f"Chapter {grade.chapter}: {grade.score}/{grade.max_score} points.", *grade.notes]
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
    lines = [f"Chapter {grade.chapter}: {grade.score}/{grade.max_score} points "
             f"(graded in {grade.seconds:.1f} s)"]
    for result in grade.exercises:
        mark = "✓" if result.passed else "✗"
        lines.append(f"  {mark} {result.id:<{width}}  {result.score}/{result.points}")
        lines.extend(f"      {line}" for line in result.feedback)
    lines.extend(f"Note: {note}" for note in grade.notes)
    return "\n".join(lines)
