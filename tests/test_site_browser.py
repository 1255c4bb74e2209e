"""The website in a real browser: headless Chromium opens every page of the built site.

The site is served on loopback. On every page the title is there, math is typeset by the
site's own MathJax, every image loads, nothing logs an error or asks for another host, the
"next" link leads to the next page of the table of contents, and no reference solution
appears in the rendered HTML.
"""

from __future__ import annotations

import functools
import html
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from autograder.assemble import chapter_names, load_chapter
from conftest import SCREENSHOTS, code_text, leaked_snippets
from course_pages import read_chapter, toc_files

PAGES = toc_files()  # book/index first, then the table of contents in reading order
CHAPTERS = [name for name in PAGES if re.fullmatch(r"book/\d\d_\w+", name)]
GLOSSARY_TERMS = ["query", "key", "value", "score", "softmax", "temperature", "head", "mask",
                  "positional encoding", "attention", "self-attention", "multi-head attention"]


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    """The built site, served on 127.0.0.1 at a free port for the duration of the module."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def problems() -> list[str]:
    """What went wrong in the browser while a test ran: filled by the ``page`` fixture."""
    return []


@pytest.fixture
def page(browser: Browser, base_url: str, problems: list[str]) -> Iterator[Page]:
    """A new tab that records console errors, uncaught exceptions and failed or foreign requests."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    tab.on("pageerror", lambda error: problems.append(f"exception: {error}"))
    tab.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"))
    tab.on("response", lambda response: response.status >= 400 and problems.append(
        f"HTTP {response.status}: {response.url}"))
    tab.on("request", lambda request: request.url.startswith(("http://", "https://"))
           and not request.url.startswith(base_url) and problems.append(f"foreign host: {request.url}"))
    yield tab
    context.close()


def open_page(tab: Page, url: str) -> None:
    """Load ``url``, then wait until MathJax has typeset it and every image has loaded or failed."""
    tab.goto(url, wait_until="load")
    if tab.locator("script[src*='mathjax']").count():  # Sphinx loads MathJax on pages with math only
        tab.wait_for_function("() => window.MathJax?.startup?.promise !== undefined")
        tab.evaluate("() => MathJax.startup.promise")
    tab.evaluate("""() => Promise.all([...document.images].map(image => {
        image.loading = "eager";
        return image.complete ? null : new Promise(done => { image.onload = image.onerror = done; });
    }))""")


@pytest.mark.parametrize("name", PAGES)
def test_page_in_a_browser(page: Page, base_url: str, name: str, problems: list[str]) -> None:
    """Title, typeset math, loaded images, no leak, working "next" link, and a clean console."""
    open_page(page, f"{base_url}/{name}.html")

    heading = page.locator("article h1").first.inner_text().rstrip("#¶ \n")
    assert heading and page.title().startswith(heading)
    if name in CHAPTERS:
        assert heading == read_chapter(name).title

    typeset = page.evaluate(r"""() => {
        const text = node => { const copy = node.cloneNode(true);
            copy.querySelectorAll("pre, code").forEach(element => element.remove()); return copy.innerText; };
        return {math: document.querySelectorAll(".math").length,
                rendered: document.querySelectorAll(".math mjx-container").length,
                errors: document.querySelectorAll("mjx-merror").length,
                raw: /\$\$|\\\[|\\\(/.test(text(document.querySelector("article")))};
    }""")
    assert typeset["rendered"] == typeset["math"] and not typeset["errors"] and not typeset["raw"], typeset
    if name in CHAPTERS:
        assert typeset["math"] > 0, "a chapter without math: is MathJax checked at all?"

    images = page.evaluate("() => [...document.images].map(image => [image.src, image.naturalWidth])")
    assert all(width > 0 for _, width in images), [src for src, width in images if not width]
    if name in CHAPTERS:
        assert any("_images/" in src for src, _ in images), "a chapter without a figure"

    rendered = html.unescape(re.sub(r"<[^>]+>", "", page.content()))
    assert not leaked_snippets(code_text(rendered)), "a reference solution appears on the page"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if name == "book/index":
        page.screenshot(path=SCREENSHOTS / "index.png", full_page=True)
    elif name == CHAPTERS[0]:
        page.locator("article img").first.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"{Path(name).name}.png")

    following = PAGES.index(name) + 1
    if following < len(PAGES):
        page.locator("a.right-next").click()
        page.wait_for_url(f"{base_url}/{PAGES[following]}.html")
        assert page.locator("article h1").first.is_visible()
    assert not problems, problems


def test_exercises_page_lists_what_the_grader_scores(page: Page, base_url: str, problems: list[str]) -> None:
    """Every exercise the autograder knows, with its chapter and points, and the total."""
    open_page(page, f"{base_url}/book/exercises.html")
    rows = page.evaluate("""() => [...document.querySelectorAll("article table tbody tr")].map(row =>
        [...row.querySelectorAll("td")].map(cell => [cell.innerText.trim(), cell.querySelector("a")?.href ?? ""]))""")
    listed = [(cells[0][0], cells[1][1].split("/")[-1].removesuffix(".html"), int(cells[2][0]))
              for cells in rows if cells[1][1]]
    graded = [(exercise.id, name, exercise.points)
              for name in chapter_names() for exercise in load_chapter(name).exercises]
    assert sorted(listed) == sorted(graded)
    assert rows[-1][2][0] == str(sum(points for *_, points in graded))
    assert not problems, problems


def test_glossary_defines_the_course_terms(page: Page, base_url: str, problems: list[str]) -> None:
    """The glossary defines at least the course's core terms."""
    open_page(page, f"{base_url}/book/glossary.html")
    terms = page.evaluate("() => [...document.querySelectorAll('dl.glossary dt')].map(term => term.innerText.trim())")
    assert set(GLOSSARY_TERMS) <= {term.rstrip("#¶ \n") for term in terms}
    assert not problems, problems


def test_search_finds_the_chapters(page: Page, base_url: str, problems: list[str]) -> None:
    """The book's own search, run in the browser from its index, finds a chapter."""
    page.goto(f"{base_url}/search.html?q=softmax", wait_until="load")
    page.wait_for_selector("ul.search li a")
    found = page.evaluate("() => [...document.querySelectorAll('ul.search li a')].map(link => link.href)")
    assert any("02_scores_and_softmax.html" in link for link in found), found
    assert not problems, problems
