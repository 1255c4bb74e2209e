"""Attacks on the machine around a kernel: writes to the grader, the course and the disk,
processes that outlive the grading, memory and process limits, the network, the
host's /tmp and environment (issue 12).

Each test grades a real submission and asserts the exact outcome (see ``attacks.py``).
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from conftest import POINTS, run_cli
from attacks import (GUARDED, MARKER, SOLVED, TOKEN, TOOLS, assert_unchanged, feedback_of,
                     file_hashes, grade, points_of, processes_with, rewarded_if)
from attacks import end_attack_processes  # noqa: F401 (autouse: ends what each attack left)


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
