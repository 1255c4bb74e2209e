"""``python -m autograder report GRADEBOOK_DIR``: a class report for the instructor.

Reads the per-submission results that ``grade`` writes into ``GRADEBOOK_DIR/results/`` and writes
``report.html`` (one self-contained page: styles and figures inline, no scripts, opens offline)
and its Markdown twin ``report.md`` (figures beside it as PNG files): the score distribution, the
pass rate of every exercise and of every hidden check, the most frequent misconceptions of each
exercise with their counts, and the submissions that could not be graded.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from autograder.diagnose import load_misconceptions  # noqa: E402

TOP = 5  # misconceptions listed per exercise


@dataclass
class ExerciseStats:
    id: str
    max_score: float
    submissions: int = 0
    passed: int = 0
    points: float = 0.0
    checks: dict[str, list[int]] = field(default_factory=dict)  # label -> [passed, run]
    misconceptions: Counter = field(default_factory=Counter)


@dataclass
class ClassStats:
    scores: list[tuple[str, float, float]]  # (submission, score, max_score) of graded submissions
    ungradable: list[tuple[str, str]]  # (submission, reason)
    exercises: dict[str, ExerciseStats]
    explanations: dict[tuple[str, str], str]  # (exercise, misconception) -> its explanation


def read_results(gradebook: Path) -> dict[str, dict]:
    """Submission name -> its results.json, from ``gradebook/results``."""
    folder = gradebook / "results"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} does not exist: grade a class first (python -m autograder grade DIR --out ...)")
    return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))}


def class_stats(results: dict[str, dict]) -> ClassStats:
    """Count scores, passes, checks and misconceptions over every submission."""
    stats = ClassStats([], [], {}, {})
    for name, result in results.items():
        if not result.get("tests"):
            stats.ungradable.append((name, result.get("output", "")))
            continue
        stats.scores.append((name, result["score"], result["max_score"]))
        for test in result["tests"]:
            exercise = stats.exercises.setdefault(test["name"], ExerciseStats(test["name"], test["max_score"]))
            exercise.submissions += 1
            exercise.passed += test["status"] == "passed"
            exercise.points += test["score"]
            extra = test.get("extra_data", {})
            for label, outcome in extra.get("outcomes", {}).items():
                counts = exercise.checks.setdefault(label, [0, 0])
                counts[0] += outcome == "passed"
                counts[1] += 1
            if extra.get("misconception"):
                exercise.misconceptions[extra["misconception"]["name"]] += 1
        chapter = result.get("chapter")
        if chapter:
            for exercise_id, entries in load_misconceptions(chapter).items():
                for entry in entries:
                    stats.explanations[(exercise_id, entry["name"])] = entry["explanation"]
    # by chapter, then in notebook order (the order of the tests in the results)
    stats.exercises = dict(sorted(stats.exercises.items(), key=lambda item: item[0].split(".")[0]))
    return stats


def figures(stats: ClassStats) -> list[tuple[str, str, Figure]]:
    """(file stem, alt text, figure): the score distribution and the pass rate per exercise."""
    made = []
    scores = [score for _, score, _ in stats.scores]
    most = max((top for _, _, top in stats.scores), default=1)
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    ax.hist(scores, bins=[x / 2 for x in range(int(2 * most) + 2)], color="#3b6ea5", edgecolor="white")
    ax.set_xlabel("score (points)")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Score distribution")
    fig.tight_layout()
    mean = sum(scores) / len(scores) if scores else 0.0
    made.append(("scores", f"Histogram of the scores of {len(scores)} graded submissions, out of {most:g} points; "
                           f"mean {mean:.1f}.", fig))
    ids = list(stats.exercises)
    rates = [100 * e.passed / e.submissions for e in stats.exercises.values()]
    fig, ax = plt.subplots(figsize=(6.4, 0.5 + 0.4 * max(1, len(ids))), dpi=100)
    ax.barh(ids[::-1], rates[::-1], color="#5a9e6f")
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions with full marks (%)")
    ax.set_ylabel("exercise")
    ax.set_title("Pass rate per exercise")
    fig.tight_layout()
    made.append(("pass_rates", "Bar chart of the share of submissions with full marks per exercise: "
                 + "; ".join(f"{i} {r:.0f}%" for i, r in zip(ids, rates)) + ".", fig))
    return made


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def tables(stats: ClassStats) -> list[tuple[str, list[str], list[list[str]]]]:
    """(heading, header row, rows) of every table in the report, shared by HTML and Markdown."""
    exercise_rows = [[e.id, str(e.submissions), _percent(e.passed, e.submissions),
                      f"{e.points / e.submissions:.2f} / {e.max_score:g}"] for e in stats.exercises.values()]
    check_rows = [[e.id, label, f"{passed}/{run}", _percent(passed, run)]
                  for e in stats.exercises.values() for label, (passed, run) in e.checks.items()]
    misconception_rows = [[e.id, name, str(count), stats.explanations.get((e.id, name), "")]
                          for e in stats.exercises.values() for name, count in e.misconceptions.most_common(TOP)]
    made = [("Exercises", ["exercise", "submissions", "full marks", "mean score"], exercise_rows),
            ("Hidden checks", ["exercise", "check", "passed", "pass rate"], check_rows),
            ("Most frequent misconceptions", ["exercise", "misconception", "submissions", "what it is"],
             misconception_rows)]
    made.append(("Submissions that could not be graded", ["submission", "reason"],
                 [[name, reason] for name, reason in stats.ungradable]))
    return made


def _summary(stats: ClassStats) -> str:
    graded = len(stats.scores)
    mean = sum(score for _, score, _ in stats.scores) / graded if graded else 0.0
    top = max((most for _, _, most in stats.scores), default=0)
    return (f"{graded + len(stats.ungradable)} submissions: {graded} graded (mean score {mean:.2f} of {top:g} "
            f"points), {len(stats.ungradable)} could not be graded.")


def write_report(gradebook: Path, out: Path | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (with its PNG figures) into ``out`` (default: the gradebook)."""
    out = out or gradebook
    out.mkdir(parents=True, exist_ok=True)
    stats = class_stats(read_results(gradebook))
    made = [(stem, alt, _png(fig)) for stem, alt, fig in figures(stats)]
    page = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>Class report</title><style>", STYLE, "</style></head><body><main>",
            "<h1>Class report</h1>", f"<p>{html.escape(_summary(stats))}</p>"]
    markdown = ["# Class report", "", _summary(stats), ""]
    for stem, alt, png in made:
        (out / f"report_{stem}.png").write_bytes(png)
        data = base64.b64encode(png).decode()
        page.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'
                    f"<figcaption>{html.escape(alt)}</figcaption></figure>")
        markdown += [f"![{alt}](report_{stem}.png)", ""]
    for heading, header, rows in tables(stats):
        page.append(f"<h2>{html.escape(heading)}</h2>")
        markdown += [f"## {heading}", ""]
        if not rows:
            page.append("<p>None.</p>")
            markdown += ["None.", ""]
            continue
        cells = "".join(f"<th scope=\"col\">{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        page.append(f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>")
        markdown += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        markdown += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        markdown.append("")
    page.append("</main></body></html>")
    html_path, md_path = out / "report.html", out / "report.md"
    html_path.write_text("\n".join(page) + "\n", encoding="utf-8")
    md_path.write_text("\n".join(markdown), encoding="utf-8")
    return html_path, md_path


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; color: #1f2328; background: #fff; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; font-size: 0.95rem; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
figure { margin: 1rem 0; }
img { max-width: 100%; height: auto; }
figcaption { font-size: 0.9rem; color: #57606a; }
"""


def main(args: argparse.Namespace) -> int:
    try:
        html_path, md_path = write_report(Path(args.gradebook), Path(args.out) if args.out else None)
    except FileNotFoundError as missing:
        print(f"error: {missing}")
        return 1
    print(f"wrote {html_path} and {md_path}")
    return 0
