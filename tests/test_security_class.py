"""Attacks on the other submissions of a class: their notebooks, kernels and files, the
gradebook, and the other kernels a kernel sees in the sandbox's /proc (issue 12).

Each test grades a real submission and asserts the exact outcome (see ``attacks.py``).
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from pathlib import Path

from conftest import CHAPTER, POINTS, run_cli
from attacks import (GUARDED, SOLVED, TOKEN, TOOLS, assert_clean, assert_unchanged, feedback_of,
                     file_hashes, points_of, processes_with, rewarded_if, stubs_of)
from attacks import end_attack_processes  # noqa: F401 (autouse: ends what each attack left)


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


PEERS = TOOLS + r'''
import time

def _peer_kernels(wait=5.0):
    """The other kernels in view: python processes that are neither this one nor its ancestors
    (waiting up to ``wait`` seconds for one to appear)."""
    mine = {_self(), *_ancestors()}
    deadline = time.time() + wait
    while True:
        peers = [int(entry) for entry in os.listdir("/proc") if entry.isdigit() and int(entry) not in mine
                 and (_argv(int(entry)) or [""])[0].endswith("python")]
        if peers or time.time() > deadline:
            return peers
        time.sleep(0.1)

def _opened_in_peers():
    """What this kernel could open of the other kernels: environment, memory map, memory, files."""
    opened = []
    for pid in _peer_kernels():
        for name in ("environ", "maps", "mem"):
            if _read(f"/proc/{pid}/{name}", "rb") is not None:
                opened.append(f"{pid}/{name}")
        for name in ("cwd", "root"):
            try:
                os.listdir(f"/proc/{pid}/{name}")
                opened.append(f"{pid}/{name}")
            except OSError:
                pass
        try:  # the numbers of its open files can be listed; the files themselves must stay shut
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            descriptors = []
        for number in descriptors:
            try:
                os.readlink(f"/proc/{pid}/fd/{number}")
                opened.append(f"{pid}/fd/{number} (its name)")
            except OSError:
                pass
            try:  # without blocking, should it be a pipe
                os.close(os.open(f"/proc/{pid}/fd/{number}", os.O_RDONLY | os.O_NONBLOCK))
                opened.append(f"{pid}/fd/{number}")
            except OSError:
                pass
    return opened
'''
COUNT_PEERS = PEERS + '''
def soft_lookup(q, K, V):
    raise RuntimeError(f"peer kernels in view: {len(_peer_kernels())}")
'''


def test_a_kernel_cannot_open_the_other_kernels_it_sees(make_submission, tmp_path):
    """The sandbox's /proc shows every kernel of the run, another submission's included: their
    command line (the fork server's) and the numbers of their open files can be read. Their
    environment, memory, folders and open files stay closed."""
    class_dir, out = tmp_path / "class", tmp_path / "gradebook"
    class_dir.mkdir()
    attack = {"01.softmax": PEERS + rewarded_if("_opened_in_peers()"), "01.soft_lookup": COUNT_PEERS}
    make_submission(attack, name="a_prober.ipynb").rename(class_dir / "a_prober.ipynb")
    make_submission(SOLVED, name="b_peer.ipynb").rename(class_dir / "b_peer.ipynb")
    done = run_cli("grade", str(class_dir), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results" / "a_prober.json").read_text())
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}, feedback_of(results, "01.softmax")
    seen = feedback_of(results, "01.soft_lookup")
    assert "peer kernels in view:" in seen and "peer kernels in view: 0" not in seen, seen  # the attack had targets
    assert points_of(json.loads((out / "results" / "b_peer.json").read_text())) == POINTS


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
