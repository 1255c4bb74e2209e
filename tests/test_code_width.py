"""Code fits the page: every line of every code cell (docstrings included) of the learner and
instructor notebooks, and of the code in the book's pages, fits the website's code column.

CODE_WIDTH comes from a measurement: at the theme's full content width (reached at browser
windows of 1440 pixels and wider), a code cell's ``<pre>`` holds 89 characters of its
monospace font (754 px at 8.43 px per character). tests/test_site_browser.py measures it
again on the built site and fails if the column no longer holds CODE_WIDTH characters.
"""

from __future__ import annotations

import re

import pytest

from autograder.notebooks import read_notebook
from conftest import ROOT

CODE_WIDTH = 88
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
PAGES = sorted((ROOT / "book").glob("*.md"))
# Fenced code: ```python, ```bash, ```text... or a {code-cell}; not directives such as {glossary}.
FENCE = re.compile(r"^(```+|~~~+)[ \t]*(\{code-cell\}[^\n]*|[\w-]*[ \t]*)\n(.*?)^\1[ \t]*$", re.M | re.S)


OPTIONS = re.compile(r"\A---\n.*?^---\n|^:[\w-]+:.*$", re.M | re.S)  # a code-cell's options


def too_wide(lines: list[str]) -> list[str]:
    return [f"{len(line)} chars: {line.strip()[:70]}" for line in lines if len(line) > CODE_WIDTH]


def test_the_notebooks_and_pages_are_found():
    assert len(NOTEBOOKS) >= 18 and PAGES, (NOTEBOOKS, PAGES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_code_line_of_a_notebook_fits(path):
    wide = [f"cell {index}: {problem}" for index, cell in enumerate(read_notebook(path).cells)
            if cell.cell_type == "code" for problem in too_wide(cell.source.splitlines())]
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_every_code_line_of_a_page_fits(path):
    blocks = [OPTIONS.sub("", match.group(3)) if match.group(2).startswith("{") else match.group(3)
              for match in FENCE.finditer(path.read_text(encoding="utf-8"))]
    wide = [problem for block in blocks for problem in too_wide(block.splitlines())]
    assert not wide, "\n".join(wide)
