"""Misconception diagnosis: name the mistake behind a failing exercise.

**The catalogue.** ``autograder/misconceptions/<chapter>.py`` (one file per chapter, named like
its checks file) defines ``MISCONCEPTIONS``, a list of :class:`Misconception`:

- ``exercise``: the exercise id, e.g. ``"01.softmax"``;
- ``name``: a short kebab-case name, unique within the exercise, e.g. ``"subtracts-the-minimum"``;
- ``explanation``: one sentence that says what the code does wrong and what is right instead,
  addressed to the learner ("Your softmax subtracts the minimum ..."); it must not quote
  expected values or hidden inputs;
- ``section``: the heading of the chapter section that covers it, exactly as in the notebook
  (without the leading ``#``); a test checks that the heading exists;
- ``source``: a whole exercise cell holding the wrong implementation (same names as the
  exercise). :func:`variant` makes one from a template by replacing exact snippets.

Every entry must fail at least one hidden check (release refuses otherwise), and entries of
one exercise must differ on some check, so each gets its own diagnosis (a test checks it).
Aim for at least three entries per exercise.

**Release** (``python -m autograder release``) runs every entry on the hidden inputs, in the
same kernel run as the reference solutions, and stores, beside the golden outputs,
``autograder/golden/<chapter>.misconceptions.json``: per exercise, each entry's name,
explanation, section and its payloads on the checks it fails. Grading needs only that file,
never the wrong implementations' code, so the Gradescope zip does not need
``autograder/misconceptions/``; per-student inputs (which need ``solutions/``) run the
catalogue again on the student's inputs. Release also stores each entry's payloads on the
public self-check inputs in ``attn/selfcheck_data.json`` (see :mod:`autograder.selfcheck_data`).

**Grading**: when an exercise fails a check, :func:`diagnose` compares the learner's payloads
with every entry's, with the checks' tolerance, by the rule of :func:`attn.diagnosis.best_match`.
A passing exercise is never diagnosed.
"""

from __future__ import annotations

import importlib.util
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from attn.diagnosis import best_match, same_results
from autograder.assemble import Chapter, grading_notebook
from autograder.notebooks import GOLDEN, ContractError
from autograder.run import Limits, run_grading_notebook

CATALOGUE = Path(__file__).resolve().parent / "misconceptions"


@dataclass(frozen=True)
class Misconception:
    """A named wrong implementation of one exercise (see the module docstring)."""

    exercise: str
    name: str
    explanation: str
    section: str
    source: str


def variant(template: str, *replacements: tuple[str, str]) -> str:
    """``template`` with each ``(old, new)`` replaced; raise if ``old`` is not in it."""
    for old, new in replacements:
        if old not in template:
            raise ContractError(f"misconception template has no {old!r} to replace")
        template = template.replace(old, new)
    return template


def load_catalogue(chapter: str) -> list[Misconception]:
    """The misconceptions of ``chapter`` (none when it has no catalogue file)."""
    path = CATALOGUE / f"{chapter}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"misconceptions_{chapter}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    entries = list(module.MISCONCEPTIONS)
    names = [(entry.exercise, entry.name) for entry in entries]
    if len(names) != len(set(names)):
        raise ContractError(f"{chapter}: two misconceptions of one exercise share a name")
    return entries


def rounds_of(catalogue: list[Misconception]) -> list[dict[str, Misconception]]:
    """The catalogue in rounds: round r holds the r-th misconception of every exercise."""
    rounds: list[dict[str, Misconception]] = []
    for entry in catalogue:
        slot = next((r for r in rounds if entry.exercise not in r), None)
        if slot is None:
            slot = {}
            rounds.append(slot)
        slot[entry.exercise] = entry
    return rounds


def run_rounds(chapter: Chapter, rounds: list[dict[str, str]], limits: Limits) -> list[dict[str, dict]]:
    """Run several sets of exercise sources (trusted code) in one kernel; per set, check key (and
    exercise id, for the exercise cell) -> record.

    The sets run as the exercises of one grading notebook, each exercise of set r renamed
    ``<id>@r``, so the grader's boundary cells restore the kernel's state between any two."""
    renamed = [(f"{exercise.id}@{index}", exercise, sources[exercise.id])
               for index, sources in enumerate(rounds) for exercise in chapter.exercises if exercise.id in sources]
    virtual = replace(chapter, exercises=[replace(exercise, id=name) for name, exercise, _ in renamed],
                      checks=[replace(check, exercise=name) for name, exercise, _ in renamed
                              for check in chapter.checks_for(exercise.id)])
    notebook = grading_notebook(virtual, {name: source for name, _, source in renamed}, None,
                                [name for name, _, _ in renamed])
    by_round: list[dict[str, dict]] = [{} for _ in rounds]
    for record in run_grading_notebook(notebook, limits):
        if "@" not in record.get("exercise", ""):
            continue
        exercise_id, index = record["exercise"].rsplit("@", 1)
        key = f"{exercise_id} | {record['label']}" if record["role"] == "check" else exercise_id
        if record["role"] in ("check", "exercise"):
            by_round[int(index)][key] = record
    return by_round


def misconception_payloads(chapter: Chapter, rounds: list[dict[str, Misconception]],
                           records: list[dict[str, dict]], golden: dict[str, list[dict]],
                           strict: bool = True) -> dict[str, list[dict]]:
    """Exercise id -> catalogue entries with their payloads on the checks they fail.

    ``strict`` (at release): raise ContractError for a misconception that passes every hidden
    check (the checks are too weak) or did not run; otherwise (one student's inputs) leave it out."""
    stored: dict[str, list[dict]] = {}
    for round_entries, round_records in zip(rounds, records):
        for exercise_id, entry in round_entries.items():
            checks = chapter.checks_for(exercise_id)
            cell, runs = round_records.get(exercise_id), [round_records.get(check.key) for check in checks]
            fails, problem = {}, None
            if cell is not None and cell["outcome"] == "failed":
                problem = f"the cell of misconception '{entry.name}' fails: {cell['reason']}"
            elif any(run is None or run["outcome"] == "not-run" for run in runs):
                problem = f"misconception '{entry.name}' of {exercise_id} did not run every check"
            else:
                fails = {check.label: run["payloads"] for check, run in zip(checks, runs)
                         if not same_results(golden[check.key], run["payloads"])}
                if not fails:
                    problem = f"misconception '{entry.name}' of {exercise_id} passes every hidden check: add one it fails"
            if problem and strict:
                raise ContractError(f"{chapter.name}: {problem}")
            if not problem:
                stored.setdefault(exercise_id, []).append(
                    {"name": entry.name, "explanation": entry.explanation, "section": entry.section, "fails": fails})
    return stored


def save_misconceptions(name: str, stored: dict[str, list[dict]]) -> None:
    lines = [f" {json.dumps(exercise)}: {json.dumps(stored[exercise])}" for exercise in sorted(stored)]
    write_atomically(GOLDEN / f"{name}.misconceptions.json", "{\n" + ",\n".join(lines) + "\n}\n")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees half a file (a grading may be reading it)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def load_misconceptions(name: str) -> dict[str, list[dict]]:
    """The stored catalogue payloads of a chapter (empty when it has none)."""
    path = GOLDEN / f"{name}.misconceptions.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def diagnose(exercise_id: str, checks: list[dict], stored: dict[str, list[dict]]) -> dict | None:
    """The diagnosis of one exercise from its check records, or None (passing, or no match).

    Returns ``{"name", "explanation", "section", "checks"}``: the mistake and the labels of the
    failing checks it explains; never expected values or inputs."""
    failed = [record["label"] for record in checks if record["outcome"] == "failed"]
    passed = [record["label"] for record in checks if record["outcome"] == "passed"]
    if not failed:
        return None
    results = {record["label"]: record["payloads"] for record in checks}
    match = best_match(results, failed, passed, stored.get(exercise_id, []))
    if match is None:
        return None
    entry, explained = match
    return {"name": entry["name"], "explanation": entry["explanation"], "section": entry["section"],
            "checks": explained}


def remake(chapter: Chapter, golden: dict[str, list[dict]], limits: Limits, strict: bool = True) -> dict[str, list[dict]]:
    """The catalogue's payloads against golden outputs already made (without rerunning the reference)."""
    rounds = rounds_of(load_catalogue(chapter.name))
    records = run_rounds(chapter, [{e: m.source for e, m in entries.items()} for entries in rounds], limits)
    return misconception_payloads(chapter, rounds, records, golden, strict)


class MadeOnTheSpot:
    """The catalogue's payloads on one student's inputs (``--student``), made in a kernel of their
    own while the submission is graded, so that they add little to the grading's time; read like
    the stored ones (``.get(exercise_id, default)``), waiting for them only when asked."""

    def __init__(self, chapter: Chapter, golden: dict[str, list[dict]], limits: Limits) -> None:
        pool = ThreadPoolExecutor(max_workers=1)
        self._future = pool.submit(remake, chapter, golden, limits, False)
        pool.shutdown(wait=False)

    def get(self, exercise_id: str, default: list[dict] | None = None) -> list[dict] | None:
        try:
            return self._future.result().get(exercise_id, default)
        except Exception:  # a diagnosis is extra: a failure to make one never stops a grading
            return default


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.diagnose CHAPTER...``: remake the misconception payloads of chapters
    (hidden and public inputs) from their stored golden outputs, without releasing them again."""
    import argparse

    from autograder.assemble import load_chapter, load_golden, resolve_chapter
    from autograder.release import GOLDEN_LIMITS
    from autograder.selfcheck_data import save_public_payloads

    parser = argparse.ArgumentParser(prog="python -m autograder.diagnose", description=main.__doc__)
    parser.add_argument("chapters", nargs="+", help="chapter names or numbers")
    for name in parser.parse_args(argv).chapters:
        chapter = load_chapter(resolve_chapter(name))
        save_misconceptions(chapter.name, remake(chapter, load_golden(chapter.name), GOLDEN_LIMITS))
        save_public_payloads(chapter.name)
        print(f"wrote the misconception payloads of {chapter.name} (hidden and public inputs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
