"""Grading chapter 1 submissions: scores, feedback, isolation, attacks and bad files."""

from __future__ import annotations

import json

import pytest

from autograder.grade import grade_submission
from autograder.notebooks import solution_sources
from autograder.run import Limits
from conftest import CHAPTER, POINTS, run_cli, scores_of

FULL = sum(POINTS.values())


def feedback_of(grade, exercise_id: str) -> str:
    return "\n".join(next(r.feedback for r in grade.exercises if r.id == exercise_id))


def with_solutions(replaced: dict[str, str]) -> dict[str, str]:
    """The reference solutions, with the given exercises replaced."""
    return {**solution_sources(CHAPTER), **replaced}


def test_wrong_loses_exactly_its_points_and_equivalent_keeps_them(make_submission):
    sources = with_solutions({
        # wrong: the naive softmax overflows
        "01.softmax": "def softmax(s):\n    e = np.exp(s)\n    return e / e.sum()\n",
        # equivalent: einsum instead of a matrix product for the scores, and a loop, with prints of
        # its own, for the output
        "01.soft_lookup": ("def soft_lookup(q, K, V):\n    s = np.einsum('md,d->m', K, q)\n"
                           "    e = np.exp(s - np.max(s))\n    p = e / np.sum(e)\n"
                           "    out = np.zeros(V.shape[1], dtype=V.dtype)\n"
                           "    for weight, value in zip(p, V):\n        print('adding', weight)\n"
                           "        out = out + weight * value\n    return p, out\n"),
    })
    grade = grade_submission(make_submission(sources))
    # partial credit: the naive softmax passes 3 of the 8 checks, 3 * 3/8 rounded down to a half point
    assert scores_of(grade) == {"01.softmax": 1, "01.soft_lookup": 4}
    feedback = feedback_of(grade, "01.softmax")
    assert "scores large enough to overflow exp" in feedback and "NaN" in feedback
    assert "3 of 8 hidden checks pass: 1 of 3 points (partial credit)" in feedback
    assert "Likely mistake: Your softmax takes exp of the raw scores" in feedback
    assert "See 'Overflow, and the fix' in chapter 1." in feedback


ONE_PERCENT_OFF = ("def soft_lookup(q, K, V):\n    s = K @ q\n    e = np.exp(s - np.max(s))\n"
                   "    p = e / np.sum(e)\n    return p, 1.01 * (p @ V)\n")  # right weights, output 1% off


def test_a_result_one_percent_off_fails(make_submission):
    grade = grade_submission(make_submission(with_solutions({"01.soft_lookup": ONE_PERCENT_OFF})))
    # every hidden check's output has an entry far from 0, so all 6 fail, though the weights are right
    result = next(result for result in grade.exercises if result.id == "01.soft_lookup")
    assert (result.checks_passed, result.checks, result.score) == (0, 6, 0)
    assert "values differ" in feedback_of(grade, "01.soft_lookup")


def test_dying_kernel_and_exits_cost_only_their_exercise(make_submission):
    solved = solution_sources(CHAPTER)
    dying = "import os\n\ndef softmax(s):\n    os._exit(3)\n"
    exiting = "import sys\n\ndef softmax(s):\n    sys.exit('bye')\n"
    grade = grade_submission(make_submission(with_solutions({
        "01.softmax": dying, "01.soft_lookup": "raise SystemExit\n" + solved["01.soft_lookup"]})))
    assert scores_of(grade) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert "kernel stopped" in feedback_of(grade, "01.softmax")
    for earlier in (dying, exiting):  # neither costs the exercise after it
        grade = grade_submission(make_submission(with_solutions({"01.softmax": earlier})))
        assert scores_of(grade) == {"01.softmax": 0, "01.soft_lookup": 4}
    assert "SystemExit" in feedback_of(grade, "01.softmax")


def test_endless_loop_times_out_and_later_exercises_still_count(make_submission):
    sources = with_solutions({"01.softmax": "def softmax(s):\n    while True:\n        pass\n"})
    grade = grade_submission(make_submission(sources), Limits(cell_seconds=3))
    assert scores_of(grade) == {"01.softmax": 0, "01.soft_lookup": 4}
    assert "did not finish within 3 seconds" in feedback_of(grade, "01.softmax")


def test_patching_and_imitating_check_output_earn_nothing(make_submission):
    attack = '''
import builtins, numpy
import attn.grading, attn.payload
from IPython.display import display
attn.payload.compare_payloads = lambda *args, **kwargs: None   # the verdict is not in the kernel
numpy.allclose = lambda *args, **kwargs: True
numpy.exp = lambda x: x * 0        # must not break the other exercises' grading
del numpy.max
builtins.print = lambda *args, **kwargs: None
fake = {"type": "array", "library": "numpy", "shape": [3], "dtype": "float64", "values": [0.0, 0.0, 0.0]}

def softmax(s):
    display({attn.grading.CHECK_MIME: fake}, raw=True)
    print("all checks pass")
    return np.full(len(s), 7.0)  # wrong for every check: weights of 7 never sum to 1
'''
    grade = grade_submission(make_submission(with_solutions({"01.softmax": attack})))
    assert scores_of(grade) == {"01.softmax": 0, "01.soft_lookup": 4}  # soft_lookup uses np.exp and np.max


def test_patching_torch_classes_in_one_exercise_does_not_change_another(make_submission):
    chapter = "04_masks"
    attack = solution_sources(chapter)["04.padding_mask"] + """
torch.Tensor.detach = lambda self: torch.zeros(())          # defined on torch.Tensor
torch.Tensor.__matmul__ = lambda self, other: torch.zeros(())   # inherited from torch._C.TensorBase
torch.Tensor.masked_fill = lambda self, mask, value: self       # inherited too
torch.Tensor.__lt__ = lambda self, other: torch.zeros((), dtype=torch.bool)  # breaks this exercise's own answer
"""
    grade = grade_submission(make_submission({**solution_sources(chapter), "04.padding_mask": attack}, chapter))
    assert scores_of(grade) == {"04.padding_mask": 0, "04.decoder_mask": 3, "04.masked_softmax": 3,
                                "04.masked_attention": 3}, [result.feedback for result in grade.exercises]


def test_edited_metadata_deleted_and_copied_cells(make_submission, tmp_path):
    path = make_submission(solution_sources(CHAPTER))
    notebook = json.loads(path.read_text())
    cells = notebook["cells"]
    softmax_cell = next(c for c in cells if c["metadata"].get("exercise", {}).get("id") == "01.softmax")
    broken = dict(softmax_cell, source="def softmax(s):\n    return s\n", metadata=dict(softmax_cell["metadata"]))
    cells.insert(0, broken)                                    # an earlier, wrong copy
    softmax_cell["metadata"]["exercise"] = {"id": "01.softmax", "points": 100}  # points come from the grader
    softmax_cell["metadata"]["tags"] = []                      # re-tagged: still found by id
    lookup_index = next(i for i, c in enumerate(cells)
                        if c["metadata"].get("exercise", {}).get("id") == "01.soft_lookup")
    del cells[lookup_index]                                    # deleted
    path.write_text(json.dumps(notebook))
    grade = grade_submission(path)
    assert scores_of(grade) == {"01.softmax": 3, "01.soft_lookup": 0}
    assert grade.max_score == FULL
    assert "No cell with this exercise id" in feedback_of(grade, "01.soft_lookup")
    assert any("several cells" in note for note in grade.notes)


def test_kernel_sees_no_solutions_golden_outputs_or_grader(make_submission):
    probe = '''
import importlib.util, os
_leaks = os.listdir(".") + [name for name in ("autograder", "solutions") if importlib.util.find_spec(name)]
_leaks += [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]

def softmax(s):
    if _leaks:
        raise RuntimeError(f"the kernel can see {_leaks}")
    e = np.exp(s - np.max(s))
    return e / np.sum(e)
'''
    grade = grade_submission(make_submission(with_solutions({"01.softmax": probe})))
    assert scores_of(grade)["01.softmax"] == 3, feedback_of(grade, "01.softmax")


def test_cli_writes_gradescope_results(make_submission, tmp_path):
    results_path = tmp_path / "results.json"
    finished = run_cli("grade", str(make_submission(with_solutions({"01.softmax": "softmax = None"}))),
                       "--results", str(results_path))
    assert finished.returncode == 0, finished.stderr
    assert f"Chapter {CHAPTER}: 4/{FULL} points" in finished.stdout  # soft_lookup's 4 of 7
    results = json.loads(results_path.read_text())
    assert results["score"] == 4 and results["max_score"] == FULL
    assert [test["name"] for test in results["tests"]] == list(POINTS)
    softmax = results["tests"][0]
    assert softmax["status"] == "failed" and softmax["score"] == 0 and softmax["max_score"] == 3
    assert "NoneType" in softmax["output"] or "not callable" in softmax["output"]


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty"),
    (b"{not json", "not valid notebook JSON"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not valid notebook JSON"),
    (b'{"hello": "world"}', "not a Jupyter notebook"),
    (b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "no exercise of this course"),
])
def test_ungradable_files_exit_2_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "submission.ipynb"
    path.write_bytes(content)
    results_path = tmp_path / "results.json"
    finished = run_cli("grade", str(path), "--results", str(results_path))
    assert finished.returncode == 2
    assert reason in finished.stdout and "Traceback" not in finished.stdout + finished.stderr
    assert len(finished.stdout.strip().splitlines()) == 1
    results = json.loads(results_path.read_text())
    assert results["score"] == 0 and reason in results["output"]


def test_missing_file_exits_2(tmp_path):
    finished = run_cli("grade", str(tmp_path / "nowhere.ipynb"))
    assert finished.returncode == 2 and "does not exist" in finished.stdout
