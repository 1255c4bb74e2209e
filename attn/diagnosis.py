"""Name the likely mistake behind a failing result, by comparing it with known wrong answers.

The grader (on the hidden inputs) and the public self-checks (on the public inputs) share
this rule, so a learner hears the same diagnosis in both places. A *catalogue entry* is a
JSON-ready dict made at release time from a named wrong implementation, without its code:

``{"name": "subtracts-the-minimum", "explanation": "<one sentence>", "section": "<heading>",
"fails": {"<check>": [payload, ...]}}``

``fails`` holds the payloads the wrong implementation produced on each check it fails.
"""

from __future__ import annotations

import re
from typing import Iterable

from attn.payload import compare_payloads


def same_results(expected: list[dict], got: list[dict]) -> bool:
    """Whether two lists of payloads agree within the checks' tolerance. Errors and objects the
    payloads do not describe ("other", a malformed result too) never agree: two of them say
    nothing about the computation being the same."""
    return len(expected) == len(got) and all(
        e.get("type") not in ("error", "other") and compare_payloads(numeric(e), numeric(g)) is None
        for e, g in zip(expected, got))


def numeric(payload: dict) -> dict:
    """The payload with non-finite numbers as floats: Jupyter's messages carry inf and nan as the
    strings 'inf' and 'nan'."""
    if payload.get("type") == "number" and isinstance(payload.get("value"), str):
        return {**payload, "value": float(payload["value"])}
    if payload.get("type") == "sequence":
        return {**payload, "items": [numeric(item) for item in payload["items"]]}
    return payload


def best_match(results: dict[str, list[dict]], failed: Iterable[str], passed: Iterable[str],
               catalogue: list[dict]) -> tuple[dict, list[str]] | None:
    """The catalogue entry that explains the most failing checks, and the checks it explains.

    An entry explains a failing check when the learner's payloads there equal the entry's. It
    is not this learner's mistake when it fails a check the learner passes, or when, of the
    checks both fail, it explains no more than it contradicts (a coincidence on one input).
    Ties go to the entry that contradicts fewer checks, then to the first. No failing check,
    or no entry that explains one: ``None``.
    """
    failed, passed = list(failed), set(passed)
    best: tuple[tuple[int, int], dict, list[str]] | None = None
    for entry in catalogue:
        fails = entry["fails"]
        if passed & fails.keys():
            continue
        # where the entry's result is unknown (it raised), it says nothing for or against the learner's
        both = [check for check in failed if check in fails and check in results and not _unknown(fails[check])]
        explained = [check for check in both if same_results(fails[check], results[check])]
        if len(explained) <= len(both) - len(explained):
            continue
        rank = (len(explained), len(explained) - len(both))
        if best is None or rank > best[0]:
            best = (rank, entry, explained)
    return None if best is None else (best[1], best[2])


def _unknown(payloads: list[dict]) -> bool:
    """Whether a result says nothing comparable: an error, or an object payloads do not describe."""
    return any(payload.get("type") in ("error", "other") for payload in payloads)


def describe(entry: dict, exercise_id: str) -> str:
    """The one line a learner reads: the mistake, and where the chapter explains it."""
    chapter = int(exercise_id.split(".")[0])
    return f"Likely mistake: {entry['explanation']} See '{plain(entry['section'])}' in chapter {chapter}."


TEX = {"\\infty": "∞", "\\sqrt{d_k}": "√d_k", "n^2": "n²"}


def plain(heading: str) -> str:
    """A section heading as a reader sees it on the page: inline TeX such as $\\sqrt{d_k}$ as text."""
    def untex(match: re.Match) -> str:
        text = match[1]
        for tex, shown in TEX.items():
            text = text.replace(tex, shown)
        return text

    return re.sub(r"\$([^$]*)\$", untex, heading)
