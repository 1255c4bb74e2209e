"""Friendly public self-checks for the exercises in the notebooks.

A self-check runs a learner's function on a few public inputs and prints one short
verdict: all checks pass, not implemented yet, or which check failed and why.
It never raises, so a notebook keeps running whatever state the exercise is in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from attn.payload import call_quietly, compare_payloads, to_payload


@dataclass
class Case:
    """One public check: call the function with ``args`` and expect ``expected``."""

    name: str
    args: tuple
    expected: Any
    kwargs: dict = field(default_factory=dict)


def check_exercise(exercise_id: str, function: Callable, cases: list[Case]) -> None:
    """Run ``cases`` against ``function`` and print a short verdict; never raise."""
    if not callable(function):
        print(f"✗ {exercise_id}: expected a function, found {type(function).__name__}.\n"
              "  Run the exercise cell above first.")
        return
    failures = []
    for case in cases:
        got = call_quietly(function, *case.args, **case.kwargs)
        if got["type"] == "error" and got["error"].startswith("NotImplementedError"):
            print(f"… {exercise_id}: not implemented yet.\n"
                  "  Replace `raise NotImplementedError` with your code, run that cell, then this one.")
            return
        reason = compare_payloads(to_payload(case.expected), got)
        if reason:
            failures.append(f"  - {case.name}: {reason}")
    passed = len(cases) - len(failures)
    if not failures:
        print(f"✓ {exercise_id}: all {len(cases)} checks pass. Well done!")
        return
    print(f"✗ {exercise_id}: {passed} of {len(cases)} checks pass.")
    print("\n".join(failures))
