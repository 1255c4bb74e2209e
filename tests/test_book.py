"""The website builds with warnings as errors, every page is there, no solution leaks into it,
no page shows the builder's machine, and chapter 9 ran with the data exactly when it is there."""

from __future__ import annotations

import html
import re

from attn.conll import HOW_TO_GET, data_available
from attn.ner import QUICK
from autograder.assemble import chapter_names, load_chapter
from conftest import ROOT, code_text, leaked_snippets
from course_pages import toc_files


def test_every_chapter_has_a_page(site):
    for name in toc_files():
        page = site / f"{name}.html"
        assert page.exists(), page
        assert "<h1>" in page.read_text()


def test_learner_notebooks_ran_in_their_stub_state(site):
    for name in chapter_names():
        page = (site / "book" / f"{name}.html").read_text()
        assert "<img" in page, f"{name}: no figure"
        exercises = len(load_chapter(name).exercises)
        assert page.count("not implemented yet") == exercises, f"{name}: a self-check did not run or did not say so"


def test_math_is_served_by_the_site_itself(site):
    page = (site / "book" / "01_query_key_value.html").read_text()
    sources = re.findall(r'<script[^>]*src="([^"?]*mathjax[^"?]*)', page)  # without any ?v=hash
    assert sources == ["../_static/mathjax/tex-chtml.js"]
    assert (site / "_static" / "mathjax" / "tex-chtml.js").stat().st_size > 500_000
    assert list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


def test_figures_have_alt_text(site):
    for page in site.glob("book/*.html"):
        for tag in re.findall(r"<img [^>]*>", page.read_text()):
            alt = re.search(r'alt="([^"]*)"', tag)
            assert alt and alt.group(1).strip() and alt.group(1) != "_images", f"{page.name}: {tag[:200]}"


def test_no_reference_solution_appears_on_the_site(site):
    for page in site.rglob("*"):
        if page.suffix in {".html", ".ipynb", ".txt", ".js", ".md"} and page.is_file():
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8", errors="ignore")))
            assert not leaked_snippets(code_text(text)), f"{page} contains solution code"
    assert not list(site.rglob("solutions*")) and not list(site.rglob("golden*"))


def page_text(page) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_chapter_9_ran_with_the_data_exactly_when_it_is_there(site):
    """The site shows what this environment can do: a build with CONLL2003_DIR set fine-tunes
    (the execution cache is kept per data state), one without says how to get the data."""
    text = page_text(site / "book" / "09_named_entity_recognition.html")
    # whole documents: QUICK.max_sentences sentences or just over
    trained = re.search(r"fine-tuned on (\d[\d,]*) sentences", text)
    trained = trained is not None and int(trained.group(1).replace(",", "")) >= QUICK.max_sentences
    missing = HOW_TO_GET.split(":")[0] in text
    assert (trained, missing) == ((True, False) if data_available() else (False, True)), (trained, missing)
    assert "This run fine-tuned on" in text if data_available() else "nothing was fine-tuned here" in text


def test_no_page_shows_the_builders_machine(site):
    """Outputs hold no absolute path of this machine, no installed package's file, and no
    frame of a library: deliberate errors are shown by attn.errors.show_error."""
    for page in site.glob("book/*.html"):
        text = page_text(page)
        for clue in (str(ROOT), "site-packages", "/tmp/ipykernel", "Traceback (most recent call last)"):
            assert clue not in text, f"{page.name} shows {clue!r}"
