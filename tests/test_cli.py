"""The autograder's command line ends quietly when its reader goes away (``grade ... | head``),
and only then: a pipe of its own that breaks is still an error that shows."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

# the report verb, made to print far more than a pipe holds
LONG_OUTPUT = """
import sys
from autograder import cli, report
report.main = lambda args: [print("row " * 20) for _ in range(200_000)] and 0
sys.exit(cli.main(["report", "gradebook"]))
"""


def test_a_reader_that_leaves_early_gets_no_traceback():
    process = subprocess.Popen([sys.executable, "-c", LONG_OUTPUT], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith("row row")
    process.stdout.close()  # what `head -1` does after its line
    errors = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert errors == ""


# the report verb, failing on a pipe that is not standard output
OTHER_PIPE = """
import sys
from autograder import cli, report
def fail(args):
    print("started")
    raise BrokenPipeError("the fork server's pipe")
report.main = fail
sys.exit(cli.main(["report", "gradebook"]))
"""


def test_another_broken_pipe_is_not_hidden():
    finished = subprocess.run([sys.executable, "-c", OTHER_PIPE], cwd=ROOT, capture_output=True, text=True,
                              timeout=60)
    assert finished.returncode != 0 and finished.stdout == "started\n"
    assert "BrokenPipeError: the fork server's pipe" in finished.stderr
