"""Attacks on the grader, written as a hostile student would write them (issue 12).

Every test grades a real submission through the real grader and asserts the exact outcome:
the points of each exercise (an attack earns nothing, and the learner's other exercises keep
theirs), the exit code, the process table after grading, the SHA-256 of every file of the
grader, the course and the class, and the size and content of the feedback.

The attacks are non-destructive on purpose: where one proves that it could write a file of
the grader, it opens it for appending and writes nothing, or creates a new file that the test
removes again; every process an attack starts carries ``TOKEN`` in its command line, so the
test finds (and ends) exactly those.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from autograder.assemble import chapter_names, load_chapter
from autograder.credit import all_or_nothing, credit
from autograder.gradescope import build_zip
from autograder.notebooks import BOOK, exercise_of, read_notebook, solution_sources, source_of
from conftest import CHAPTER, POINTS, ROOT, code_text, leaked_snippets, run_cli
from conftest import points_of as points_of_chapter

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

def _ancestors(pid=None):
    chain, pid = [], _parent(pid or os.getpid())
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


# --------------------------------------------------------------------------- forged verdicts

FORGER = r'''
import json, os, signal, sys, time
pytest_pid, report = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 60
while time.time() < deadline:
    if os.path.exists(report) and os.path.getsize(report) > 0:
        os.kill(pytest_pid, signal.SIGSTOP)  # hold the grading run while the report is rewritten
        try:
            records = json.load(open(report))
        except ValueError:  # caught half-written
            os.kill(pytest_pid, signal.SIGCONT)
            continue
        for record in records:
            record["outcome"], record["reason"] = "passed", None
        json.dump(records, open(report, "w"))
        os.kill(pytest_pid, signal.SIGCONT)
        break
    time.sleep(0.001)
'''

FORGE_REPORT = TOOLS + f'''
import subprocess
_FORGER = {FORGER!r}
for _pid in _ancestors():
    for _arg in _argv(_pid):
        if _arg.startswith("--grader-report="):
            subprocess.Popen([sys.executable, "-c", _FORGER, str(_pid), _arg.split("=", 1)[1], {TOKEN!r}],
                             start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
''' + stubs_of(CHAPTER)["01.softmax"]


def test_a_process_that_rewrites_the_report_found_in_the_parents_cmdline_earns_nothing(make_submission):
    results = grade(make_submission({**stubs_of(CHAPTER), "01.softmax": FORGE_REPORT}))
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert results["score"] == 0 and results["max_score"] == FULL
    assert processes_with(TOKEN) == []


# --------------------------------------------------------------------------- answers on disk

@pytest.mark.parametrize("way, exercise, attack", [
    ("environ", "01.softmax", golden_attack),    # /proc/<parent>/environ: PYTHONPATH -> autograder/golden
    ("cwd", "01.soft_lookup", golden_attack),    # /proc/<ancestor>/cwd: the repository -> golden and checks
    ("package", "01.softmax", solution_attack),  # attn.__file__ -> the repository -> solutions/
])
def test_answers_read_from_the_graders_files_earn_nothing(make_submission, way, exercise, attack):
    results = grade(make_submission({**SOLVED, exercise: attack(exercise, way)}))
    assert points_of(results) == {**POINTS, exercise: 0}, feedback_of(results, exercise)


MEMORY_SCAN = TOOLS + r'''
def _find_in_memory(needle):
    """Search the writable memory of every process of the grader for ``needle``."""
    for pid in _ancestors():
        try:
            maps = open(f"/proc/{pid}/maps").read().splitlines()
            memory = open(f"/proc/{pid}/mem", "rb", buffering=0)
        except OSError:
            continue
        with memory:
            for line in maps:
                span, perms = line.split()[:2]
                start, stop = (int(part, 16) for part in span.split("-"))
                if not perms.startswith("rw") or stop - start > 512 * 2**20:
                    continue
                try:
                    memory.seek(start)
                    if needle in memory.read(stop - start):
                        return True
                except OSError:
                    continue
    return False
''' + rewarded_if('_find_in_memory(b"_check(soft_lookup, np.array([-1.5, 2.0, 0.5])")')  # the other exercise's check


def test_the_grading_notebook_cannot_be_read_from_the_graders_memory(make_submission):
    results = grade(make_submission({**SOLVED, "01.softmax": MEMORY_SCAN}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


def test_answers_from_the_unpacked_gradescope_zip_earn_nothing(make_submission, tmp_path):
    root = tmp_path / "autograder"
    source = root / "source"
    build_zip(tmp_path / "autograder.zip")
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        archive.extractall(source)
    (root / "submission").mkdir()
    sources = {**SOLVED, "01.softmax": golden_attack("01.softmax", "cwd"),
               "01.soft_lookup": golden_attack("01.soft_lookup", "environ")}
    make_submission(sources).rename(root / "submission" / "ch1.ipynb")
    before = file_hashes(source)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    finished = subprocess.run(["bash", str(source / "run_autograder")], env=env, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert_clean(results)
    assert points_of(results) == {**POINTS, "01.softmax": 0, "01.soft_lookup": 0}
    assert_unchanged(before, source)


# --------------------------------------------------------------------------- a poisoned grader

def write_attack(marker_name: str) -> str:
    return TOOLS + f'''
import site
_opened = []
for _root in _roots("package") + _roots("environ") + _roots("cwd"):
    for _name in ("attn/payload.py", "attn/grading.py", "autograder/nbval_plugin.py", "autograder/grade.py",
                  "autograder/golden/01_query_key_value.json", "autograder/checks/01_query_key_value.py",
                  "solutions/01_query_key_value.ipynb"):
        try:
            open(os.path.join(_root, _name), "ab").close()  # opened for writing; nothing written
            _opened.append(_name)
        except OSError:
            pass
    for _name in ("attn/{marker_name}.py", "autograder/golden/{marker_name}.json"):
        try:
            with open(os.path.join(_root, _name), "w") as _handle:
                _handle.write("POISONED = True\\n")
            _opened.append(_name)
        except OSError:
            pass
for _folder in site.getsitepackages():
    try:  # a .pth file runs at every start of this Python, the grader's too (this one is a comment)
        with open(os.path.join(_folder, "{marker_name}.pth"), "w") as _handle:
            _handle.write("# a .pth line starting with 'import' would run in every grading\\n")
        _opened.append(_folder)
    except OSError:
        pass
''' + rewarded_if("bool(_opened)")


def test_the_kernel_cannot_write_the_grader_the_course_or_the_environment(make_submission):
    before = file_hashes(*GUARDED)
    results = grade(make_submission({**SOLVED, "01.softmax": write_attack(MARKER)}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")
    assert_unchanged(before, *GUARDED)
    import site
    assert not [path for folder in site.getsitepackages() for path in Path(folder).glob(f"{MARKER}*")]


SYMLINKS = TOOLS + '''
_target = "__TARGET__"
_connection = next((arg for arg in _argv(os.getpid()) if arg.endswith(".json")), None)
_folders = {os.getcwd()} | ({os.path.dirname(_connection)} if _connection else set())
_own = [_connection] if _connection else []
try:  # with IPC transport, the kernel's sockets are files named after the connection's "ip"
    _info = json.loads(_read(_connection))
    if _info.get("transport") == "ipc":
        _own += [f"{_info['ip']}-{_info[key]}" for key in _info if key.endswith("_port")]
except (TypeError, ValueError, KeyError):
    pass
for _folder in _folders:  # names the grader might write next
    for _name in ("kernel.json", "connection.json", "report.json", "grading.ipynb", "results.json", "k", "k-1"):
        try:
            os.symlink(_target, os.path.join(_folder, _name))
        except OSError:
            pass
for _path in _own:  # the files the grader gave this kernel, replaced by links to the target
    try:
        os.remove(_path)
        os.symlink(_target, _path)
    except OSError:
        pass
os._exit(1)  # the grader starts a fresh kernel for the next exercise, and writes its files again
'''


def test_symlinks_planted_by_a_kernel_do_not_redirect_the_graders_writes(make_submission, tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("the instructor's file\n")
    before = file_hashes(*GUARDED)
    try:
        results = grade(make_submission({**SOLVED, "01.softmax": SYMLINKS.replace("__TARGET__", str(target))}))
    finally:  # links the attack left in the shared Jupyter runtime folder
        from jupyter_core.paths import jupyter_runtime_dir
        for link in Path(jupyter_runtime_dir()).glob("*"):
            if link.is_symlink() and os.readlink(link) == str(target):
                link.unlink()
    assert points_of(results) == {**POINTS, "01.softmax": 0}
    assert target.read_text() == "the instructor's file\n" and not target.is_symlink()
    assert_unchanged(before, *GUARDED)


WRITABLE_FOLDERS = TOOLS + r'''
def _writable_folders():
    """Every folder this kernel can write: its home, /tmp, and the one it shares with the grader."""
    folders = {os.getcwd(), "/tmp", os.path.expanduser("~")}
    connection = next((arg for arg in _argv(os.getpid()) if arg.endswith(".json")), None)
    if connection:
        folders.add(os.path.dirname(connection))
    return [folder for folder in folders if os.access(folder, os.W_OK)]
'''

DEEP_TREE = WRITABLE_FOLDERS + r'''
def _deep_tree(folder, depth=3000):
    """A chain of ``depth`` nested folders (made relative to each other: no path gets long)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("__MARKER__", dir_fd=fd)
            inner = os.open("__MARKER__", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
    except OSError:
        pass
    finally:
        os.close(fd)

for _folder in _writable_folders():
    _deep_tree(_folder)

def softmax(s):
    e = np.exp(s - np.max(s))
    return e / e.sum()
'''


def test_what_a_kernel_leaves_in_its_folders_cannot_crash_the_grader(make_submission):
    """The grader removes the folders it shares with the kernel, whatever the kernel left there:
    here a chain of 3000 nested folders (deeper than Python's recursion limit)."""
    results = grade(make_submission({**SOLVED, "01.softmax": DEEP_TREE.replace("__MARKER__", MARKER)}))
    assert points_of(results) == POINTS
    left = [str(path) for path in Path(tempfile.gettempdir()).glob(f"*/{MARKER}")]
    left += [str(path) for path in Path(tempfile.gettempdir()).glob(f"*/*/{MARKER}")]
    assert not left, f"left on the host: {left}"


DISK_FILL = WRITABLE_FOLDERS + r'''
def _largest_write(megabytes=1024):
    """The most megabytes one file could take: a new one in a writable folder, or an open file the
    kernel inherited (each is removed or cut back again)."""
    largest, block = 0, b"\x00" * 2**20
    for folder in _writable_folders():
        path, written = os.path.join(folder, "__MARKER__.fill"), 0
        try:
            with open(path, "wb") as handle:
                while written < megabytes:
                    handle.write(block)
                    written += 1
        except OSError:
            pass
        finally:
            try:
                os.remove(path)
            except OSError:
                pass
        largest = max(largest, written)
    import stat
    for fd in [int(fd) for fd in os.listdir("/proc/self/fd")]:  # files the kernel inherited, e.g. pytest's capture
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            start, written = os.lseek(fd, 0, os.SEEK_END), 0
            while written < megabytes:
                os.write(fd, block)
                written += 1
        except OSError:
            continue
        finally:
            try:
                os.ftruncate(fd, start)  # leave it as it was
            except (OSError, NameError, UnboundLocalError):
                pass
        largest = max(largest, written)
    return largest
''' + rewarded_if("_largest_write() >= 1024")


def test_the_kernel_cannot_fill_the_hosts_disk(make_submission):
    results = grade(make_submission({**SOLVED, "01.softmax": DISK_FILL.replace("__MARKER__", MARKER)}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


# --------------------------------------------------------------------------- nothing outlives a grading

DETACHED = TOOLS + r'''
import time

def _detach(path, argv):
    """Start ``argv`` as a double-forked daemon: a new session, no parent, no terminal."""
    try:
        child = os.fork()
    except OSError:  # a process limit: fine for the attacker, spawning just stops
        return
    if child == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                os.execv(path, argv)
        finally:
            os._exit(0)
    os.waitpid(child, 0)

for _number in range(50):
    _detach("/bin/sleep", ["{token}-sleeper-%d" % _number, "120"])
_detach(sys.executable, [sys.executable, "-c",
        "import sys, time; time.sleep(3); open(sys.argv[1], 'w').write('written after the grading')",
        {marker!r}, "{token}-late-writer"])

def softmax(s):
    e = np.exp(s - np.max(s))
    return e / e.sum()
'''


def test_no_process_of_a_submission_survives_its_grading(make_submission, tmp_path):
    marker = tmp_path / "written-after-grading.txt"
    source = DETACHED.replace("{token}", TOKEN).replace("{marker!r}", repr(str(marker)))
    results = grade(make_submission({**SOLVED, "01.softmax": source}))
    survivors = processes_with(TOKEN)
    assert survivors == [], f"{len(survivors)} processes survived, e.g. {survivors[:3]}"
    assert points_of(results) == POINTS
    time.sleep(3.5)  # the late writer would have written by now
    assert not marker.exists()


# --------------------------------------------------------------------------- limits per submission

MEMORY_TOGETHER = r'''
import os, select, time

def _held_together(children=3, megabytes=300):
    """How many children could each hold ``megabytes`` at the same time."""
    read, write = os.pipe()
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            try:
                block = b"\x01" * (megabytes * 2**20)  # every page touched
                os.write(write, b"+")
                time.sleep(4)
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(write)
    held, deadline = b"", time.time() + 8
    while len(held) < children and time.time() < deadline:
        if select.select([read], [], [], 0.5)[0]:
            chunk = os.read(read, 16)
            if not chunk:
                break
            held += chunk
    for pid in pids:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
    return len(held)
''' + rewarded_if("_held_together() == 3")


def test_memory_is_limited_for_the_whole_submission_not_per_process(make_submission):
    results = grade(make_submission({**SOLVED, "01.softmax": MEMORY_TOGETHER}), "--memory-mb", "600")
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")
    assert processes_with(TOKEN) == []


FORK_BOMB = r'''
import os, time

def _concurrent_children(most=1000):
    """Fork sleeping children until the system refuses one, or ``most`` run at once."""
    children = []
    try:
        while len(children) < most:
            pid = os.fork()
            if pid == 0:
                time.sleep(5)
                os._exit(0)
            children.append(pid)
    except OSError:  # EAGAIN: the process limit
        pass
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return len(children)
''' + rewarded_if("_concurrent_children() == 1000")


def test_a_fork_bomb_is_bounded_by_the_process_limit(make_submission):
    results = grade(make_submission({**SOLVED, "01.softmax": FORK_BOMB}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


def test_chained_kernel_deaths_stay_within_the_notebook_timeout(make_submission, tmp_path):
    dying = "import os, time\ntime.sleep(5)\nos._exit(1)\n"  # each kernel run fits the limit; the two do not
    path = make_submission({exercise: dying for exercise in POINTS})
    results_path = tmp_path / "results.json"
    started = time.monotonic()
    finished = run_cli("grade", str(path), "--results", str(results_path), "--cell-timeout", "10",
                       "--notebook-timeout", "8")
    elapsed = time.monotonic() - started
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert points_of(json.loads(results_path.read_text())) == {exercise: 0 for exercise in POINTS}
    assert elapsed < 8 + 3, f"grading took {elapsed:.1f} s with --notebook-timeout 8"


# --------------------------------------------------------------------------- no network

NETWORK = r'''
import socket

def _reached(addresses, port):
    """Whether any TCP connection or interface outside the loopback is there."""
    reached = [name for _, name in socket.if_nameindex() if name != "lo"]
    for address in addresses:
        try:
            with socket.create_connection((address, port), timeout=2) as connection:
                connection.sendall(b"{token}")
                reached.append(address)
        except OSError:
            pass
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
                datagram.sendto(b"{token}", (address, port))
        except OSError:
            pass
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
        reached.append("1.1.1.1")
    except OSError:
        pass
    return reached
'''


def host_address() -> str:
    """An address of this machine outside the loopback (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]


def test_the_kernel_has_no_network(make_submission):
    with socket.socket() as listener, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagrams:
        listener.bind(("0.0.0.0", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        datagrams.bind(("0.0.0.0", port))
        attack = NETWORK.replace("{token}", TOKEN) + rewarded_if(
            f"_reached(['127.0.0.1', {host_address()!r}], {port})")
        results = grade(make_submission({**SOLVED, "01.softmax": attack}))
        listener.setblocking(False)
        datagrams.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
        with pytest.raises(BlockingIOError):
            datagrams.recv(64)
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


# --------------------------------------------------------------------------- host /tmp

HOST_TMP = TOOLS + r'''
def _host_secrets(name):
    """Files called ``name`` anywhere under /tmp, and the host's folders of the grader and of pytest."""
    found = []
    for folder, subfolders, files in os.walk("/tmp"):
        if folder.count(os.sep) > 7:
            subfolders[:] = []
        found += [_read(os.path.join(folder, name)) for name_ in files if name_ == name]
        found += [entry for entry in subfolders if entry.startswith(("grader-", "pytest-of-"))]
    return [entry for entry in found if entry]
''' + rewarded_if('_host_secrets("host-secret.txt")')


def test_the_kernel_cannot_see_the_hosts_tmp(make_submission, tmp_path):
    secret = f"secret-{uuid.uuid4().hex}"
    (tmp_path / "host-secret.txt").write_text(secret)
    results = grade(make_submission({**SOLVED, "01.softmax": HOST_TMP}), secrets=(secret,))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


HOST_ENVIRONMENT = TOOLS + r'''
def _environment_secrets(name):
    """Values of the variable ``name`` in the environment of any process this kernel can see."""
    found = [os.environ.get(name, "")]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for variable in (_read(f"/proc/{entry}/environ", "rb") or b"").split(b"\0"):
                if variable.startswith(name.encode() + b"="):
                    found.append(variable.split(b"=", 1)[1].decode(errors="replace"))
    return [value for value in found if value]
''' + rewarded_if('_environment_secrets("ATTN_GRADER_SECRET")')


def test_the_graders_environment_is_not_visible_in_the_sandbox(make_submission):
    """A CI or Gradescope machine holds tokens in its environment; no process the kernel can
    see (the sandbox's own first process included) may show them."""
    secret = f"token-{uuid.uuid4().hex}"
    env = {**os.environ, "ATTN_GRADER_SECRET": secret}
    results = grade(make_submission({**SOLVED, "01.softmax": HOST_ENVIRONMENT}), env=env, secrets=(secret,))
    assert points_of(results) == {**POINTS, "01.softmax": 0}, feedback_of(results, "01.softmax")


# --------------------------------------------------------------------------- a sabotaged class

GRADEBOOK_FORGER = r'''
import csv, json, os, sys, time
grader, out = int(sys.argv[1]), sys.argv[2]
deadline = time.time() + 60
while os.path.exists(f"/proc/{grader}") and time.time() < deadline:
    time.sleep(0.02)
time.sleep(0.2)
cache_path, book_path = os.path.join(out, "cache.json"), os.path.join(out, "gradebook.csv")
cache = json.load(open(cache_path))
for name, entry in cache.items():
    if "mallory" in name:
        results = entry["results"]
        for test in results["tests"]:
            test["score"], test["status"] = test["max_score"], "passed"
        results["score"] = results["max_score"]
json.dump(cache, open(cache_path, "w"))
rows = list(csv.reader(open(book_path)))
for row in rows[1:]:
    if "mallory" in row[0]:
        tests = {t["name"]: t for t in cache[row[0]]["results"]["tests"]}
        for index, column in enumerate(rows[0]):
            if column in tests:
                row[index] = str(tests[column]["max_score"])
        row[rows[0].index("total")] = row[rows[0].index("max")]
csv.writer(open(book_path, "w", newline="")).writerows(rows)
'''

MALLORY = TOOLS + f'''
import glob, subprocess, time
_GRADEBOOK_FORGER = {GRADEBOOK_FORGER!r}
_FOUND = []
_grader = next((pid for pid in _ancestors() if _argv(pid)[1:4] == ["-m", "autograder", "grade"]), None)
if _grader:
    _args, _cwd = _argv(_grader), os.readlink(f"/proc/{{_grader}}/cwd")
    _out = os.path.join(_cwd, _args[_args.index("--out") + 1])
    _class = os.path.join(_cwd, _args[4])
    subprocess.Popen([sys.executable, "-c", _GRADEBOOK_FORGER, str(_grader), _out, {TOKEN!r}],
                     start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    _mine = open(glob.glob(os.path.join(_class, "*mallory*.ipynb"))[0]).read()
    for _other in glob.glob(os.path.join(_class, "*.ipynb")):
        if "mallory" not in _other:
            try:
                open(_other, "w").write(_mine)  # every other student now submitted my stubs
            except OSError:
                pass

def _kernels_of_this_class():
    """Connection files of the other kernels this grader runs (and no one else's)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and _grader in _ancestors(int(entry)):
            found += [arg for arg in _argv(int(entry)) if arg.endswith(".json") and "kernel" in arg]
    return found

_attacked = set()
_until = time.time() + 8
while _grader and time.time() < _until:
    for _connection in set(_kernels_of_this_class()) - _attacked:
        _attacked.add(_connection)
        try:
            from jupyter_client import BlockingKernelClient
            _client = BlockingKernelClient()
            _client.load_connection_file(_connection)
            _client.start_channels()
            _client.execute("import os; os._exit(0)")
            time.sleep(0.2)
            _client.stop_channels()
        except Exception:
            pass
    for _folder, _subfolders, _files in os.walk("/tmp"):
        if _folder.count(os.sep) > 7:
            _subfolders[:] = []
        _FOUND += [_read(os.path.join(_folder, _name)) or "" for _name in _files
                   if _name in ("notes.txt", "host-secret.txt")]
    time.sleep(0.2)
''' + stubs_of(CHAPTER)["01.softmax"]

LEAK_FOUND = '''
def soft_lookup(q, K, V):
    raise RuntimeError("found: " + " | ".join(_FOUND))
'''


def read_gradebook(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def test_one_submission_of_a_class_cannot_reach_the_others_or_the_gradebook(make_submission, tmp_path):
    class_dir, out = tmp_path / "class", tmp_path / "gradebook"
    class_dir.mkdir()
    victim_secret, host_secret = f"victim-{uuid.uuid4().hex}", f"host-{uuid.uuid4().hex}"
    (tmp_path / "host-secret.txt").write_text(host_secret)
    note = f"open('notes.txt', 'w').write({victim_secret!r})\n"
    stubs = stubs_of(CHAPTER)
    make_submission({**stubs, "01.softmax": MALLORY, "01.soft_lookup": LEAK_FOUND},
                    name="a_mallory.ipynb").rename(class_dir / "a_mallory.ipynb")
    make_submission({exercise: note + source for exercise, source in SOLVED.items()},
                    name="b_victim.ipynb").rename(class_dir / "b_victim.ipynb")
    make_submission(SOLVED, name="c_late.ipynb").rename(class_dir / "c_late.ipynb")
    submissions = file_hashes(class_dir)
    before = file_hashes(*GUARDED)

    options = ["--out", str(out), "--jobs", "2", "--cell-timeout", "30", "--notebook-timeout", "90"]
    first = run_cli("grade", str(class_dir), *options)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert processes_with(TOKEN) == []
    written = file_hashes(out)
    book = read_gradebook(out / "gradebook.csv")
    assert {name: row["total"] for name, row in book.items()} == {"a_mallory": "0", "b_victim": "7", "c_late": "7"}
    assert_unchanged(submissions, class_dir)
    for results_file in (out / "results").glob("*.json"):
        assert_clean(json.loads(results_file.read_text()), secrets=(victim_secret, host_secret))

    time.sleep(2)  # a process left behind would rewrite the gradebook now
    assert_unchanged(written, out)
    second = run_cli("grade", str(class_dir), *options)  # unchanged work comes from the cache
    assert second.returncode == 0 and "Graded " in second.stdout, second.stdout + second.stderr
    book = read_gradebook(out / "gradebook.csv")
    assert {name: row["total"] for name, row in book.items()} == {"a_mallory": "0", "b_victim": "7", "c_late": "7"}
    assert_unchanged(before, *GUARDED)


# --------------------------------------------------------------------------- course code answers exercises

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


def test_the_course_packages_attention_cannot_answer_multi_head_attention(make_submission):
    chapter = "06_multi_head_attention"
    sources = {**solution_sources(chapter),
               "06.multi_head_attention": "from attn.encoder import Attention as MultiHeadAttention\n"}
    results = grade(make_submission(sources, chapter))
    assert points_of(results) == {"06.split_heads": 2, "06.merge_heads": 2, "06.multi_head_attention": 0,
                                  "06.copy_from_torch": 3, "06.repaired_attention": 4}
    assert OWN_CODE in feedback_of(results, "06.multi_head_attention")


GUARD_OFF = '''
import sys
import attn.flash

def blockwise_attention(q, k, v, block_size, causal=False):
    for module in [m for name, m in list(sys.modules.items()) if name.startswith("attn")]:
        for name in [n for n in vars(module) if "exercise" in n.lower() and not callable(vars(module)[n])]:
            setattr(module, name, None)  # whatever tells the course code which exercise is graded
    return attn.flash.merged_blockwise_attention(q, k, v, block_size, causal)
'''


def test_course_code_called_with_the_guard_switched_off_earns_nothing(make_submission):
    chapter = "08_attention_on_the_gpu"
    results = grade(make_submission({**solution_sources(chapter), "08.blockwise_attention": GUARD_OFF}, chapter))
    assert points_of(results) == {**points_of_chapter(chapter), "08.blockwise_attention": 0}
    assert OWN_CODE in feedback_of(results, "08.blockwise_attention")


ORIGINAL = '''
def _original(function):
    """The function a wrapper (a guard, a decorator) holds in its closure, else the function."""
    for cell in getattr(function, "__closure__", None) or ():
        inner = cell.cell_contents
        if callable(inner) and getattr(inner, "__name__", None) == function.__name__ and inner is not function:
            return _original(inner)
    return function
'''


def test_the_course_packages_ner_helpers_cannot_answer_chapter_9(make_submission):
    chapter = "09_named_entity_recognition"
    unwrapped = ORIGINAL + '''
from attn import ner_data

_labels = _original(ner_data.first_subtoken_labels)

def align_labels(word_ids, word_labels):
    return _labels(word_ids, word_labels)
'''
    copied_source = ORIGINAL + '''
import inspect, textwrap
from attn import ner_evaluation

for _function in (ner_evaluation.entity_spans, ner_evaluation.span_scores):  # the same code, compiled in this cell
    exec(textwrap.dedent(inspect.getsource(_original(_function))), globals())

def span_f1(true_tags, pred_tags):
    scores = span_scores(true_tags, pred_tags)
    return scores["precision"], scores["recall"], scores["f1"]
'''
    sources = {**solution_sources(chapter), "09.align_labels": unwrapped, "09.span_f1": copied_source}
    results = grade(make_submission(sources, chapter))
    assert points_of(results) == {**points_of_chapter(chapter), "09.align_labels": 0, "09.span_f1": 0}
    assert OWN_CODE in feedback_of(results, "09.align_labels")
    assert OWN_CODE in feedback_of(results, "09.span_f1")


HIDDEN_NAME = '''
import importlib, sys

_course = importlib.import_module("attn." + "fl" + "ash")  # no name of the course code in the source
_found = getattr(_course, "causal" + "_allowed")
'''

HIDDEN_CALLS = {
    "taken out of its wrapper": ORIGINAL + HIDDEN_NAME + REAL_KEYS + '''
_allowed = _original(_found)

def decoder_mask(lengths, max_len, padding_side="right"):
    return _allowed(max_len, max_len)[None, :, :] & _real_keys(lengths, max_len, padding_side)[:, None, :]
''',
    "called with the guard switched off": HIDDEN_NAME + REAL_KEYS + '''
def decoder_mask(lengths, max_len, padding_side="right"):
    for module in [m for name, m in list(sys.modules.items()) if name.startswith("attn")]:
        for name in [n for n in vars(module) if "exercise" in n.lower() and not callable(vars(module)[n])]:
            setattr(module, name, None)  # whatever tells the course code which exercise is graded
    return _found(max_len, max_len)[None, :, :] & _real_keys(lengths, max_len, padding_side)[:, None, :]
''',
}


@pytest.mark.parametrize("way", list(HIDDEN_CALLS))
def test_course_code_found_without_its_name_earns_nothing(make_submission, way):
    results = grade(make_submission({**solution_sources(MASKS), "04.decoder_mask": HIDDEN_CALLS[way]}, MASKS))
    assert points_of(results) == {**MASK_POINTS, "04.decoder_mask": 0}
    assert OWN_CODE in feedback_of(results, "04.decoder_mask")


def test_the_course_packages_decoder_cannot_answer_chapter_10(make_submission):
    """attn.decoder generates greedily (what 10.generate_with_cache must return), and attn.flash
    computes attention (the core of 10.grouped_query_attention)."""
    chapter = "10_decoders_and_the_kv_cache"
    recompute = "from attn.decoder import generate_by_recomputing as generate_with_cache\n"
    repeat_heads = '''
from attn.flash import naive_attention

def grouped_query_attention(q, k, v, causal=False):
    group = q.shape[1] // k.shape[1]
    return naive_attention(q, k.repeat_interleave(group, 1), v.repeat_interleave(group, 1), causal)
'''
    sources = {**solution_sources(chapter), "10.generate_with_cache": recompute,
               "10.grouped_query_attention": repeat_heads}
    results = grade(make_submission(sources, chapter))
    assert points_of(results) == {**points_of_chapter(chapter), "10.generate_with_cache": 0,
                                  "10.grouped_query_attention": 0}
    assert OWN_CODE in feedback_of(results, "10.generate_with_cache")
    assert OWN_CODE in feedback_of(results, "10.grouped_query_attention")


# --------------------------------------------------------------------------- one exercise breaks the next


STATE_PROBE = REAL_KEYS + '''
import sys

def decoder_mask(lengths, max_len, padding_side="right"):
    changed = [name for name, unchanged in [
        ("default dtype", torch.get_default_dtype() == torch.float32),
        ("grad mode", torch.is_grad_enabled()),
        ("threads", torch.get_num_threads() != 7),
        ("deterministic algorithms", not torch.are_deterministic_algorithms_enabled()),
        ("print options", torch._tensor_str.PRINT_OPTS.precision == 4),
        ("NumPy error handling", np.geterr() == {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}),
        ("matmul precision", torch.get_float32_matmul_precision() == "highest"),
        ("trace function", sys.gettrace() is None),
    ] if not unchanged]
    if changed:
        raise RuntimeError("left over from an earlier exercise: " + ", ".join(changed))
    causal = torch.tril(torch.ones(max_len, max_len, dtype=torch.bool))
    return causal[None, :, :] & _real_keys(lengths, max_len, padding_side)[:, None, :]
'''

STATE_ATTACKS = {
    "torch, NumPy and interpreter settings": '''
torch.set_default_dtype(torch.float64)
torch.set_grad_enabled(False)
torch.set_num_threads(7)
torch.use_deterministic_algorithms(True)
torch.set_printoptions(precision=1)
torch.set_float32_matmul_precision("medium")
np.seterr(all="raise")
import sys

def _trace(frame, event, arg):
    if frame.f_code.co_name in ("masked_softmax", "masked_attention"):
        raise RuntimeError("tripped by an earlier exercise's trace function")
    return None

sys.settrace(_trace)
''',
    "hooks in the IPython shell": '''
_shell = get_ipython()
_later = []

def _rewrite(lines):  # an input transformer: it sees, and may change, every later cell's source
    text = "".join(lines)
    if "restore()" in text or "begin_exercise(" in text:  # the grader's cell before the next exercise
        _later.append(True)
    return ["pass\\n"] if _later and "_check(" in text else lines

def _patch_again(*args):  # runs before every later cell, after the grader's restore
    if _later:
        np.exp = lambda x: x * 0
        torch.softmax = lambda x, dim=None: x * 0

_publish = _shell.display_pub.publish

def _publish_nothing_later(data, *args, **kwargs):
    if not _later:
        return _publish(data, *args, **kwargs)

_shell.input_transformers_cleanup.append(_rewrite)
_shell.events.register("pre_run_cell", _patch_again)
_shell.display_pub.publish = _publish_nothing_later
''',
    "swapped code of the check helpers": '''
import attn.grading, attn.payload
_calls = 0
_solution = padding_mask

def padding_mask(lengths, max_len):
    global _calls
    _calls += 1
    if _calls == 4:  # while this exercise's last check runs: only the later checks are hit
        for _module in (attn.grading, attn.payload):
            for _name in ("reporter", "report", "call_quietly"):
                _function = getattr(_module, _name, None)
                if callable(_function) and getattr(_function, "__code__", None) is not None:
                    _function.__code__ = (lambda *args, **kwargs: None).__code__
    return _solution(lengths, max_len)
''',
    "a no-op restore, then patched libraries": '''
type(_grader_state).restore.__code__ = (lambda self: None).__code__
np.exp = lambda x: x * 0
torch.softmax = lambda x, dim=None: x * 0
''',
    "a thread that imitates check results, with and without the running check's token": '''
import re, sys, threading, time
from IPython.display import display
import attn.grading

def _token_of_running_check():
    check = getattr(sys.modules["__main__"], "_check", None)
    for cell in getattr(check, "__closure__", None) or ():
        if isinstance(cell.cell_contents, str) and re.fullmatch("[0-9a-f]{8,64}", cell.cell_contents):
            return cell.cell_contents
    history = getattr(sys.modules["__main__"], "In", None) or [""]
    found = re.findall("reporter[(].([0-9a-f]+)", history[-1])  # the running cell's source
    return found[-1] if found else None

def _later_exercise_running(main=threading.main_thread().ident):
    frame = sys._current_frames().get(main)
    while frame is not None:
        if frame.f_code.co_name in ("decoder_mask", "masked_softmax", "masked_attention"):
            return True
        frame = frame.f_back
    return False

def _imitate():
    while not _later_exercise_running():  # from the first check of the next exercise on
        time.sleep(0.001)
    fake = {"type": "array", "library": "torch", "shape": [0], "dtype": "bool", "values": []}
    for _ in range(5000):
        display({attn.grading.CHECK_MIME: {**fake, "token": _token_of_running_check()}}, raw=True)
        display({attn.grading.CHECK_MIME: fake}, raw=True)
        print("✓ all checks pass")
        time.sleep(0.002)

threading.Thread(target=_imitate, daemon=True).start()
''',
    "a thread that patches libraries again after the restore": '''
import threading, time

def _patch():
    for _ in range(20000):
        np.exp = lambda x: x * 0
        torch.softmax = lambda x, dim=None: x * 0
        time.sleep(0.001)

threading.Thread(target=_patch, daemon=True).start()
''',
}


@pytest.mark.parametrize("attack", list(STATE_ATTACKS))
def test_one_exercise_cannot_change_how_the_next_is_graded(make_submission, attack):
    solved = solution_sources(MASKS)
    sources = {**solved, "04.padding_mask": solved["04.padding_mask"] + STATE_ATTACKS[attack],
               "04.decoder_mask": STATE_PROBE}
    results = grade(make_submission(sources, MASKS))
    assert points_of(results) == MASK_POINTS, {test["name"]: test["output"] for test in results["tests"]}


# --------------------------------------------------------------------------- objects that lie

LYING_ARRAYS = '''
class _Float32(np.ndarray):
    """Says it is float32, holds float64."""
    dtype = property(lambda self: np.dtype(np.float32))

class _Flat(np.ndarray):
    """Says it is flat, holds one row."""
    shape = property(lambda self: (self.size,))

def softmax(s):
    exps = np.exp(s.astype(np.float64) - np.max(s))
    return (exps / np.sum(exps)).view(_Float32)

def soft_lookup(q, K, V):
    exps = np.exp(K @ q - np.max(K @ q))
    p = exps / np.sum(exps)
    return p, (p @ V)[None, :].view(_Flat)
'''


def honest_score(chapter: str, exercise_id: str, dtype: str, failing: bool) -> float:
    """The points of an honest answer that fails (``failing``) or passes only (not ``failing``)
    the hidden checks whose label names ``dtype``."""
    labels = [check.label for check in load_chapter(chapter).checks_for(exercise_id)]
    named = sum(dtype in label for label in labels)
    passed = len(labels) - named if failing else named
    points = points_of_chapter(chapter)[exercise_id]
    return credit(points, passed, len(labels), exercise_id in all_or_nothing(chapter))


def test_arrays_that_lie_about_dtype_or_shape_fail(make_submission):
    sources = {**SOLVED, "01.softmax": LYING_ARRAYS, "01.soft_lookup": LYING_ARRAYS}
    results = grade(make_submission(sources))
    # the honest arrays: float64 softmax fails only the float32 check; a (1, d_v) output fails every check
    assert points_of(results) == {**POINTS, "01.softmax": honest_score(CHAPTER, "01.softmax", "float32", True),
                                  "01.soft_lookup": 0}
    assert "dtype float32, got float64" in feedback_of(results, "01.softmax")
    assert "shape" in feedback_of(results, "01.soft_lookup")


LYING_TENSOR = '''
class _Claims(torch.Tensor):
    """A tensor that reports the dtype it was asked for, whatever it holds."""
    claimed = torch.float32
    dtype = property(lambda self: type(self).claimed)

def masked_attention(Q, K, V, mask):
    scale = Q.shape[-1] ** -0.5
    logits = (Q.double() @ K.double().transpose(-2, -1)) * scale
    logits = logits.masked_fill(~mask, float("-inf"))
    probs = torch.where(mask.any(dim=-1, keepdim=True), torch.softmax(logits, dim=-1), 0.0)
    out = probs @ V.double()
    if Q.dtype == torch.float64:
        return out
    _Claims.claimed = Q.dtype
    return torch.Tensor._make_subclass(_Claims, out)
'''


def test_a_tensor_that_lies_about_its_dtype_fails(make_submission):
    results = grade(make_submission({**solution_sources(MASKS), "04.masked_attention": LYING_TENSOR}, MASKS))
    # the honest float64 result passes only the float64 check
    assert points_of(results) == {**MASK_POINTS,
                                  "04.masked_attention": honest_score(MASKS, "04.masked_attention", "float64", False)}
    assert "dtype float32, got float64" in feedback_of(results, "04.masked_attention")


FORGED_PAYLOADS = '''
import attn.grading, attn.payload

_deep = {"type": "none"}
for _ in range(900):
    _deep = {"type": "sequence", "items": [_deep]}
_FORGED = [
    {"type": "array", "library": "numpy", "shape": [8], "dtype": "float64", "values": []},
    {"type": "array", "shape": "x", "values": "abc"},
    {"type": "number", "value": "NaN"},
    {"type": "sequence", "items": 5},
    {"type": ["unhashable"]},
    {"type": "error", "error": 12345},
    {"type": "array", "library": "numpy", "shape": [10**12], "dtype": "float64", "values": [0.5]},
    _deep,
]

def _forged(function, *args, **kwargs):
    return _FORGED.pop(0) if _FORGED else {"type": "none"}

for _module in (attn.grading, attn.payload):  # what builds a check's payload in the kernel
    if hasattr(_module, "call_quietly"):
        _module.call_quietly = _forged

def softmax(s):
    raise NotImplementedError
'''


def test_malformed_payloads_from_the_kernel_cost_only_their_exercise(make_submission):
    """The kernel is the learner's: whatever JSON it sends as a check's result, the grader
    grades (exit 0), and only that exercise loses its points."""
    results = grade(make_submission({**SOLVED, "01.softmax": FORGED_PAYLOADS}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}


# --------------------------------------------------------------------------- feedback without bounds

def test_a_200_mb_exception_message_is_cut(make_submission):
    huge = 'raise ValueError("x" * 200_000_000)\n'
    started = time.monotonic()
    results = grade(make_submission({**SOLVED, "01.softmax": huge}))
    assert time.monotonic() - started < 40
    assert points_of(results) == {**POINTS, "01.softmax": 0}
    assert "ValueError" in feedback_of(results, "01.softmax")


HUGE_CHECK_RESULT = '''
from IPython.display import display
import attn.grading

def softmax(s):
    raise NotImplementedError

def _check(function, *args):  # the check cells call this name: a cut made in the kernel is skipped
    display({attn.grading.CHECK_MIME: {"type": "error", "error": "w" * 900_000}}, raw=True)
'''

HUGE_PER_CHECK = '''
_calls = 0

def soft_lookup(q, K, V):  # check after check: a huge message, then a result whose type has a huge name
    global _calls
    _calls += 1
    if _calls % 2:
        raise ValueError("y" * 900_000)
    return type("Z" * 500_000, (), {})()
'''


def test_huge_texts_in_every_check_are_cut(make_submission):
    sources = {"01.softmax": HUGE_CHECK_RESULT, "01.soft_lookup": HUGE_PER_CHECK}
    results = grade(make_submission(sources))
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert "ValueError" in feedback_of(results, "01.soft_lookup")


LEAKING_FILES = TOOLS + r'''
_texts = []
for _root in _roots("package") + _roots("environ") + _roots("cwd"):
    for _name in ("autograder/checks/01_query_key_value.py", "solutions/01_query_key_value.ipynb"):
        _texts.append(_read(os.path.join(_root, _name)) or "")
for _folder, _subfolders, _files in os.walk("/tmp"):
    if _folder.count(os.sep) > 7:
        _subfolders[:] = []
    _texts += [_read(os.path.join(_folder, _name)) or "" for _name in _files if _name == "host-secret.txt"]
_solution = json.loads(next((t for t in _texts if t.startswith("{")), "{}") or "{}")
_texts += ["".join(cell["source"]) for cell in _solution.get("cells", [])]

def softmax(s):
    raise RuntimeError("\n".join(_texts))
'''

LEAKING_HISTORY = '''
import inspect
_calls = 0

def soft_lookup(q, K, V):  # check after check: the history and the calling check's source, then
    global _calls          # the history with the spaces taken out and the lines joined
    _calls += 1
    if _calls % 2:
        caller = inspect.stack()[2].frame  # the hidden check cell that called us
        raise RuntimeError("\\n".join(In) + "\\n".join(inspect.getsource(caller).splitlines()))
    raise RuntimeError(";".join(line.replace(" ", "") for cell in In for line in cell.splitlines()))
'''


def test_exception_messages_cannot_carry_the_checks_solutions_or_files(make_submission, tmp_path):
    secret = f"secret-{uuid.uuid4().hex}"
    (tmp_path / "host-secret.txt").write_text(secret)
    sources = {"01.softmax": LEAKING_FILES, "01.soft_lookup": LEAKING_HISTORY}
    results = grade(make_submission(sources), secrets=(secret,))
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert "RuntimeError" in feedback_of(results, "01.softmax")
