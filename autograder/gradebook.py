"""Grade a whole class: batches of submissions in parallel, into a gradebook CSV and one results file each.

A submission whose content, and everything that decides its grade, is unchanged since the last
run is not graded again (its row comes from ``cache.json``), unless ``--force``. One submission
that cannot be graded gets a row with score 0 and the reason; it never stops the batch.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from autograder.grade import grade_submissions
from autograder.notebooks import BOOK, CHECKS, GOLDEN, ROOT, SOLUTIONS, Ungradable, shown
from autograder.results import gradescope_results, ungradable_results
from autograder.run import Limits
from autograder.sandbox import sandbox_problem


def submissions_in(paths: list[Path]) -> dict[str, Path]:
    """Submission name -> file, for files given directly and every .ipynb inside given folders."""
    found: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            for notebook in sorted(path.rglob("*.ipynb")):
                if ".ipynb_checkpoints" not in notebook.parts:
                    found[_name(notebook.relative_to(path).with_suffix("").as_posix())] = notebook
        else:
            found[_name(path.with_suffix("").name)] = path
    return found


def _name(path: str) -> str:
    """A submission's name from its file name, printable and encodable whatever bytes the name held."""
    return shown(path, limit=10_000)


def grader_fingerprint(limits: Limits, chapter: str | None, per_student_inputs: bool) -> str:
    """Changes whenever anything that decides a grade changes: the options, the grader's code and
    the course package (which compares results), the checks, golden outputs and chapters, and,
    with per-student inputs, the reference solutions that the expected outputs are made from."""
    options = {"limits": asdict(limits), "chapter": chapter, "per_student_inputs": per_student_inputs}
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    sources = [(ROOT / "autograder", "*.py"), (ROOT / "attn", "*.py"), (CHECKS, "*.py"), (GOLDEN, "*.json"),
               (BOOK, "*.ipynb")]
    if per_student_inputs:
        sources.append((SOLUTIONS, "*.ipynb"))
    for folder, pattern in sources:
        for path in sorted(folder.glob(pattern)):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


BATCH = 5  # submissions graded in one grading run (one pytest start), each still in kernels of its own


def grade_batch(paths: list[Path], limits: Limits, chapter: str | None, students: list[str | None]) -> list[dict]:
    """Gradescope-format results for each of ``paths``, graded in one run; never raises. When the
    run itself fails, each submission is graded alone, so one cannot cost the others."""
    try:
        outcomes = grade_submissions(paths, limits, chapter, students)
    except Exception as problem:  # a grader failure must not stop the class
        if len(paths) > 1:
            return [result for path, student in zip(paths, students)
                    for result in grade_batch([path], limits, chapter, [student])]
        return [ungradable_results(f"the grader failed on this submission ({type(problem).__name__})")]
    results = []
    for outcome in outcomes:
        if isinstance(outcome, Ungradable):
            results.append(ungradable_results(str(outcome)))
        else:
            results.append({**gradescope_results(outcome), "chapter": outcome.chapter})
    return results


def grade_class(paths: list[Path], out: Path, limits: Limits, jobs: int, force: bool, chapter: str | None,
                per_student_inputs: bool = False) -> int:
    """Grade every submission under ``paths`` into ``out``; print where the gradebook is.

    With ``per_student_inputs``, each submission's name draws its own random hidden inputs."""
    problem = sandbox_problem() if limits.sandbox else None
    if problem:
        print(f"Refusing to grade a class without the sandbox: {problem}. "
              "Install bubblewrap, or pass --no-sandbox to run the learners' code with your rights.")
        return 2
    submissions = submissions_in(paths)
    if not submissions:
        print("No .ipynb submissions found in " + ", ".join(str(p) for p in paths))
        return 2
    (out / "results").mkdir(parents=True, exist_ok=True)
    cache_path = out / "cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() and not force else {}
    fingerprint = grader_fingerprint(limits, chapter, per_student_inputs)
    keys = {name: hashlib.sha256(path.read_bytes() + fingerprint.encode()).hexdigest()
            for name, path in submissions.items()}
    todo = [name for name in submissions if force or cache.get(name, {}).get("key") != keys[name]]
    batches = [todo[start:start + BATCH] for start in range(0, len(todo), BATCH)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool, \
            tqdm(total=len(todo), desc="grading", unit="submission") as progress:
        futures = {pool.submit(grade_batch, [submissions[name] for name in batch], limits, chapter,
                               [name if per_student_inputs else None for name in batch]): batch
                   for batch in batches}
        for future in as_completed(futures):
            batch = futures[future]
            for name, results in zip(batch, future.result()):
                cache[name] = {"key": keys[name], "results": results}
            progress.update(len(batch))
    rows = {name: cache[name]["results"] for name in submissions}
    for name, results in rows.items():
        write_atomically(out / "results" / f"{name.replace('/', '__')}.json", json.dumps(results, indent=1))
    write_gradebook(rows, out / "gradebook.csv")
    write_atomically(cache_path, json.dumps({name: cache[name] for name in submissions}, indent=1))
    skipped = len(submissions) - len(todo)
    print(f"Graded {len(todo)} submission(s), {skipped} unchanged and skipped; gradebook: {out / 'gradebook.csv'}")
    return 0


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_gradebook(rows: dict[str, dict], path: Path) -> None:
    """One row per submission, one column per exercise, then the total and any note."""
    in_order = dict.fromkeys(test["name"] for _, results in sorted(rows.items()) for test in results["tests"])
    exercise_ids = sorted(in_order, key=lambda exercise_id: exercise_id.split(".")[0])  # chapter, then notebook order
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["submission", "chapter", *exercise_ids, "total", "max", "note"])
    for name, results in sorted(rows.items()):
        scores = {test["name"]: test["score"] for test in results["tests"]}
        note = "" if results["tests"] else results["output"]
        writer.writerow([_inert(name), results.get("chapter", ""), *(scores.get(i, "") for i in exercise_ids),
                         results["score"], results["max_score"], _inert(note)])
    write_atomically(path, table.getvalue())


def _inert(text: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (a file may be named "=cmd|...")."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
