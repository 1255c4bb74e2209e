"""``python -m autograder benchmark``: how long grading takes, per chapter and for a class.

For each chapter it runs the whole command ``python -m autograder grade`` on the reference
solutions (a full-marks submission) several times, after one run to warm the disk cache,
and reports the median seconds per submission, the median of each part of it (see
``autograder.timings``) and the CPU-seconds it used with every process it started; then it
grades a class of copies with ``--jobs`` workers and reports submissions per minute and
CPU-seconds per submission. Needs ``solutions/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from autograder.assemble import chapter_names, resolve_chapter
from autograder.notebooks import ROOT, solution_sources, write_submission

CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuMeter:
    """CPU-seconds used by a command and all its processes (a cgroup v1 ``cpuacct`` group of its
    own; where none can be made, :attr:`seconds` is ``None``)."""

    def __init__(self) -> None:
        self.folder = CPUACCT / f"attn-benchmark-{uuid.uuid4().hex[:12]}"
        self.seconds: float | None = None

    def run(self, command: list[str]) -> subprocess.CompletedProcess:
        try:
            self.folder.mkdir()
        except OSError:
            return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        try:
            join = f'echo $$ > {self.folder / "cgroup.procs"} && exec "$@"'
            finished = subprocess.run(["/bin/sh", "-c", join, "cpu-meter", *command], capture_output=True,
                                      text=True, cwd=ROOT)
            self.seconds = int((self.folder / "cpuacct.usage").read_text()) / 1e9
            return finished
        finally:
            self.folder.rmdir()


def grade_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", *arguments]


def time_chapter(submission: Path, repeat: int) -> tuple[float, dict[str, float], float | None, str]:
    """Median wall seconds of the whole grading command, median seconds of each part, median
    CPU-seconds, and the first line of its report (the score)."""
    timings = submission.with_suffix(".timings.json")
    walls, parts, cpus = [], [], []
    for attempt in range(repeat + 1):  # the first one warms the disk cache and is not counted
        meter = CpuMeter()
        started = time.perf_counter()
        finished = meter.run(grade_command(str(submission), "--timings", str(timings)))
        wall = time.perf_counter() - started
        if finished.returncode != 0:
            raise RuntimeError(f"grading {submission.name} failed:\n{finished.stdout[-2000:]}")
        if attempt:
            walls.append(wall)
            parts.append(json.loads(timings.read_text()))
            cpus.append(meter.seconds)
    medians = {name: statistics.median(part[name] for part in parts) for name in parts[0]}
    cpu = statistics.median(cpus) if None not in cpus else None
    return statistics.median(walls), medians, cpu, finished.stdout.splitlines()[0]


def main(args: argparse.Namespace) -> int:
    chapters = [resolve_chapter(name) for name in args.chapters] or chapter_names()
    print(f"CPU threads available: {os.cpu_count()}; the whole `grade` command, median of {args.repeat} runs "
          f"after one to warm up")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for chapter in chapters:
            submission = write_submission(chapter, solution_sources(chapter), folder / f"{chapter}.ipynb")
            wall, parts, cpu, report = time_chapter(submission, args.repeat)
            score = report.split(": ", 1)[-1].split(" (")[0]  # "Chapter …: 7/7 points (graded in …)"
            print(f"{chapter:<32} {wall:6.2f} s per submission ({score}); "
                  + (f"{cpu:.2f} CPU-s" if cpu is not None else "CPU-s not measurable here"))
            print("    " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in parts.items()))
        chapter = chapters[0]
        class_folder = folder / "class"
        class_folder.mkdir()
        for student in range(args.class_size):  # copies of the full-marks submission written above
            shutil.copy(folder / f"{chapter}.ipynb", class_folder / f"student{student:03d}.ipynb")
        meter = CpuMeter()
        started = time.perf_counter()
        finished = meter.run(grade_command(str(class_folder), "--out", str(folder / "gradebook"),
                                           "--jobs", str(args.jobs)))
        minutes = (time.perf_counter() - started) / 60
        if finished.returncode != 0:
            raise RuntimeError(f"grading the class failed:\n{finished.stdout[-2000:]}")
        cpu = (f"{meter.seconds / args.class_size:.2f} CPU-s per submission" if meter.seconds is not None
               else "CPU-s not measurable here")
        print(f"{args.class_size} submissions of {chapter} with --jobs {args.jobs}: "
              f"{args.class_size / minutes:.1f} submissions per minute; {cpu}")
    return 0
