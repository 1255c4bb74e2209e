"""Figure text is never set below 9 pt: no font size under 9 in the chapters' plotting code or
in the course's plotting functions. (tests/test_site_browser.py checks that no figure is
shown smaller than its natural size would allow, so 9 pt stays 9 pt on the page.)"""

from __future__ import annotations

import re

import pytest

from autograder.notebooks import read_notebook
from conftest import ROOT

SMALLEST_PT = 9
SIZE = re.compile(r"\b(fontsize|labelsize|size|titlesize)\s*=\s*([0-9.]+)")
RC_SIZE = re.compile(r"""["'](?:font\.size|\w+\.labelsize|legend\.fontsize)["']\s*[:,]\s*([0-9.]+)""")
SOURCES = [*sorted((ROOT / "solutions").glob("*.ipynb")), *sorted((ROOT / "attn").glob("*.py"))]


def code_of(path) -> str:
    if path.suffix == ".py":
        return path.read_text(encoding="utf-8")
    return "\n".join(cell.source for cell in read_notebook(path).cells if cell.cell_type == "code")


def test_the_plotting_code_is_found():
    assert any("fontsize=" in code_of(path) for path in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_no_figure_text_under_9_pt(path):
    code = code_of(path)
    small = [match.group(0) for match in SIZE.finditer(code) if float(match.group(2)) < SMALLEST_PT]
    small += [match.group(0) for match in RC_SIZE.finditer(code) if float(match.group(1)) < SMALLEST_PT]
    assert not small, small
