"""The sandbox itself: what a kernel sees, its limits, and what the grader does where there is none.

The attacks on a real grading are in test_security_*.py; here the sandbox is checked directly,
and the behaviour without bubblewrap is checked by hiding it from the grader's PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.forked_kernels import ForkServer, close_fork_server, launch_fork_server
from autograder.gradescope import build_zip
from autograder.notebooks import ROOT, solution_sources
from autograder.sandbox import Cgroup, sandbox_problem
from conftest import CHAPTER, POINTS

pytestmark = pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}")



@pytest.fixture(scope="module")
def no_bwrap(tmp_path_factory) -> dict[str, str]:
    """An environment whose PATH holds every program of /usr/bin but bubblewrap."""
    folder = tmp_path_factory.mktemp("bin")
    for program in Path("/usr/bin").iterdir():
        if program.name != "bwrap":
            (folder / program.name).symlink_to(program)
    return {**os.environ, "PATH": str(folder)}


class Sandbox:
    """A fork server in the grader's sandbox, whose kernels run code and return what it printed."""

    def __init__(self, channel_root: Path) -> None:
        self.channel_root = channel_root
        self.process = launch_fork_server({"attn": ROOT / "attn"}, channel_root)
        self.server = ForkServer(os.dup(self.process.stdin.fileno()), os.dup(self.process.stdout.fileno()),
                                 self.process.pid, 2**32, 0)
        self.kernels = 0

    def kernel(self, cgroup: list[str] | None = None):
        """A fresh kernel (see :meth:`run`) in the cgroup ``cgroup`` names, and its channel folder."""
        self.kernels += 1
        channel = self.channel_root / f"ipc-{self.kernels}"
        channel.mkdir()
        kernel = self.server.start(str(self.kernels), "attn", channel, cgroup or [])
        client = kernel.client()
        client.start_channels()
        for _ in range(60):  # as the grader waits: a reply, and IOPub connected, however slowly it starts
            request = client.kernel_info()
            with contextlib.suppress(queue.Empty):
                client.get_shell_msg(timeout=1)
                while client.get_iopub_msg(timeout=1)["parent_header"].get("msg_id") != request:
                    pass
                break
        return kernel, client, channel

    @staticmethod
    def run(client, code: str) -> str:
        printed: list[str] = []
        client.execute_interactive(code, timeout=60, output_hook=lambda message: printed.append(
            message["content"].get("text", "") if message["msg_type"] == "stream" else ""))
        return "".join(printed)

    def close(self) -> None:
        self.server.close()
        close_fork_server(self.process)


@pytest.fixture
def sandbox(tmp_path):
    opened = Sandbox(tmp_path)
    yield opened
    opened.close()


def in_sandbox(sandbox: Sandbox, code: str) -> str:
    """What Python ``code`` prints in a kernel of the grader's sandbox."""
    kernel, client, _ = sandbox.kernel()
    try:
        return Sandbox.run(client, code)
    finally:
        client.stop_channels()
        kernel.kill()


def test_the_sandbox_shows_only_its_list(sandbox, tmp_path):
    probe = """
import json, os, socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    network = "connected"
except OSError as error:
    network = __import__("errno").errorcode.get(error.errno, type(error).__name__)
home = os.path.expanduser("~")
print(json.dumps({"uid": os.getuid(), "root": sorted(os.listdir("/")), "pids": len([p for p in os.listdir("/proc") if p.isdigit()]),
                  "home": os.listdir(home), "cwd": os.getcwd(), "network": network,
                  "repo": sorted(os.listdir(os.path.dirname(os.path.dirname(__import__("attn").__file__)))),
                  "tmp": sorted(os.listdir("/tmp")), "etc": sorted(os.listdir("/etc")), "pid": os.getpid(),
                  "grader": os.listdir("/grader"), "channels": os.listdir(CHANNEL_ROOT)}))
"""
    seen = json.loads(in_sandbox(sandbox, probe.replace("CHANNEL_ROOT", repr(str(tmp_path)))))
    assert seen["uid"] == 65534 and seen["pid"] == 1  # the first process of its own pid namespace
    assert seen["pids"] <= 4  # bubblewrap's reaper, the fork server, this kernel's holder and itself
    assert seen["home"] == [] and seen["cwd"] == "/home/learner"
    assert seen["network"] == "ENETUNREACH"  # a network namespace of its own, not even a loopback up
    assert not {"autograder", "solutions", "book", "tests"} & set(seen["repo"])  # only attn/ (and the venv)
    assert [name for name in seen["tmp"] if name != ".ipython"] == ([tmp_path.relative_to("/tmp").parts[0]] if tmp_path.is_relative_to("/tmp") else [])
    assert "shadow" not in seen["etc"] and len(seen["etc"]) <= 10
    bound = {Path(path).parts[1] for path in (sys.prefix, sys.base_prefix, ROOT, tmp_path)}  # parents of the binds
    assert set(seen["root"]) <= {"bin", "dev", "etc", "grader", "home", "lib", "lib32", "lib64", "proc", "sbin",
                                 "sys", "tmp", "usr"} | bound
    assert seen["grader"] == ["channel"]  # no course view but its own (mounted where attn is), no fork server
    assert seen["channels"] == ["ipc-1"]  # no other kernel's channel


def test_the_sandbox_writes_only_its_own_tmpfs(sandbox):
    kernel, client, channel = sandbox.kernel()
    probe = f"""
import os, sys
for path in [{str(ROOT / 'attn' / 'zz_probe.py')!r}, sys.prefix + "/zz_probe", "/usr/zz_probe", "/zz_probe",
             "/dev/zz_probe", "/grader/zz_probe", {str(channel / 'sealed')!r}, "/tmp/ok"]:
    try:
        open(path, "w").write("x")
        print("wrote", path)
    except OSError:
        pass
"""
    printed = Sandbox.run(client, probe)
    client.stop_channels()
    kernel.kill()
    assert printed.split() == ["wrote", "/tmp/ok"]  # its channel too is read-only once its sockets are made
    assert not (ROOT / "attn" / "zz_probe.py").exists()


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probe calls system calls by their x86-64 numbers")
def test_kernels_of_one_fork_server_share_nothing(sandbox):
    """Two kernels of one submission at once: the first leaves what it can in every shared place
    (files, shared memory, a message queue, an abstract socket, its session keyring) and a child
    process; the second finds none of it and can signal no process of the first."""
    first, first_client, _ = sandbox.kernel()
    second, second_client, _ = sandbox.kernel()
    leave = """
import ctypes, os, socket, subprocess
for folder in ["/tmp", os.path.expanduser("~"), "/dev/shm", "/", "/dev"]:
    try:
        open(os.path.join(folder, "left-behind"), "w").write("answer")
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
print("shm", libc.shmget(4242, 4096, 0o1666))
print("key", libc.syscall(248, b"user", b"left-behind", b"answer", 6, -3))  # add_key to the session keyring
server = socket.socket(socket.AF_UNIX); server.bind("\\0left-behind"); server.listen()
child = subprocess.Popen(["sleep", "600"])
print("pids", os.getpid(), child.pid)
"""
    left = Sandbox.run(first_client, leave)
    assert "shm -1" not in left, left  # (adding a key fails: the kernel may not call the keyring system calls)
    look = """
import ctypes, glob, os, socket
found = [path for folder in ["/tmp", os.path.expanduser("~"), "/dev/shm", "/", "/dev"]
         for path in glob.glob(os.path.join(folder, "left-behind"))]
libc = ctypes.CDLL(None, use_errno=True)
found += ["shm"] if libc.shmget(4242, 0, 0) >= 0 else []
found += ["key"] if libc.syscall(250, 10, -3, b"user", b"left-behind", 0) >= 0 else []  # KEYCTL_SEARCH
try:
    socket.socket(socket.AF_UNIX).connect("\\0left-behind")
    found.append("socket")
except OSError:
    pass
def own_number(task):  # /proc is the sandbox's: the last NSpid is the number in the kernel's namespace
    return int(open(f"/proc/self/task/{task}/status").read().split("NSpid:")[1].split("\\n")[0].split()[-1])
own = {own_number(task) for task in os.listdir("/proc/self/task")}  # its own threads are signalable too
signalled = []
for pid in range(1, 500):
    try:
        os.kill(pid, 0)
        signalled.append(pid)
    except OSError:
        pass
print(found, sorted(set(signalled) - own))
"""
    seen = Sandbox.run(second_client, look)
    assert seen.strip() == "[] []", seen
    for kernel, client in [(first, first_client), (second, second_client)]:
        client.stop_channels()
        kernel.kill()


def test_a_cgroup_limits_all_processes_together():
    with Cgroup(memory_mb=256, processes=20) as cgroup:
        if cgroup.mode == "rlimit":
            pytest.skip("no cgroup can be written here: limits are per process")
        allocate = ["python3", "-c", "a = bytearray(400 * 2**20); a[::4096] = b'x' * len(a[::4096])"]
        assert subprocess.run(cgroup.launcher() + allocate).returncode == -9  # killed by the memory limit
        forks = ["/bin/sh", "-c", "for i in $(seq 40); do sleep 5 & done; wait"]
        finished = subprocess.run(cgroup.launcher() + forks, capture_output=True, text=True, timeout=60)
        assert "fork" in finished.stderr.lower()


def test_a_kernel_counts_against_its_submissions_cgroup(sandbox):
    with Cgroup(memory_mb=256, processes=64) as cgroup:
        if cgroup.mode == "rlimit":
            pytest.skip("no cgroup can be written here: limits are per process")
        kernel, client, _ = sandbox.kernel(cgroup.procs_files())
        procs = Path(cgroup.procs_files()[0]).read_text().split()
        assert len(procs) == 2  # the kernel's namespace holder and the kernel, nothing else of the sandbox
        assert Sandbox.run(client, "print(2 + 2)").strip() == "4"
        client.execute("a = bytearray(400 * 2**20); a[::4096] = b'x' * len(a[::4096])")
        for _ in range(100):
            if not kernel.is_alive():
                break
            time.sleep(0.1)
        assert not kernel.is_alive()  # the cgroup's memory limit ended it
        client.stop_channels()
        kernel.kill()


def grade_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_without_bubblewrap_a_class_is_refused_unless_asked(make_submission, tmp_path, no_bwrap):
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    make_submission(solution_sources(CHAPTER), name="alice.ipynb").rename(class_dir / "alice.ipynb")
    refused = grade_cli(str(class_dir), "--out", str(tmp_path / "book1"), env=no_bwrap)
    assert refused.returncode == 2
    assert "Refusing to grade a class without the sandbox" in refused.stdout and "--no-sandbox" in refused.stdout
    assert not (tmp_path / "book1" / "gradebook.csv").exists()
    graded = grade_cli(str(class_dir), "--out", str(tmp_path / "book2"), "--no-sandbox", env=no_bwrap)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    row = (tmp_path / "book2" / "gradebook.csv").read_text().splitlines()[1]
    assert f",{sum(POINTS.values())}," in row


def test_without_bubblewrap_one_notebook_says_so_or_refuses(make_submission, tmp_path, no_bwrap):
    submission = make_submission(solution_sources(CHAPTER))
    results = tmp_path / "results.json"
    graded = grade_cli(str(submission), "--results", str(results), env=no_bwrap)
    assert graded.returncode == 0
    assert graded.stdout.splitlines()[0].startswith("Note: grading without the sandbox")
    report = json.loads(results.read_text())
    assert report["score"] == sum(POINTS.values()) and "without the sandbox" in report["output"]
    refused = grade_cli(str(submission), "--results", str(results), "--require-sandbox", env=no_bwrap)
    assert refused.returncode == 2 and len(refused.stdout.strip().splitlines()) == 1
    assert json.loads(results.read_text())["score"] == 0


@pytest.mark.parametrize("sandbox", [True, False])
def test_the_gradescope_zip_refuses_without_bubblewrap_unless_built_so(make_submission, tmp_path, sandbox,
                                                                        no_bwrap):
    root = tmp_path / "autograder"
    build_zip(tmp_path / "autograder.zip", sandbox=sandbox)
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    make_submission(solution_sources(CHAPTER), name="mine.ipynb").rename(root / "submission" / "mine.ipynb")
    env = {**no_bwrap, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, timeout=300, check=True)
    results = json.loads((root / "results" / "results.json").read_text())
    if sandbox:
        assert results["score"] == 0 and "sandbox is unavailable" in results["output"]
    else:
        assert results["score"] == sum(POINTS.values())


def _code_objects(code) -> list:
    """``code`` and every code object nested in it."""
    found = [code]
    for constant in code.co_consts:
        if hasattr(constant, "co_code"):
            found += _code_objects(constant)
    return found


def test_a_course_view_holds_no_compiled_copy_of_the_answers_it_stubs(tmp_path):
    """Each exercise's view of attn/ is copied with its compiled modules (a faster start); those
    of the stubbed modules must be compiled from the stubs, or the answers could be read from
    the .pyc files instead of the sources."""
    import compileall
    import marshal

    from autograder.course_code import ANSWERS, write_course_view

    compileall.compile_dir(ROOT / "attn", quiet=1)  # the package's own compiled modules exist
    exercises = sorted({exercise for ids in ANSWERS.values() for exercise in ids})
    for exercise in exercises:
        view = write_course_view(ROOT / "attn", exercise, tmp_path / exercise / "attn")
        for name, ids in ANSWERS.items():
            if exercise not in ids:
                continue
            module, attribute = name.rsplit(".", 1)
            folder = view / Path(*module.split(".")[1:]).parent / "__pycache__"
            stem = module.split(".")[-1]
            compiled = list(folder.glob(f"{stem}.*.pyc"))
            assert compiled, f"{name}: no compiled module in the view of {exercise}"
            for path in compiled:
                code = marshal.loads(path.read_bytes()[16:])
                mine = [c for c in _code_objects(code) if c.co_name == attribute]
                assert mine, f"{name}: not in {path.name}"
                nested = {c.co_name for top in mine for c in _code_objects(top)}
                assert nested <= {attribute, "__init__"}, f"{exercise}: {path.name} holds {name}'s own code"
