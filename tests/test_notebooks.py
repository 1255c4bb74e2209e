"""Every instructor notebook passes nbval (runs top to bottom), writes nothing to stderr, and
passes its own public self-checks. (The learner notebooks are run by the website build.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograder.notebooks import SOLUTIONS
from conftest import ROOT


@pytest.mark.parametrize("name", sorted(path.name for path in SOLUTIONS.glob("*.ipynb")))
def test_solution_passes_nbval_and_its_self_checks(name):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "nbval_selfcheck",
         "-p", "no:cacheprovider", "-q", str(SOLUTIONS / name)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert finished.returncode == 0, finished.stdout[-4000:]
