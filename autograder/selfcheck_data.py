"""What the public self-checks need to know, made at release time: ``attn/selfcheck_data.json``.

The self-checks ship to learners, so they cannot hold the wrong implementations' code. Release
stores instead, per exercise, each misconception's payloads on the public self-check inputs
(the cases it fails, keyed by case name), and per chapter the names its ``setup`` cells define
(what an exercise cell may use besides its own definitions and the builtins)::

    {"setup_names": {"01": ["np"]},
     "misconceptions": {"01.softmax": [{"name", "explanation", "section", "fails": {case: [payload]}}]}}

The payloads come from running the instructor notebook up to its last self-check, with
``check_exercise`` wrapped so that it also calls every misconception of the exercise on the
same (copied) cases. The payloads show only wrong results on inputs the notebook already shows.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

from attn.selfcheck import defined_names
from autograder.diagnose import load_catalogue, write_atomically
from autograder.notebooks import BOOK, ROOT, SELF_CHECK_TAG, SOLUTIONS, read_notebook, setup_sources, source_of, tags_of

SELFCHECK_DATA = ROOT / "attn" / "selfcheck_data.json"
LOCK = Path(tempfile.gettempdir()) / "attn-selfcheck-data.lock"  # releases of several chapters may run at once
MARKER = "selfcheck-payloads:"
MOST_BYTES = 20_000  # a larger wrong result is stored as a marker that matches nothing
RECORDER = '''
import copy as _copy, json as _json
import attn.selfcheck as _selfcheck
from attn.diagnosis import same_results as _same
from attn.payload import call_quietly as _call, to_payload as _to_payload

_catalogue = _json.loads({catalogue!r})
_recorded = {{}}
_TOO_LARGE = {{"type": "other", "name": "result too large to store"}}  # counts as failing, never matches
_check_exercise = _selfcheck.check_exercise


def _recording_check(exercise_id, function, cases):
    for entry in _catalogue.get(exercise_id, []):
        namespace = dict(get_ipython().user_ns)
        exec(entry["source"], namespace)
        wrong = namespace[function.__name__]
        fails = {{}}
        for case in cases:
            got = _call(wrong, *_copy.deepcopy(case.args), **_copy.deepcopy(case.kwargs))
            if not _same([_to_payload(case.expected)], [got]):
                fails[case.name] = [got if len(_json.dumps(got)) < {most_bytes} else _TOO_LARGE]
        kept = {{key: value for key, value in entry.items() if key != "source"}}
        _recorded.setdefault(exercise_id, []).append({{**kept, "fails": fails}})
    _check_exercise(exercise_id, function, cases)


_selfcheck.check_exercise = _recording_check
'''


def public_payloads(chapter: str) -> dict[str, list[dict]]:
    """Run the instructor notebook up to its last self-check with the recorder; return what it recorded."""
    catalogue: dict[str, list[dict]] = {}
    for entry in load_catalogue(chapter):
        catalogue.setdefault(entry.exercise, []).append(
            {"name": entry.name, "explanation": entry.explanation, "section": entry.section, "source": entry.source})
    code = [cell for cell in read_notebook(SOLUTIONS / f"{chapter}.ipynb").cells if cell.cell_type == "code"]
    last = max(index for index, cell in enumerate(code) if SELF_CHECK_TAG in tags_of(cell))
    cells = [new_code_cell(RECORDER.format(catalogue=json.dumps(catalogue), most_bytes=MOST_BYTES))]
    cells += [new_code_cell(source_of(cell)) for cell in code[: last + 1]]
    cells.append(new_code_cell(f"print({MARKER!r} + _json.dumps(_recorded))"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    saved = os.environ.pop("CONLL2003_DIR", None)  # no fine-tuning: the self-checks do not need it
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(BOOK)}}).execute(stderr=subprocess.DEVNULL)
    finally:
        if saved is not None:
            os.environ["CONLL2003_DIR"] = saved
    text = "".join(out.get("text", "") for out in notebook.cells[-1].outputs if out.get("name") == "stdout")
    if MARKER not in text:
        raise RuntimeError(f"{chapter}: the self-check recorder printed nothing: {notebook.cells[-1].outputs}")
    return json.loads(text.split(MARKER, 1)[1])


def save_public_payloads(chapter: str) -> None:
    """Update ``attn/selfcheck_data.json`` for one chapter (its setup names and misconceptions),
    under a file lock, since releases of other chapters may update it at the same time."""
    number = chapter.split("_")[0]
    setup = set().union(*(defined_names(s) for s in setup_sources(read_notebook(SOLUTIONS / f"{chapter}.ipynb"))))
    recorded = public_payloads(chapter)
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(SELFCHECK_DATA.read_text(encoding="utf-8")) if SELFCHECK_DATA.exists() else {}
        names = {**data.get("setup_names", {}), number: sorted(setup)}
        kept = {e: entries for e, entries in data.get("misconceptions", {}).items() if not e.startswith(number + ".")}
        data = {"setup_names": dict(sorted(names.items())), "misconceptions": dict(sorted({**kept, **recorded}.items()))}
        write_atomically(SELFCHECK_DATA, json.dumps(data, separators=(",", ":")) + "\n")
