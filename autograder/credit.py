"""Partial credit: an exercise earns points in proportion to the hidden checks it passes.

The score is ``points * passed / checks`` rounded down to a half point. A chapter marks an
exercise all-or-nothing (full points only when every check passes, else 0) with a comment line
in its checks file, before the first ``# %%`` block: ``# all-or-nothing: 06.copy_from_torch``.
"""

from __future__ import annotations

import math
import re

from autograder.notebooks import CHECKS

MARK = re.compile(r"^# all-or-nothing:\s*(?P<ids>.+?)\s*$", re.MULTILINE)


def all_or_nothing(chapter: str) -> set[str]:
    """The exercises of ``chapter`` that its checks file marks all-or-nothing."""
    path = CHECKS / f"{chapter}.py"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return {exercise for match in MARK.finditer(text) for exercise in match["ids"].replace(",", " ").split()}


def credit(points: int, passed: int, checks: int, whole_only: bool = False) -> float:
    """Points for passing ``passed`` of ``checks`` checks, rounded down to a half point."""
    if checks and passed >= checks:
        return points
    if whole_only or not checks:
        return 0
    return whole(math.floor(2 * points * passed / checks) / 2)


def whole(value: float) -> float:
    """``value`` as an int when it is a whole number (2.0 -> 2), so reports read '2/3', not '2.0/3'."""
    return int(value) if float(value).is_integer() else value
