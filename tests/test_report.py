"""The class report: counts from a real gradebook, a self-contained HTML page that opens offline
in Chromium with no console errors, and its Markdown twin."""

from __future__ import annotations

import json

import pytest

from autograder.notebooks import solution_sources
from autograder.report import class_stats, figures, read_results
from conftest import CHAPTER, SCREENSHOTS, run_cli

SUBTRACTS_MINIMUM = "def softmax(s):\n    e = np.exp(s - s.min())\n    return e / e.sum()\n"
NAIVE = "def softmax(s):\n    e = np.exp(s)\n    return e / e.sum()\n"


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """A class of five: the reference, two with the same misconception, one with another, one broken file."""
    from autograder.notebooks import write_submission

    folder = tmp_path_factory.mktemp("class")
    reference = solution_sources(CHAPTER)
    for name, softmax in [("ada", None), ("ben", SUBTRACTS_MINIMUM), ("cy", SUBTRACTS_MINIMUM), ("dee", NAIVE)]:
        write_submission(CHAPTER, {**reference, **({"01.softmax": softmax} if softmax else {})}, folder / f"{name}.ipynb")
    (folder / "eve.ipynb").write_text("")
    out = tmp_path_factory.mktemp("gradebook")
    finished = run_cli("grade", str(folder), "--out", str(out), "--jobs", "2")
    assert finished.returncode == 0, finished.stdout + finished.stderr
    finished = run_cli("report", str(out))
    assert finished.returncode == 0 and "report.html" in finished.stdout, finished.stdout + finished.stderr
    return out


def test_the_report_counts_scores_checks_and_misconceptions(gradebook):
    stats = class_stats(read_results(gradebook))
    assert sorted(name for name, _, _ in stats.scores) == ["ada", "ben", "cy", "dee"]
    assert [name for name, _ in stats.ungradable] == ["eve"] and "empty" in stats.ungradable[0][1]
    softmax = stats.exercises["01.softmax"]
    assert (softmax.submissions, softmax.passed) == (4, 1)
    assert softmax.misconceptions == {"subtracts-the-minimum": 2, "no-max-subtraction": 1}
    assert softmax.checks["two scores 1000 apart (shift by the right score)"] == [1, 4]
    assert softmax.checks["random scores"] == [4, 4]
    assert stats.exercises["01.soft_lookup"].passed == 4
    markdown = (gradebook / "report.md").read_text()
    assert "| 01.softmax | subtracts-the-minimum | 2 |" in markdown
    assert "| 01.softmax | two scores 1000 apart (shift by the right score) | 1/4 | 25% |" in markdown
    assert "| eve |" in markdown and "![Histogram of the scores of 4 graded submissions" in markdown
    for stem in ("scores", "pass_rates"):
        assert (gradebook / f"report_{stem}.png").read_bytes().startswith(b"\x89PNG")


def test_figures_have_labelled_axes_and_alt_text(gradebook):
    for _, alt, figure in figures(class_stats(read_results(gradebook))):
        for axes in figure.axes:
            assert axes.get_xlabel() and axes.get_ylabel() and axes.get_title()
        assert len(alt) > 40


def test_the_page_opens_offline_without_console_errors(gradebook, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    problems, requests = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto((gradebook / "report.html").as_uri())
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "class_report.png"), full_page=True)
    images = page.evaluate("[...document.images].map(i => [i.alt, i.naturalWidth, i.src.slice(0, 21)])")
    text = page.inner_text("body")
    page.close()
    assert problems == []
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert len(images) == 2 and all(alt and width > 100 and src == "data:image/png;base64" for alt, width, src in images)
    assert "subtracts-the-minimum" in text and "Submissions that could not be graded" in text
    assert json.loads((gradebook / "results" / "ben.json").read_text())["tests"][0]["extra_data"]["misconception"]
