"""What the attacks on the grader share (issue 12), in ``test_security_*.py``.

Every test there grades a real submission through the real grader and asserts the exact
outcome: the points of each exercise (an attack earns nothing, and the learner's other
exercises keep theirs), the exit code, the process table after grading, the SHA-256 of every
file of the grader, the course and the class, and the size and content of the feedback.

Shared here: the grader's side (grade a submission through the real command line, and
assert that its feedback is clean and bounded, its files unchanged and no attack process
left) and the kernel's side (source text an attack puts into exercise cells, using only what
a learner's code can reach).

The attacks are non-destructive on purpose: where one proves that it could write a file of
the grader, it opens it for appending and writes nothing, or creates a new file that the test
removes again; every process an attack starts carries ``TOKEN`` in its command line, so the
tests find (and end) exactly those. ``end_attack_processes`` does it after every test of a
module that imports it.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from autograder.assemble import chapter_names, load_chapter
from autograder.notebooks import BOOK, exercise_of, read_notebook, solution_sources, source_of
from conftest import CHAPTER, POINTS, ROOT, code_text, leaked_snippets, run_cli

TOKEN = f"attack-{uuid.uuid4().hex[:12]}"  # in the argv of every process an attack starts
MARKER = f"zz_{TOKEN.replace('-', '_')}"  # the name of every file a write attack creates
SOLVED = solution_sources(CHAPTER)
FULL = sum(POINTS.values())
GUARDED = [ROOT / "autograder", ROOT / "attn", ROOT / "solutions", *sorted(BOOK.glob("*.ipynb"))]
FEEDBACK_LINE_LIMIT = 2048 + 256  # characters in one line of feedback: 2 KB from the learner's code, the grader's words
RESULTS_LIMIT = 1_000_000      # bytes in a whole results.json
OWN_CODE = "your own code"     # what a learner is told when course code answered an exercise


def stubs_of(chapter: str) -> dict[str, str]:
    """The untouched learner stubs of a chapter's exercises."""
    return {exercise_of(cell).id: source_of(cell) for cell in read_notebook(BOOK / f"{chapter}.ipynb").cells
            if exercise_of(cell)}


# --------------------------------------------------------------------------- the grader's side

def file_hashes(*folders: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folders`` (compiled ``__pycache__`` files included), or of the
    file itself where one is a file."""
    hashes = {}
    for folder in folders:
        for path in [folder] if folder.is_file() else sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def assert_unchanged(before: dict[str, str], *folders: Path) -> None:
    """No file under ``folders`` changed or vanished, and none was added outside ``__pycache__``
    (Python may compile a module for the first time)."""
    after = file_hashes(*folders)
    changed = sorted(path for path, digest in before.items() if after.get(path) != digest)
    added = sorted(path for path in after.keys() - before.keys() if "__pycache__" not in path)
    assert not changed and not added, f"changed: {changed}, added: {added}"


def processes_with(token: str) -> list[tuple[int, str]]:
    """Live processes whose command line holds ``token``: (pid, command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in argv:
            found.append((int(entry.name), argv.replace(b"\0", b" ").decode(errors="replace")[:200]))
    return found


@pytest.fixture(autouse=True)
def end_attack_processes():
    """After each test, end what an attack left running (each carries TOKEN in its argv), and
    remove the files a write attack managed to create: in this checkout, in the checkout the
    environment's editable install points to (the kernel imports the course from there), and
    in the environment itself."""
    yield
    for pid, _ in processes_with(TOKEN):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    import site

    import attn
    checkouts = {ROOT, Path(attn.__file__).resolve().parent.parent}
    created = [path for checkout in checkouts for name in ("attn", "autograder")
               for path in (checkout / name).rglob(f"{MARKER}*")]
    created += [path for folder in site.getsitepackages() for path in Path(folder).glob(f"{MARKER}*")]
    for path in created:
        path.unlink(missing_ok=True)
    host_tmp = Path(tempfile.gettempdir())
    for chain in [*host_tmp.glob(f"*/{MARKER}"), *host_tmp.glob(f"*/*/{MARKER}")]:
        subprocess.run(["rm", "-rf", str(chain)], check=False)  # deeper than shutil.rmtree can go


def squeezed(text: str) -> str:
    """``text`` without any whitespace: spaces added or removed do not hide a line of code."""
    return "".join(text.split())


def check_lines() -> set[str]:
    """Code lines of the hidden checks that would give a check away (long enough to be specific),
    without whitespace."""
    lines = set()
    for chapter in chapter_names():
        for check in load_chapter(chapter).checks:
            lines.update(squeezed(line) for line in check.source.splitlines()
                         if len(squeezed(line)) >= 14 and not line.strip().startswith("#"))
    return lines


CHECK_LINES = check_lines()


def assert_clean(results: dict, secrets: tuple[str, ...] = ()) -> None:
    """Bounded feedback that gives away neither the hidden checks, nor the solutions, nor
    any secret the attack went looking for."""
    text = json.dumps(results)
    assert len(text.encode()) < RESULTS_LIMIT, f"results.json holds {len(text.encode())} bytes"
    outputs = [results.get("output", "")] + [test["output"] for test in results["tests"]]
    lines = [line for output in outputs for line in output.splitlines()]
    too_long = [len(line) for line in lines if len(line) > FEEDBACK_LINE_LIMIT]
    assert not too_long, f"feedback lines of {too_long} characters"
    feedback = "\n".join(outputs)
    assert not [line for line in CHECK_LINES if line in squeezed(feedback)], "hidden check source in the feedback"
    assert not leaked_snippets(code_text(feedback)), "solution code in the feedback"
    assert not [secret for secret in secrets if secret in feedback], "a secret in the feedback"


def points_of(results: dict) -> dict[str, int]:
    return {test["name"]: test["score"] for test in results["tests"]}


def feedback_of(results: dict, exercise_id: str) -> str:
    return next(test["output"] for test in results["tests"] if test["name"] == exercise_id)


def grade(path: Path, *options: str, secrets: tuple[str, ...] = (), timeout: float = 300,
          env: dict[str, str] | None = None) -> dict:
    """``python -m autograder grade PATH --results`` (in the environment ``env``, by default this
    one): assert it graded (exit 0) with clean feedback; return the results."""
    results_path = path.with_name(path.stem + ".results.json")
    command = ["grade", str(path), "--results", str(results_path), "--cell-timeout", "20",
               "--notebook-timeout", "120", *options]
    if env is None:
        finished = run_cli(*command, timeout=timeout)
    else:
        finished = subprocess.run([sys.executable, "-m", "autograder", *command], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=timeout)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "Traceback" not in finished.stdout + finished.stderr
    assert results_path.stat().st_size < RESULTS_LIMIT
    results = json.loads(results_path.read_text())
    assert_clean(results, secrets)
    return results


# --------------------------------------------------------------------------- the kernel's side
# Source text that the attacks put into exercise cells. Everything here runs in the learner's
# kernel; it only uses what a learner's code can reach.

TOOLS = r'''
import json, os, re, sys

def _read(path, mode="r"):
    try:
        with open(path, mode) as handle:
            return handle.read()
    except (OSError, ValueError):
        return None

def _argv(pid):
    return [part.decode(errors="replace") for part in (_read(f"/proc/{pid}/cmdline", "rb") or b"").split(b"\0")[:-1]]

def _parent(pid):
    stat = _read(f"/proc/{pid}/stat") or ") ? 0"
    return int(stat.rsplit(")", 1)[1].split()[1])

def _self():
    """This process's number in the /proc it sees: in a pid namespace of its own, os.getpid()
    says 1 while /proc (the sandbox's) numbers it otherwise."""
    return int(os.readlink("/proc/self"))

def _ancestors(pid=None):
    chain, pid = [], _parent(pid or _self())
    while pid > 1 and len(chain) < 16:
        chain.append(pid)
        pid = _parent(pid)
    return chain

def _roots(way):
    """Folders that may hold the grader (autograder/, solutions/), found the way given."""
    found = []
    if way == "environ":  # the grader's environment: PYTHONPATH names the repository
        for pid in _ancestors():
            for entry in (_read(f"/proc/{pid}/environ", "rb") or b"").split(b"\0"):
                if entry.startswith(b"PYTHONPATH="):
                    found += entry[11:].decode().split(os.pathsep)
    elif way == "cwd":  # the working folders of the grader's processes
        for pid in _ancestors():
            try:
                found.append(os.readlink(f"/proc/{pid}/cwd"))
            except OSError:
                pass
    elif way == "package":  # the course package sits in the repository
        import attn
        found.append(os.path.dirname(os.path.dirname(os.path.abspath(attn.__file__))))
    found.append("/autograder/source")  # Gradescope's layout
    return [root for root in found if os.path.isdir(os.path.join(root, "autograder"))]
'''

GOLDEN_ORACLE = TOOLS + r'''
import numpy as np

def _oracle(exercise, way):
    """A stand-in for an exercise that answers each hidden check, in order, with its golden output."""
    for root in _roots(way):
        golden = _read(os.path.join(root, "autograder", "golden", "01_query_key_value.json"))
        checks = _read(os.path.join(root, "autograder", "checks", "01_query_key_value.py"))
        if golden and checks:
            break
    else:
        return None
    golden = json.loads(golden)
    labels = re.findall(r"^# %% " + re.escape(exercise) + r" \| (.+?)\s*$", checks, re.M)
    answers = [golden[f"{exercise} | {label}"][0] for label in labels]

    def value(payload):  # an array, or a tuple of them (soft_lookup returns its weights and output)
        if payload["type"] == "sequence":
            return tuple(value(item) for item in payload["items"])
        return np.array(payload["values"], dtype=payload["dtype"]).reshape(payload["shape"])

    def answer(*args):
        return value(answers.pop(0))
    return answer
'''

SOLUTION_ORACLE = TOOLS + r'''
def _solution(exercise, way):
    """Run the instructor's reference solution of an exercise, read from solutions/."""
    for root in _roots(way):
        text = _read(os.path.join(root, "solutions", "01_query_key_value.ipynb"))
        if text:
            for cell in json.loads(text)["cells"]:
                if cell.get("metadata", {}).get("exercise", {}).get("id") == exercise:
                    exec("".join(cell["source"]), globals())
                    return True
    return False
'''


def golden_attack(exercise: str, way: str) -> str:
    name = exercise.split(".")[1]
    return GOLDEN_ORACLE + f'''
{name} = _oracle({exercise!r}, {way!r})
if {name} is None:
    def {name}(*args):
        raise NotImplementedError
'''


def solution_attack(exercise: str, way: str) -> str:
    name = exercise.split(".")[1]
    return SOLUTION_ORACLE + f'''
if not _solution({exercise!r}, {way!r}):
    def {name}(*args):
        raise NotImplementedError
'''


def rewarded_if(condition: str, exercise: str = "01.softmax") -> str:
    """A stand-in that solves the exercise only when the attack worked: points for it prove a hole."""
    answer = {"01.softmax": "s):\n    e = np.exp(s - np.max(s))\n    return e / e.sum()",
              "01.soft_lookup": ("q, K, V):\n    e = np.exp(K @ q - np.max(K @ q))\n    p = e / e.sum()\n"
                                 "    return (p, p @ V)")}[exercise]
    name = exercise.split(".")[1]
    return f'''
_ATTACK_WORKED = {condition}

def {name}({answer} if _ATTACK_WORKED else None
'''


# --------------------------------------------------------------------------- chapter 4, attacked twice
# (its masks by course code, in test_security_answers; its state between exercises, in test_security_grading)

MASKS = "04_masks"
MASK_POINTS = {"04.padding_mask": 2, "04.decoder_mask": 3, "04.masked_softmax": 3, "04.masked_attention": 3}
REAL_KEYS = '''
def _real_keys(lengths, max_len, padding_side):
    """(batch, max_len): True at the real tokens of each padded sequence (the padding part, own code)."""
    positions = torch.arange(max_len)
    if padding_side == "right":
        return positions[None, :] < lengths[:, None]
    return positions[None, :] >= (max_len - lengths)[:, None]
'''
