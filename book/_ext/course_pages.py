"""Pages generated from the chapter notebooks: the learning goals and the list of exercises.

``book/index.md`` and ``book/exercises.md`` are MyST notebooks whose hidden code cells call
:func:`learning_path` and :func:`exercise_table`, which read the chapters listed in
``_toc.yml`` and their notebooks in ``book/``. Nothing is typed twice, so the pages stay right
as chapters are added. As a Sphinx extension, this module has both pages read again at every
build (they are executed with ``execution_mode: force``), since no source of theirs changes
when a chapter does, and keeps launch buttons off them: they are pages, not exercises to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import yaml
from IPython.display import SVG, Markdown

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

ROOT = Path(__file__).resolve().parents[2]
GENERATED_PAGES = ("book/index", "book/exercises")
GOALS_INTRO = "you will be able to:"


@dataclass(frozen=True)
class ChapterInfo:
    """What the generated pages show of one chapter."""

    docname: str  # e.g. book/01_query_key_value
    title: str
    summary: str
    goals: list[str]
    exercises: list[tuple[str, int]]  # (exercise id, points)

    @property
    def link(self) -> str:
        """A MyST link to the chapter, relative to ``book/``."""
        return f"[{self.title}]({Path(self.docname).name}.ipynb)"


def toc_files(toc: Path = ROOT / "_toc.yml") -> list[str]:
    """Every ``file:`` entry of the table of contents, in reading order."""

    def walk(node: object) -> list[str]:
        if isinstance(node, dict):
            own = [str(node["file"])] if "file" in node else []
            return own + [name for value in node.values() for name in walk(value)]
        if isinstance(node, list):
            return [name for item in node for name in walk(item)]
        return []

    tree = yaml.safe_load(toc.read_text(encoding="utf-8"))
    return [str(tree["root"])] + walk({k: v for k, v in tree.items() if k != "root"})


def read_chapter(docname: str) -> ChapterInfo:
    """Title, summary, learning goals and exercises of the chapter notebook ``docname``."""
    notebook = nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)
    intro = next(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    title, _, body = intro.partition("\n")
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    goals_at = next((i for i, p in enumerate(paragraphs) if p.endswith(GOALS_INTRO)), None)
    if not title.startswith("# ") or goals_at is None or goals_at + 1 >= len(paragraphs):
        raise ValueError(f"{docname}: the first cell must be '# Title', a summary, and "
                         f"'By the end of this chapter {GOALS_INTRO}' followed by a list of goals")
    goals = [" ".join(item.split()) for item in re.split(r"^- ", paragraphs[goals_at + 1], flags=re.M) if item.strip()]
    exercises = [(cell.metadata["exercise"]["id"], int(cell.metadata["exercise"]["points"]))
                 for cell in notebook.cells if cell.cell_type == "code" and "exercise" in cell.metadata]
    return ChapterInfo(docname, title[2:].strip(), " ".join(paragraphs[0].split()), goals, exercises)


def chapters() -> list[ChapterInfo]:
    """The chapters of the book: the notebooks in the table of contents, in its order."""
    return [read_chapter(name) for name in toc_files() if (ROOT / f"{name}.ipynb").exists()]


def learning_path() -> Markdown:
    """Each chapter with its summary and learning goals, as read from its notebook."""
    blocks = []
    for chapter in chapters():
        goals = "\n".join(f"- {goal}" for goal in chapter.goals)
        blocks.append(f"**{chapter.link}**\n\n{chapter.summary}\n\n"
                      f":::{{dropdown}} After it, you will be able to:\n{goals}\n:::")
    return Markdown("\n\n".join(blocks))


MAP_WIDTH, MAP_ROW, MAP_TOP = 690, 64, 12  # SVG units: CSS pixels in the column of a 1280-px window
MAP_CHARS = 74  # characters of the 14-unit monospace line that fit beside the path


def map_lines(chapter: ChapterInfo) -> list[str]:
    """The "builds:" lines of one chapter on the course map: its exercises' names, wrapped."""
    names = [exercise_id.split(".", 1)[1] for exercise_id, _ in chapter.exercises]
    lines, line = [], "builds:"
    for name in names:
        if len(line) + len(name) + 2 > MAP_CHARS:
            lines.append(line + ",")
            line = "       "
        line += ("," if not line.endswith((":", " ")) else "") + " " + name
    return lines + [line] if names else ["reading and examples"]


def course_map() -> SVG:
    """The course as a path: one stop per chapter, with what its exercises build."""
    rows, y = [], MAP_TOP
    for number, chapter in enumerate(chapters(), start=1):
        lines = map_lines(chapter)
        height = MAP_ROW + 18 * (len(lines) - 1)
        title = re.sub(r"^\d+\.\s*", "", chapter.title)
        rows.append((number, title, lines, y, height))
        y += height
    last_centre = rows[-1][3] + 20 if rows else MAP_TOP
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{MAP_WIDTH}" height="{y + 4}" '
             f'viewBox="0 0 {MAP_WIDTH} {y + 4}" font-family="sans-serif">',
             f'<line x1="28" y1="{MAP_TOP + 20}" x2="28" y2="{last_centre}" stroke="#9bb7d4" '
             'stroke-width="6" stroke-linecap="round"/>']
    for number, title, lines, top, _ in rows:
        parts.append(f'<circle cx="28" cy="{top + 20}" r="17" fill="#1f5f9e"/>'
                     f'<text x="28" y="{top + 26}" font-size="16" font-weight="bold" fill="white" '
                     f'text-anchor="middle">{number}</text>'
                     f'<text x="60" y="{top + 25}" font-size="16" font-weight="bold" '
                     f'fill="#1b2a3a">{escape(title)}</text>')
        for offset, line in enumerate(lines):
            parts.append(f'<text x="60" y="{top + 46 + 18 * offset}" font-size="14" '
                         f'font-family="monospace" fill="#3d4f61" xml:space="preserve">'
                         f'{escape(line)}</text>')
    parts.append("</svg>")
    return SVG("".join(parts))


def exercise_table() -> Markdown:
    """A table of every exercise: its id, its chapter and its points, with totals."""
    rows, total = [], 0
    for chapter in chapters():
        for exercise_id, points in chapter.exercises:
            rows.append(f"| `{exercise_id}` | {chapter.link} | {points} |")
            total += points
    count = len(rows)
    header = "| Exercise | Chapter | Points |\n|:--|:--|--:|"
    return Markdown(f"{header}\n" + "\n".join(rows) + f"\n| **{count} exercises** | | **{total}** |")


def always_read(app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """Sphinx ``env-get-outdated`` handler: the generated pages are read at every build."""
    return [name for name in GENERATED_PAGES if name in env.found_docs]


def drop_launch_buttons(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: object) -> None:
    """``html-page-context`` handler, after the theme's: no launch buttons on the generated pages."""
    if pagename in GENERATED_PAGES:
        context["header_buttons"] = [button for button in context.get("header_buttons", [])
                                     if button.get("label") != "launch-buttons"]


def setup(app: Sphinx) -> dict:
    app.connect("env-get-outdated", always_read)
    app.connect("html-page-context", drop_launch_buttons, priority=502)  # the theme adds them at 501
    return {"parallel_read_safe": True, "parallel_write_safe": True}
