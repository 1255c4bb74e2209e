"""Shared fixtures: paths, the built website, and submissions made from the learner notebook."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the autograder runs from the repository root, uninstalled
sys.path.append(str(ROOT / "book" / "_ext"))  # the book's own extensions, e.g. course_pages

from autograder.assemble import load_chapter  # noqa: E402
from autograder.notebooks import (BEGIN, END, SOLUTIONS, read_notebook, source_of,  # noqa: E402
                                  write_submission)
from autograder.release import site_build_command  # noqa: E402

CHAPTER = "01_query_key_value"
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"


def points_of(chapter: str) -> dict[str, int]:
    """The points of each exercise of ``chapter``, in notebook order."""
    return {exercise.id: exercise.points for exercise in load_chapter(chapter).exercises}


POINTS = points_of(CHAPTER)  # chapter 1: {"01.softmax": 3, "01.soft_lookup": 4}


def scores_of(grade) -> dict[str, int]:
    """The score of each exercise of a graded submission."""
    return {result.id: result.score for result in grade.exercises}


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m autograder ARGS`` from the repository root, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def code_text(text: str) -> str:
    """Text with comments cut from every line and all whitespace collapsed to single spaces."""
    return " ".join(" ".join(line.split("#")[0].split()) for line in text.splitlines()).strip()


@functools.cache
def solution_snippets() -> frozenset[str]:
    """What would give a solution away: each two consecutive code lines of a solution region,
    or the line itself when the region has one line (comments and layout ignored).
    Read once per test run: the tests call it for every file or page they inspect."""
    snippets = set()
    for path in SOLUTIONS.glob("*.ipynb"):
        for cell in read_notebook(path).cells:
            region: list[str] | None = None
            for line in source_of(cell).splitlines():
                if line.strip() == BEGIN:
                    region = []
                elif line.strip() == END and region is not None:
                    pairs = [f"{a} {b}" for a, b in zip(region, region[1:])]
                    snippets.update(pairs or region)
                    region = None
                elif region is not None and code_text(line):
                    region.append(code_text(line))
    return frozenset(snippets)


def leaked_snippets(text: str) -> list[str]:
    """The solution snippets found in ``text`` (which must already be passed through code_text)."""
    snippets = solution_snippets()
    assert snippets, "found no solution code at all"
    return sorted(snippet for snippet in snippets if snippet in text)


@pytest.fixture(scope="session")
def site() -> Path:
    """Build the website once per test run, with warnings as errors; return its HTML folder."""
    finished = subprocess.run(site_build_command(ROOT), cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    return HTML


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, with a fresh profile and no background network traffic."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def make_submission(tmp_path: Path):
    """Write a learner notebook whose exercise cells hold the given sources; return its path."""

    def make(sources: dict[str, str], chapter: str = CHAPTER, name: str = "submission.ipynb") -> Path:
        return write_submission(chapter, sources, tmp_path / name)

    return make
