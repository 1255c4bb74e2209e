"""Bounded, clean feedback: what may reach a learner of the text that their code produced.

A learner's code runs in the same kernel as the hidden checks, so it can read their source
(from the kernel's history or the calling frame) and the hidden inputs, and put either into
an exception message. Every reason shown to a learner passes :func:`clean` first: it is cut
to :data:`MAX_REASON` characters, any line of the hidden checks in it is blanked out, and so
are long decimal numbers (hidden inputs and expected outputs are random floats; shapes,
counts and short numbers stay, since they are what a learner acts on).
"""

from __future__ import annotations

import re

MAX_REASON = 2000  # characters of one reason
MAX_NOTES = 10  # notes about a submission, each cut to MAX_REASON
HIDDEN = "[hidden]"
_LONG_NUMBER = re.compile(r"[-+]?\d*\.\d{4,}(?:[eE][-+]?\d+)?")
_MIN_SECRET_LINE = 12  # shorter lines ("import torch", "x = 1") give nothing away


def secret_lines(*sources: str) -> list[str]:
    """The lines of ``sources`` (the hidden checks) that must never appear in feedback."""
    lines = {line.strip() for source in sources for line in source.splitlines()}
    return sorted((line for line in lines if len(line) >= _MIN_SECRET_LINE), key=len, reverse=True)


def clean(text: str, secrets: list[str]) -> str:
    """``text`` cut to size, with hidden-check lines and long numbers blanked out."""
    text = text[: MAX_REASON * 4]  # bound the work below
    for line in secrets:
        if line in text:
            text = text.replace(line, HIDDEN)
    text = _LONG_NUMBER.sub("…", text)
    if len(text) > MAX_REASON:
        text = text[:MAX_REASON] + " [cut]"
    return text
