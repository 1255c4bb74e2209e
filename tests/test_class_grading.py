"""Grading a class: batch and gradebook, limits, determinism, Gradescope, student release."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import sys
import zipfile
from pathlib import Path

from autograder import gradebook
from autograder.assemble import load_chapter, vary_inputs
from autograder.grade import grade_submission
from autograder.gradebook import grader_fingerprint
from autograder.gradescope import build_zip
from autograder.notebooks import BOOK, solution_sources
from autograder.release import write_solutions_edition, write_student_copy
from autograder.run import Limits
from conftest import CHAPTER, POINTS, run_cli, scores_of


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def test_a_class_is_graded_into_a_gradebook_and_unchanged_work_is_skipped(make_submission, tmp_path):
    class_dir = tmp_path / "class"
    (class_dir / "alice").mkdir(parents=True)
    make_submission(solution_sources(CHAPTER), name="solved.ipynb").rename(class_dir / "alice" / "ch1.ipynb")
    shutil.copy(BOOK / f"{CHAPTER}.ipynb", class_dir / "bob.ipynb")
    (class_dir / "carol.ipynb").write_text("{broken")
    out = tmp_path / "gradebook"

    finished = run_cli("grade", str(class_dir), "--out", str(out), "--jobs", "2")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "Graded 3 submission(s), 0 unchanged" in finished.stdout
    book = read_gradebook(out / "gradebook.csv")
    assert list(book) == ["alice/ch1", "bob", "carol"]
    assert [book["alice/ch1"][e] for e in POINTS] == ["3", "4"] and book["alice/ch1"]["total"] == "7"
    assert book["bob"]["total"] == "0" and book["bob"]["max"] == "7"
    assert book["carol"]["total"] == "0" and "not valid notebook JSON" in book["carol"]["note"]
    assert json.loads((out / "results" / "alice__ch1.json").read_text())["score"] == 7

    again = run_cli("grade", str(class_dir), "--out", str(out), "--jobs", "2")
    assert "Graded 0 submission(s), 3 unchanged and skipped" in again.stdout
    shutil.copy(BOOK / f"{CHAPTER}.ipynb", class_dir / "alice" / "ch1.ipynb")  # alice's work changed
    changed = run_cli("grade", str(class_dir), "--out", str(out))
    assert "Graded 1 submission(s), 2 unchanged" in changed.stdout
    assert read_gradebook(out / "gradebook.csv")["alice/ch1"]["total"] == "0"
    forced = run_cli("grade", str(class_dir), "--out", str(out), "--force", "--jobs", "2")
    assert "Graded 3 submission(s)" in forced.stdout


def test_the_cache_key_changes_with_every_option_and_the_grader_code(tmp_path, monkeypatch):
    limits = Limits()
    key = grader_fingerprint(limits, None, False)
    assert key == grader_fingerprint(limits, None, False)
    others = {grader_fingerprint(Limits(cell_seconds=5), None, False), grader_fingerprint(limits, CHAPTER, False),
              grader_fingerprint(limits, None, True)}
    assert len(others) == 3 and key not in others
    for package in ("attn", "autograder"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "payload.py").write_text("TOLERANCE = 1e-4\n")
    monkeypatch.setattr(gradebook, "ROOT", tmp_path)
    before = grader_fingerprint(limits, None, False)
    (tmp_path / "attn" / "payload.py").write_text("TOLERANCE = 1e-2\n")
    assert grader_fingerprint(limits, None, False) != before


def test_grading_is_deterministic(make_submission, tmp_path):
    sources = {**solution_sources(CHAPTER), "01.softmax": "def softmax(s):\n    e = np.exp(s)\n    return e / e.sum()\n"}
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    for copy in range(20):
        make_submission(sources, name=f"copy{copy:02d}.ipynb").rename(class_dir / f"copy{copy:02d}.ipynb")
    finished = run_cli("grade", str(class_dir), "--out", str(tmp_path / "out"), "--jobs", "2")
    assert finished.returncode == 0
    results = [json.loads(p.read_text()) for p in sorted((tmp_path / "out" / "results").glob("*.json"))]
    assert len(results) == 20
    # softmax: 3 of 8 checks, 1 point; soft_lookup: 4
    assert all(r["tests"] == results[0]["tests"] and r["score"] == 5 for r in results)


def test_an_8_gb_allocation_is_stopped_with_a_clear_message(make_submission):
    sources = {**solution_sources(CHAPTER),
               "01.softmax": ("def softmax(s):\n    big = np.ones(10**9)  # 8 GB\n"
                              "    e = np.exp(s - np.max(s))\n    return e / e.sum()\n")}
    grade = grade_submission(make_submission(sources), Limits(memory_mb=2048))
    assert scores_of(grade) == {"01.softmax": 0, "01.soft_lookup": 4}
    assert "MemoryError: Unable to allocate 7.45 GiB" in "\n".join(grade.exercises[0].feedback)


def test_floods_of_output_are_cut_and_huge_results_refused(make_submission):
    sources = {**solution_sources(CHAPTER),
               "01.softmax": "for _ in range(20000):\n    print('spam ' * 100)\n\n" + solution_sources(CHAPTER)["01.softmax"],
               "01.soft_lookup": "def soft_lookup(q, K, V):\n    return np.zeros(5_000_000), V[0]\n"}
    grade = grade_submission(make_submission(sources), Limits(output_kb=256))
    assert scores_of(grade) == {"01.softmax": 3, "01.soft_lookup": 0}
    assert "OutputTooLarge" in "\n".join(grade.exercises[1].feedback)


def processes_naming(text: str) -> list[str]:
    """The command lines of running processes that hold ``text``."""
    found = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


def test_the_notebook_time_limit_stops_everything(make_submission, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the run's folders, named in its kernels' commands
    sources = {**solution_sources(CHAPTER), "01.softmax": "import time\ntime.sleep(300)\n"}
    grade = grade_submission(make_submission(sources), Limits(cell_seconds=200, notebook_seconds=15))
    assert grade.score == 0
    assert all("15 s time limit" in "\n".join(r.feedback) for r in grade.exercises)
    assert not processes_naming(str(tmp_path)), "a grading kernel outlived its run"


def test_a_notebook_of_another_chapter_or_too_large_is_not_graded(make_submission, tmp_path):
    wrong = run_cli("grade", str(make_submission(solution_sources(CHAPTER))), "--chapter", "02_scores_and_softmax")
    assert wrong.returncode == 2 and "is chapter 01_query_key_value, but the assignment is 02" in wrong.stdout
    huge = tmp_path / "huge.ipynb"
    with huge.open("wb") as handle:
        handle.truncate(200 * 2**20)
    finished = run_cli("grade", str(huge))
    assert finished.returncode == 2 and "more than the 20 MB limit" in finished.stdout


def test_gradescope_zip_runs_a_submission_into_valid_results(make_submission, tmp_path):
    archive = tmp_path / "autograder.zip"
    names = build_zip(archive)
    assert "setup.sh" in names and "run_autograder" in names and "autograder/golden/01_query_key_value.json" in names
    assert not [n for n in names if n.startswith(("solutions/", "tests/"))]
    with zipfile.ZipFile(archive) as zipped:
        assert stat.S_IMODE(zipped.getinfo("run_autograder").external_attr >> 16) == 0o755
        zipped.extractall(tmp_path / "source")
    (tmp_path / "submission").mkdir()
    make_submission(solution_sources(CHAPTER)).rename(tmp_path / "submission" / "mine.ipynb")
    env = {**os.environ, "AUTOGRADER_ROOT": str(tmp_path), "PYTHON": sys.executable}
    subprocess.run(["bash", str(tmp_path / "source" / "run_autograder")], env=env, check=True, timeout=300)
    results = json.loads((tmp_path / "results" / "results.json").read_text())
    assert_gradescope_format(results)
    assert results["score"] == 7 and {t["name"]: t["score"] for t in results["tests"]} == POINTS


def assert_gradescope_format(results: dict) -> None:
    """The fields and types of Gradescope's results.json specification."""
    assert isinstance(results["score"], (int, float)) and isinstance(results["output"], str)
    assert isinstance(results.get("execution_time", 0), (int, float))
    for test in results["tests"]:
        assert isinstance(test["name"], str) and isinstance(test["output"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in ("passed", "failed")


def test_student_release_holds_no_secrets_and_solutions_edition_holds_them(tmp_path):
    write_student_copy(tmp_path / "student")
    shipped = {p.relative_to(tmp_path / "student").as_posix() for p in (tmp_path / "student").rglob("*")}
    assert f"book/{CHAPTER}.ipynb" in shipped and "attn/selfcheck.py" in shipped
    assert not [name for name in shipped if name.startswith(("solutions", "autograder", "tests"))]
    refused = run_cli("release", "--student", str(tmp_path / "student"))
    assert refused.returncode == 1 and "not empty" in refused.stdout

    write_solutions_edition(tmp_path / "answers")
    assert "o = p @ V" in (tmp_path / "answers" / "book" / f"{CHAPTER}.ipynb").read_text()


def test_benchmark_reports_seconds_per_submission_and_throughput():
    finished = run_cli("benchmark", CHAPTER, "--repeat", "5", "--class-size", "2", "--jobs", "2")  # the median of 5
    assert finished.returncode == 0, finished.stdout + finished.stderr
    print(finished.stdout)
    seconds = re.search(r"(\d+\.\d+) s per submission \(7/7 points\)", finished.stdout)
    # The goal is 1.0 s on a quiet 2-core machine; CI's machine may be slower or busier.
    assert seconds and float(seconds[1]) < 2.0, "chapter 1 must grade in under 2 s per submission"
    assert re.search(r"outer start-up \d+\.\d+ s, pytest start-up .* verdict \d+\.\d+ s", finished.stdout)
    assert "submissions per minute" in finished.stdout


def test_random_hidden_inputs_can_differ_per_student(make_submission):
    chapter = load_chapter(CHAPTER)
    alice, bob = vary_inputs(chapter, "alice"), vary_inputs(chapter, "bob")
    assert "default_rng(1003)" in chapter.checks[0].source  # 01.softmax | random scores
    assert len({chapter.checks[0].source, alice.checks[0].source, bob.checks[0].source}) == 3
    assert vary_inputs(chapter, "alice").checks == alice.checks  # the same student, the same inputs
    solved = make_submission(solution_sources(CHAPTER))
    assert grade_submission(solved, student="alice").score == 7
    naive = "def softmax(s):\n    e = np.exp(s)\n    return e / e.sum()\n"
    wrong = make_submission({**solution_sources(CHAPTER), "01.softmax": naive}, name="wrong.ipynb")
    # 3 of 8 checks, 1 point: bob's random scores, the ties and the single score; every overflow fails
    assert scores_of(grade_submission(wrong, student="bob"))["01.softmax"] == 1


def test_one_submission_out_of_time_costs_only_itself_in_a_shared_run(make_submission, tmp_path):
    """A class is graded several submissions to a grading run; each keeps its own time limit."""
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    slow = {**solution_sources(CHAPTER), "01.softmax": "import time\ntime.sleep(60)\n"}
    for name, sources in [("a_slow", slow), ("bob", solution_sources(CHAPTER)), ("carol", solution_sources(CHAPTER))]:
        make_submission(sources, name=f"{name}.ipynb").rename(class_dir / f"{name}.ipynb")
    finished = run_cli("grade", str(class_dir), "--out", str(tmp_path / "out"), "--notebook-timeout", "6",
                       "--cell-timeout", "40")
    assert finished.returncode == 0, finished.stdout[-2000:]
    scores = {path.stem: json.loads(path.read_text()) for path in (tmp_path / "out" / "results").glob("*.json")}
    assert scores["bob"]["score"] == scores["carol"]["score"] == sum(POINTS.values())
    slow_first, *later = scores["a_slow"]["tests"]  # graded first: its sleeping cell stops at its own limit
    assert slow_first["score"] == 0 and "6 s time limit" in slow_first["output"]
    assert all(test["score"] == test["max_score"] or "6 s time limit" in test["output"] for test in later)
    assert "6 s time limit" in later[-1]["output"]  # the last exercise never had time left
