"""Release the course's learner notebooks and grade submissions against hidden checks."""

from __future__ import annotations

import argparse

from autograder import grade, release
from autograder.notebooks import ContractError


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    verbs = main.add_subparsers(dest="verb", required=True)

    grading = verbs.add_parser("grade", help="grade a submitted notebook against the hidden checks")
    grading.add_argument("submission", help="the learner's .ipynb file")
    grading.add_argument("--results", help="also write Gradescope-format results to this JSON file")
    grading.add_argument("--cell-timeout", type=int, default=grade.DEFAULT_CELL_TIMEOUT,
                         help="seconds one cell may run (default: %(default)s)")
    grading.set_defaults(run=grade.main)

    releasing = verbs.add_parser("release", help="write book/ and the golden outputs from solutions/")
    releasing.add_argument("chapters", nargs="*", help="chapter names, e.g. 01_query_key_value (default: all)")
    releasing.add_argument("--check", action="store_true",
                           help="only report learner notebooks that are out of date; write nothing")
    releasing.add_argument("--force", action="store_true",
                           help="overwrite learner notebooks even if they hold outputs or solved exercises")
    releasing.set_defaults(run=release.main)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except (ContractError, ValueError, FileNotFoundError) as problem:
        print(f"error: {problem}")
        return 1
