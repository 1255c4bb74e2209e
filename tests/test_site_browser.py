"""The website in a real browser: headless Chromium opens every page of the built site.

The site is served on loopback. On every page the title is there, math is typeset by the
site's own MathJax and no TeX is left in the text, every image loads and its figure text is
shown at 9 pt or more, no link points to a placeholder, nothing logs an error or asks for
another host, the "next" link leads to the next page of the table of contents, and no
reference solution appears in the rendered HTML. The code column holds CODE_WIDTH
characters, and no code cell or self-check output is wider than its column. A screenshot
of the first screen of every page is written to _build/screenshots.
"""

from __future__ import annotations

import functools
import html
import re
import struct
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page

from autograder.assemble import chapter_names, load_chapter
from conftest import ROOT, SCREENSHOTS, code_text, leaked_snippets
from course_pages import read_chapter, toc_files
from repository_buttons import is_real_repository
from test_code_width import CODE_WIDTH

PAGES = toc_files()  # book/index first, then the table of contents in reading order
CHAPTERS = [name for name in PAGES if re.fullmatch(r"book/\d\d_\w+", name)]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
PLACEHOLDER = re.compile(r"YOUR-|PLACEHOLDER|(?i://[^/]*\bexample\.(com|org|net)\b|//[^/]*placeholder)")
FULL_WIDTH = {"width": 1440, "height": 900}  # the theme's content column is at its widest
SMALLEST_FONT_PT = 9  # in the figures' code; tests/test_figure_text.py holds them to it
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
    url = f"http://127.0.0.1:{server.server_address[1]}"
    SERVED[url] = site
    yield url
    server.shutdown()
    server.server_close()


def site_dir(base_url: str) -> Path:
    """The folder that ``base_url`` serves (the built site)."""
    return SERVED[base_url]


SERVED: dict[str, Path] = {}


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


def png_dpi(path: Path) -> float:
    """The resolution a PNG file records (matplotlib writes it), in dots per inch; 96 if none."""
    data = path.read_bytes()
    at = data.find(b"pHYs")
    if at < 0:
        return 96.0
    per_x, _, unit = struct.unpack(">IIB", data[at + 4:at + 13])
    return per_x * 0.0254 if unit == 1 else 96.0


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
    if name in CHAPTERS:  # Sphinx typesets straight quotes as curly ones
        assert heading.replace("\u2019", "'") == read_chapter(name).title.replace("\u2019", "'")

    typeset = page.evaluate(r"""() => {
        const raw = [], walker = document.createTreeWalker(document.querySelector("article"),
                                                             NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (node.parentElement.closest("pre, code, mjx-container, script, style")) continue;
            if (/\$[^$\s][^$]*\$|\$\$|\\\(|\\\)|\\\[/.test(node.textContent)) raw.push(node.textContent.trim());
        }
        return {math: document.querySelectorAll(".math").length,
                rendered: document.querySelectorAll(".math mjx-container").length,
                errors: document.querySelectorAll("mjx-merror").length, raw};
    }""")
    assert typeset["rendered"] == typeset["math"] and not typeset["errors"] and not typeset["raw"], typeset
    if name in CHAPTERS:
        assert typeset["math"] > 0, "a chapter without math: is MathJax checked at all?"

    images = page.evaluate("() => [...document.images].map(image => [image.src, image.naturalWidth])")
    assert all(width > 0 for _, width in images), [src for src, width in images if not width]
    if name in CHAPTERS:
        assert any("_images/" in src for src, _ in images), "a chapter without a figure"
    small = []
    for src, natural, shown in page.evaluate("""() => [...document.querySelectorAll("article img")]
            .map(image => [image.src, image.naturalWidth, image.getBoundingClientRect().width])"""):
        file = site_dir(base_url) / src[len(base_url) + 1:].split("?")[0]
        if src.endswith(".png") and src.startswith(base_url):  # matplotlib: text in pt at the PNG's dpi
            shown_pt = SMALLEST_FONT_PT * png_dpi(file) / 72 * (shown / natural) * 72 / 96
        elif src.endswith(".svg") and src.startswith(base_url) and "_images" in src:  # drawn by code
            sizes = [float(size) for size in re.findall(r'font-size="([0-9.]+)"', file.read_text())]
            shown_pt = min(sizes) * (shown / natural) * 72 / 96  # SVG units are CSS pixels
        else:
            continue
        if shown_pt < 9 - 0.05:
            small.append(f"{src.rsplit('/', 1)[-1]}: its smallest text is shown at {shown_pt:.1f} pt")
    assert not small, small

    links = page.evaluate("""() => [...document.querySelectorAll("a[href], img[src], link[href], script[src]")]
        .map(element => element.href || element.src)""")
    assert not [link for link in links if PLACEHOLDER.search(link)], [l for l in links if PLACEHOLDER.search(l)]
    footer = page.locator("footer.bd-footer-content").inner_text()
    assert "By the contributors to this course" in footer and "Copyright 2026" in footer, footer
    buttons = page.locator(".dropdown-launch-buttons, a[title='Source repository']").count()
    if not is_real_repository(REPOSITORY):
        assert buttons == 0, "a repository or launch button, but no repository is configured"
    elif name in CHAPTERS:
        assert buttons == 2, "a repository is configured: its button and the launch buttons"

    rendered = html.unescape(re.sub(r"<[^>]+>", "", page.content()))
    assert not leaked_snippets(code_text(rendered)), "a reference solution appears on the page"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{Path(name).name}.png")
    if name == "book/index":
        page.screenshot(path=SCREENSHOTS / "index_full.png", full_page=True)
    elif name in CHAPTERS:
        page.locator("article img").first.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"{Path(name).name}_figure.png")

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


@pytest.mark.parametrize("viewport", [FULL_WIDTH, {"width": 1280, "height": 900}],
                         ids=lambda viewport: f"{viewport['width']}px")
def test_code_fits_the_code_column(browser: Browser, base_url: str, viewport: dict) -> None:
    """At the theme's full width the code column holds CODE_WIDTH characters of the 14 px
    code font (the limit tests/test_code_width.py holds every code line to); in a narrower
    window the font shrinks so that it still does. No code block of any page and no
    self-check output is wider than its column."""
    context = browser.new_context(viewport=viewport)
    tab = context.new_page()
    overflowing, measured_pages = [], 0
    for name in PAGES:
        tab.goto(f"{base_url}/{name}.html", wait_until="load")
        measured = tab.evaluate("""() => {
            const blocks = [...document.querySelectorAll("article div.highlight pre")]
                .filter(block => !block.closest(".cell_output") || block.closest(".tag_self-check"));
            if (!blocks.length) return null;
            const pre = blocks[0], style = getComputedStyle(pre);
            const probe = document.createElement("span");
            probe.textContent = "x".repeat(100);
            pre.appendChild(probe);
            const character = probe.getBoundingClientRect().width / 100;
            probe.remove();
            const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
            const wide = blocks.filter(block => block.scrollWidth > block.clientWidth + 1)
                .map(block => block.innerText.split("\\n").sort((a, b) => b.length - a.length)[0]);
            return {characters: inner / character, size: parseFloat(style.fontSize), wide};
        }""")
        if measured is None:
            continue
        measured_pages += 1
        assert CODE_WIDTH <= measured["characters"] < CODE_WIDTH + 3, (name, measured)
        assert measured["size"] == 14 if viewport == FULL_WIDTH else measured["size"] >= 12, (name, measured)
        overflowing += [f"{name}: {line[:80]}" for line in measured["wide"]]
    context.close()
    assert measured_pages >= len(CHAPTERS), measured_pages
    assert not overflowing, overflowing
