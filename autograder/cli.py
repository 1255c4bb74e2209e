"""Release the course's learner notebooks and grade submissions against hidden checks."""

from __future__ import annotations

import argparse
import importlib
import os
import select
import sys

from autograder.notebooks import ContractError, UsageError
from autograder.run import Limits


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    verbs = main.add_subparsers(dest="verb", required=True)

    defaults = Limits()
    grading = verbs.add_parser("grade", help="grade one submitted notebook, or a whole class into a gradebook")
    grading.add_argument("submissions", nargs="+",
                         help="a learner's .ipynb file; or several files or folders of them for a gradebook")
    grading.add_argument("--results", help="one submission: also write Gradescope-format results to this JSON file")
    grading.add_argument("--out", default="gradebook",
                         help="several submissions: folder for gradebook.csv and the results (default: %(default)s)")
    grading.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default: %(default)s)")
    grading.add_argument("--force", action="store_true", help="regrade submissions that have not changed")
    grading.add_argument("--student", help="one submission: draw the random hidden inputs for this student id "
                                          "(needs solutions/ to make the expected outputs)")
    grading.add_argument("--per-student-inputs", action="store_true",
                         help="several submissions: each submission's name draws its own random hidden inputs")
    grading.add_argument("--chapter", help="the assignment's chapter, e.g. 01_query_key_value: other notebooks are not graded")
    grading.add_argument("--cell-timeout", type=int, default=defaults.cell_seconds,
                         help="seconds one cell may run (default: %(default)s)")
    grading.add_argument("--notebook-timeout", type=int, default=defaults.notebook_seconds,
                         help="seconds one submission may run in all (default: %(default)s)")
    grading.add_argument("--memory-mb", type=int, default=defaults.memory_mb,
                         help="memory the learner's code may use (default: %(default)s)")
    grading.add_argument("--output-kb", type=int, default=defaults.output_kb,
                         help="output one cell may print or display (default: %(default)s)")
    grading.add_argument("--max-processes", type=int, default=defaults.processes,
                         help="processes and threads one submission may run at once (default: %(default)s)")
    grading.add_argument("--no-sandbox", action="store_true",
                         help="run the learners' code without bubblewrap, with your rights (trusted code only)")
    grading.add_argument("--timings", metavar="FILE",
                         help="one submission: write where the time went (seconds per part, JSON) to FILE")
    grading.add_argument("--require-sandbox", action="store_true",
                         help="one submission: refuse to grade (exit 2) rather than run it unsandboxed")

    releasing = verbs.add_parser("release", help="write book/ and the golden outputs from solutions/")
    releasing.add_argument("chapters", nargs="*", help="chapter names, e.g. 01_query_key_value (default: all)")
    releasing.add_argument("--check", action="store_true",
                           help="only report learner notebooks that are out of date; write nothing")
    releasing.add_argument("--force", action="store_true",
                           help="overwrite learner notebooks even if they hold outputs or solved exercises")
    releasing.add_argument("--student", metavar="DIR",
                           help="instead: write the learner-facing copy of the course (no solutions/, no golden outputs)")
    releasing.add_argument("--solutions-site", metavar="DIR",
                           help="instead: build the solutions edition of the website, for after the deadline")

    zipping = verbs.add_parser("gradescope", help="build the autograder zip for Gradescope")
    zipping.add_argument("--out", default="autograder.zip", help="where to write it (default: %(default)s)")
    zipping.add_argument("--overwrite", action="store_true", help="replace an existing file")
    zipping.add_argument("--no-sandbox", action="store_true",
                         help="let Gradescope grade without bubblewrap when its container cannot run it")

    timing = verbs.add_parser("benchmark", help="measure seconds per submission and submissions per minute")
    timing.add_argument("chapters", nargs="*", help="chapters to time (default: all)")
    timing.add_argument("--repeat", type=int, default=3, help="gradings per chapter (default: %(default)s)")
    timing.add_argument("--jobs", type=int, default=2, help="workers for the class run (default: %(default)s)")
    timing.add_argument("--class-size", type=int, default=10, help="submissions in the class run (default: %(default)s)")

    reporting = verbs.add_parser("report", help="write a class report (HTML and Markdown) from a gradebook")
    reporting.add_argument("gradebook", help="the folder `grade` wrote (gradebook.csv and results/)")
    reporting.add_argument("--out", help="folder for report.html and report.md (default: the gradebook)")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return importlib.import_module(f"autograder.{args.verb}").main(args)  # only the verb's own imports
    except (ContractError, UsageError) as problem:
        print(f"error: {problem}")
        return 1
    except BrokenPipeError:
        if not reader_left():
            raise  # another pipe broke (the fork server's, say): that is a failure to show
        # the reader left early (`grade ... | head`): nothing more to say. The interpreter
        # flushes stdout on exit; point it at /dev/null so that cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def reader_left() -> bool:
    """Whether standard output is a pipe whose reading end has been closed."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll (Windows), or no real stdout
        return False
