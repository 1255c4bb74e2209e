"""Code fits the page: every line of every code cell (docstrings included) and of every code
block in the text of the learner and instructor notebooks and of the book's pages fits the
website's code column.

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
OPENING = re.compile(r"^(`{3,}|~{3,})\s*(.*)$")
OPTIONS = re.compile(r"\A---\n.*?^---\n|^:[\w-]+:.*$", re.M | re.S)  # a code-cell's options


def too_wide(lines: list[str]) -> list[str]:
    return [f"{len(line)} chars: {line.strip()[:70]}" for line in lines if len(line) > CODE_WIDTH]


def test_the_notebooks_and_pages_are_found():
    assert len(NOTEBOOKS) >= 18 and PAGES, (NOTEBOOKS, PAGES)


def code_blocks(markdown: str) -> list[str]:
    """The fenced code blocks of a page or of a notebook's text cell: ```python, ```bash,
    ```text... and {code-cell} (without its options), not directives such as {glossary}."""
    blocks, fence, info, lines = [], None, "", []
    for line in markdown.splitlines():
        if fence is None:
            opening = OPENING.match(line)
            if opening:
                fence, info, lines = opening.group(1), opening.group(2).strip(), []
        elif line.strip() == fence:
            if info.startswith("{code-cell}"):
                blocks.append(OPTIONS.sub("", "\n".join(lines) + "\n"))
            elif not info.startswith("{"):
                blocks.append("\n".join(lines))
            fence = None
        else:
            lines.append(line)
    return blocks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_code_line_of_a_notebook_fits(path):
    """Code cells, and the code blocks of text cells."""
    wide = []
    for index, cell in enumerate(read_notebook(path).cells):
        blocks = [cell.source] if cell.cell_type == "code" else code_blocks(cell.source)
        wide += [f"cell {index}: {problem}" for block in blocks for problem in too_wide(block.splitlines())]
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_every_code_line_of_a_page_fits(path):
    blocks = code_blocks(path.read_text(encoding="utf-8"))
    wide = [problem for block in blocks for problem in too_wide(block.splitlines())]
    assert not wide, "\n".join(wide)
