"""``python -m autograder benchmark``: how long grading takes, per chapter and for a class.

For each chapter it grades the reference solutions (a full-marks submission) several times
and reports the median seconds per submission; then it grades a class of copies with
``--jobs`` workers and reports submissions per minute. Needs ``solutions/``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from autograder.assemble import chapter_names, resolve_chapter
from autograder.gradebook import grade_class
from autograder.grade import grade_submission
from autograder.notebooks import solution_sources, write_submission
from autograder.run import Limits


def main(args: argparse.Namespace) -> int:
    chapters = [resolve_chapter(name) for name in args.chapters] or chapter_names()
    print(f"CPU threads available: {os.cpu_count()}; median of {args.repeat} gradings per chapter")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for chapter in chapters:
            submission = write_submission(chapter, solution_sources(chapter), folder / f"{chapter}.ipynb")
            seconds = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                grade = grade_submission(submission)
                seconds.append(time.perf_counter() - started)
            print(f"{chapter:<32} {statistics.median(seconds):6.2f} s per submission "
                  f"({grade.score}/{grade.max_score} points)")
        chapter = chapters[0]
        class_folder = folder / "class"
        class_folder.mkdir()
        for student in range(args.class_size):  # copies of the full-marks submission written above
            shutil.copy(folder / f"{chapter}.ipynb", class_folder / f"student{student:03d}.ipynb")
        started = time.perf_counter()
        grade_class([class_folder], folder / "gradebook", Limits(), args.jobs, True, None)
        minutes = (time.perf_counter() - started) / 60
        print(f"{args.class_size} submissions of {chapter} with --jobs {args.jobs}: "
              f"{args.class_size / minutes:.1f} submissions per minute")
    return 0
