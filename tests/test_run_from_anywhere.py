"""The course's commands work from any folder, not only from the repository's root: the
grader is installed as a package (`pip install -e .`, in requirements.txt) with an
`autograder` command, and finds its chapters, checks and golden outputs by itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import POINTS, ROOT

COMMANDS = {"python -m autograder": [sys.executable, "-m", "autograder"],
            "autograder": [str(Path(sys.executable).parent / "autograder")]}


def test_grading_from_another_folder(tmp_path):
    submission = ROOT / "book" / "01_query_key_value.ipynb"  # the stub: it grades to 0 points
    for name, command in COMMANDS.items():
        finished = subprocess.run([*command, "grade", str(submission), "--results", "results.json"],
                                  cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, (name, finished.stdout[-2000:], finished.stderr[-2000:])
        total = sum(POINTS.values())
        assert f"Chapter 01_query_key_value: 0/{total} points" in finished.stdout, (name, finished.stdout[-2000:])
        assert (tmp_path / "results.json").stat().st_size > 0
