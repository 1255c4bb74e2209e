"""Measure the misconception diagnosis on the corpus: ``python tests/corpus/measure.py [CHAPTER...]``.

The corpus (this folder, plus the EQUIVALENT and WRONG answers of tests/variants/, written by
another author) holds correct implementations and wrong ones labelled with the misconceptions a
right diagnosis may name. Each chapter's corpus runs in one kernel (several rounds of exercise
cells, as at release), and every answer is judged and diagnosed in-process exactly as
``grade`` does, against the stored golden outputs and misconception payloads. It prints the
share of wrong answers diagnosed, the share of diagnoses that are right, the correct answers
given any diagnosis, and what the diagnosis adds to a grading's time.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from attn.diagnosis import same_results  # noqa: E402
from autograder import grade as grading  # noqa: E402
from autograder.assemble import chapter_names, load_chapter, load_golden  # noqa: E402
from autograder.diagnose import diagnose, load_misconceptions, run_rounds  # noqa: E402
from autograder.notebooks import write_submission  # noqa: E402
from autograder.release import GOLDEN_LIMITS  # noqa: E402


@dataclass(frozen=True)
class Entry:
    exercise: str
    source: str
    correct: bool
    expected: frozenset[str]  # misconceptions a right diagnosis may name (wrong answers)
    origin: str


@dataclass(frozen=True)
class Outcome:
    entry: Entry
    failed: int  # hidden checks failed
    diagnosis: str | None

    @property
    def right(self) -> bool:
        return self.diagnosis is not None and self.diagnosis in self.entry.expected


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def corpus(chapter: str) -> list[Entry]:
    """The corpus answers of one chapter (none when it has no corpus file)."""
    path = HERE / f"{chapter}.py"
    if not path.exists():
        return []
    own = _module(path)
    entries = [Entry(e, source, True, frozenset(), "corpus") for e, sources in own.CORRECT.items() for source in sources]
    entries += [Entry(e, source, False, frozenset(names), "corpus") for e, names, source in own.WRONG]
    variants = ROOT / "tests" / "variants" / f"{chapter}.py"
    if variants.exists():
        theirs = _module(variants)
        entries += [Entry(e, source, True, frozenset(), "variants") for e, source in theirs.EQUIVALENT.items()]
        entries += [Entry(e, source, False, frozenset(own.VARIANTS[e]), "variants") for e, source in theirs.WRONG.items()]
    return entries


def measure_chapter(chapter: str) -> list[Outcome]:
    """Run one chapter's corpus in one kernel; judge and diagnose every answer."""
    loaded = load_chapter(chapter)
    golden, stored = load_golden(chapter), load_misconceptions(chapter)
    rounds: list[dict[str, Entry]] = []
    for entry in corpus(chapter):
        slot = next((r for r in rounds if entry.exercise not in r), None)
        if slot is None:
            rounds.append(slot := {})
        slot[entry.exercise] = entry
    records = run_rounds(loaded, [{e: entry.source for e, entry in r.items()} for r in rounds], GOLDEN_LIMITS)
    outcomes = []
    for round_entries, round_records in zip(rounds, records):
        for exercise_id, entry in round_entries.items():
            checks = []
            for check in loaded.checks_for(exercise_id):
                record = round_records.get(check.key, {"payloads": []})
                passed = same_results(golden[check.key], record["payloads"])
                checks.append({"label": check.label, "outcome": "passed" if passed else "failed",
                               "payloads": record["payloads"]})
            diagnosis = diagnose(exercise_id, checks, stored)
            failed = sum(check["outcome"] == "failed" for check in checks)
            outcomes.append(Outcome(entry, failed, diagnosis and diagnosis["name"]))
    return outcomes


def summary(outcomes: list[Outcome]) -> dict[str, float]:
    """The corpus's counts and shares (see the module docstring)."""
    wrong = [o for o in outcomes if not o.entry.correct]
    caught = [o for o in wrong if o.failed]
    diagnosed = [o for o in caught if o.diagnosis]
    correct = [o for o in outcomes if o.entry.correct]
    return {
        "wrong": len(wrong), "wrong_failing_a_check": len(caught), "diagnosed": len(diagnosed),
        "right": sum(o.right for o in diagnosed),
        "known_bugs": sum(bool(o.entry.expected) for o in caught),
        "known_bugs_diagnosed_right": sum(o.right for o in caught if o.entry.expected),
        "unknown_bugs_diagnosed": sum(bool(o.diagnosis) for o in caught if not o.entry.expected),
        "share_diagnosed": len(diagnosed) / len(caught) if caught else 0.0,
        "share_right": sum(o.right for o in diagnosed) / len(diagnosed) if diagnosed else 0.0,
        "correct": len(correct), "correct_failing_a_check": sum(bool(o.failed) for o in correct),
        "correct_diagnosed": sum(bool(o.diagnosis) for o in correct),
    }


def diagnosis_time(chapter: str, folder: Path) -> tuple[float, float]:
    """Seconds of one grading of a wrong submission, and the seconds of it spent on diagnosis
    (loading the stored payloads and comparing)."""
    sources = {}
    for entry in corpus(chapter):
        if not entry.correct and entry.exercise not in sources:
            sources[entry.exercise] = entry.source
    spent = [0.0]

    def timed(function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started
        return wrapper

    originals = grading.diagnose, grading.load_misconceptions
    grading.diagnose, grading.load_misconceptions = timed(originals[0]), timed(originals[1])
    try:
        grade = grading.grade_submission(write_submission(chapter, sources, folder / f"{chapter}.ipynb"))
    finally:
        grading.diagnose, grading.load_misconceptions = originals
    return grade.seconds, spent[0]


def expected_outputs_time(chapter: str) -> tuple[float, float]:
    """Seconds to make a student's expected outputs (``--student``) without and with the catalogue."""
    from autograder.assemble import vary_inputs
    from autograder.release import make_expected

    varied = vary_inputs(load_chapter(chapter), "timing")
    seconds = []
    for with_misconceptions in (False, True):
        started = time.perf_counter()
        make_expected(varied, with_misconceptions)
        seconds.append(time.perf_counter() - started)
    return seconds[0], seconds[1]


def main(chapters: list[str]) -> None:
    import tempfile

    chapters = chapters or [name for name in chapter_names() if (HERE / f"{name}.py").exists()]
    everything = []
    for chapter in chapters:
        started = time.perf_counter()
        outcomes = measure_chapter(chapter)
        everything += outcomes
        counts = summary(outcomes)
        print(f"{chapter}: {counts['diagnosed']}/{counts['wrong_failing_a_check']} wrong answers diagnosed, "
              f"{counts['right']} right; {counts['correct_diagnosed']}/{counts['correct']} correct answers "
              f"diagnosed ({time.perf_counter() - started:.0f} s)")
        for o in outcomes:
            wrongly_named = not o.entry.correct and o.diagnosis and not o.right
            if wrongly_named or (o.entry.correct and (o.diagnosis or o.failed)) or (not o.entry.correct and not o.failed):
                print(f"    {o.entry.exercise} ({o.entry.origin}) expected {sorted(o.entry.expected)}, "
                      f"got {o.diagnosis}, {o.failed} checks failed")
    counts = summary(everything)
    print(f"all: {counts}")
    with tempfile.TemporaryDirectory() as scratch:
        for chapter in chapters:
            seconds, spent = diagnosis_time(chapter, Path(scratch))
            print(f"{chapter}: grading {seconds:.2f} s, of which diagnosis {spent * 1000:.1f} ms "
                  f"({100 * spent / seconds:.1f}%)")
    for chapter in chapters[:1]:
        without, with_catalogue = expected_outputs_time(chapter)
        print(f"{chapter}, per-student inputs: expected outputs made in {without:.2f} s, "
              f"{with_catalogue:.2f} s with the catalogue's results")


if __name__ == "__main__":
    main(sys.argv[1:])
