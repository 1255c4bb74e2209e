"""Where one grading's time goes, for ``python -m autograder benchmark``.

The grader notes a few moments on the wall clock (``time.time()``, shared by its processes);
the grading run adds the plugin's records of when pytest was ready, how long each notebook
waited for its kernel, and how long each cell ran. :func:`parts` turns them into the
breakdown that ``grade --timings FILE`` writes.
"""

from __future__ import annotations

import os
import time

moments: dict[str, float] = {}


def note(name: str) -> None:
    """Remember when ``name`` first happened in this process."""
    moments.setdefault(name, time.time())


def process_started() -> float:
    """When this process started, on the wall clock (Linux: from ``/proc``; else: now)."""
    try:
        with open("/proc/self/stat") as stat:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as system:
            boot = next(int(line.split()[1]) for line in system if line.startswith("btime"))
    except (OSError, StopIteration, ValueError, IndexError):
        return time.time()
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def parts(records: list[dict]) -> dict[str, float]:
    """Seconds spent in each part of a grading that has noted ``pytest launched``, ``pytest
    finished`` and ``done``: start-up of this process (Python, imports, reading the
    submission), pytest's start-up (Python, pytest, nbval and the plugin), waiting for kernels
    (time a notebook could not run because its kernel was not ready yet), running the cells,
    the rest of the pytest run (collection, stopping kernels, exit) and the verdict."""
    configured = next(record["configured"] for record in records if record.get("role") == "pytest")
    waited = sum(record["waited"] for record in records if record.get("role") == "kernel")
    cells = sum(record.get("seconds", 0) for record in records if "cell" in record)
    launched, finished = moments["pytest launched"], moments["pytest finished"]
    return {
        "outer start-up": launched - process_started(),
        "pytest start-up": configured - launched,
        "waiting for kernels": waited,
        "cells": cells,
        "rest of pytest": finished - configured - waited - cells,
        "verdict": moments["done"] - finished,
    }
