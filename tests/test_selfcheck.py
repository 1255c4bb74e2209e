"""The public self-check's warning about names from outside the exercise cell, in a real kernel."""

import nbformat
from nbclient import NotebookClient

from autograder.notebooks import BOOK

SETUP = "import numpy as np\nfrom attn.selfcheck import Case, check_exercise"
INPUTS = "import json\nq = np.ones(2)\nK = np.eye(2)\nV = np.eye(2)\nexpected = (np.full(2, 0.5), np.full(2, 0.5))"
RUNNER = '''def run_lookup(function, q, K, V):
    """A chapter's helper, which uses what the chapter's other cells define (not the learner's code)."""
    json.dumps([])
    return function(q, K, V)
'''
OWN = '''def soft_lookup(q, K, V):
    s = K @ q
    p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    return p, p @ V
'''
BORROWING = '''def soft_lookup(q, K, V):
    p = weights(K @ q)
    return p, p @ V
'''
HELPER = "def weights(s):\n    return np.exp(s - s.max()) / np.exp(s - s.max()).sum()\n"
CHECK = 'check_exercise("01.soft_lookup", run_lookup, [Case("uniform", (soft_lookup, q, K, V), expected)])'


def self_check_output(*cells: str) -> str:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(BOOK)}}).execute()
    return "".join(out.get("text", "") for out in notebook.cells[-1].outputs)


def test_a_chapters_runner_is_not_blamed_for_what_the_chapter_defines():
    output = self_check_output(SETUP, INPUTS, RUNNER, OWN, CHECK)
    assert output.startswith("✓ 01.soft_lookup: all 1 checks pass."), output


def test_the_learners_function_passed_to_a_runner_is_still_read():
    output = self_check_output(SETUP, INPUTS, RUNNER, HELPER, BORROWING, CHECK)
    assert "✗ 01.soft_lookup: uses weights from outside this cell" in output, output
