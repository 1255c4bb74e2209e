"""The sandbox itself: what a kernel sees, its limits, and what the grader does where there is none.

The attacks on a real grading are in test_security.py; here the sandbox is checked directly,
and the behaviour without bubblewrap is checked by hiding it from the grader's PATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.gradescope import build_zip
from autograder.notebooks import ROOT, solution_sources
from autograder.sandbox import Cgroup, bwrap_command, sandbox_problem
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


def in_sandbox(code: str, channel: Path) -> subprocess.CompletedProcess:
    """Run Python ``code`` in the kernel's sandbox (the same binds and namespaces)."""
    command = bwrap_command(ROOT / "attn", channel) + [sys.executable, "-c", code]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_sandbox_shows_only_its_list(tmp_path):
    probe = """
import json, os, socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    network = "connected"
except OSError as error:
    network = type(error).__name__
home = os.path.expanduser("~")
print(json.dumps({"uid": os.getuid(), "root": sorted(os.listdir("/")), "pids": len([p for p in os.listdir("/proc") if p.isdigit()]),
                  "home": os.listdir(home), "cwd": os.getcwd(), "network": network,
                  "repo": sorted(os.listdir(os.path.dirname(os.path.dirname(__import__("attn").__file__)))),
                  "tmp": sorted(os.listdir("/tmp")), "etc": sorted(os.listdir("/etc"))}))
"""
    seen = json.loads(in_sandbox(probe, tmp_path).stdout)
    assert seen["uid"] == 65534
    assert seen["pids"] <= 3  # bubblewrap's reaper, python, and nothing of the host
    assert seen["home"] == [] and seen["cwd"] == "/home/learner"
    assert seen["network"] == "ConnectionRefusedError"  # its own empty loopback
    assert not {"autograder", "solutions", "book", "tests"} & set(seen["repo"])  # only attn/ (and the venv)
    assert seen["tmp"] == ([tmp_path.relative_to("/tmp").parts[0]] if tmp_path.is_relative_to("/tmp") else [])
    assert "shadow" not in seen["etc"] and len(seen["etc"]) <= 10
    bound = {Path(path).parts[1] for path in (sys.prefix, sys.base_prefix, ROOT, tmp_path)}  # parents of the binds
    assert set(seen["root"]) <= {"bin", "dev", "etc", "home", "lib", "lib32", "lib64", "proc", "sbin", "sys",
                                 "tmp", "usr"} | bound


def test_the_sandbox_writes_only_its_channel(tmp_path):
    channel = tmp_path / "channel"
    channel.mkdir()
    probe = f"""
import os, sys
for path in [{str(ROOT / 'attn' / 'zz_probe.py')!r}, sys.prefix + "/zz_probe", "/usr/zz_probe", {str(channel / 'ok')!r}]:
    try:
        open(path, "w").write("x")
        print("wrote", path)
    except OSError:
        pass
"""
    finished = in_sandbox(probe, channel)
    assert finished.stdout.split() == ["wrote", str(channel / "ok")]
    assert not (ROOT / "attn" / "zz_probe.py").exists()


def test_a_cgroup_limits_all_processes_together():
    with Cgroup(memory_mb=256, processes=20) as cgroup:
        if cgroup.mode == "rlimit":
            pytest.skip("no cgroup can be written here: limits are per process")
        allocate = ["python3", "-c", "a = bytearray(400 * 2**20); a[::4096] = b'x' * len(a[::4096])"]
        assert subprocess.run(cgroup.launcher() + allocate).returncode == -9  # killed by the memory limit
        forks = ["/bin/sh", "-c", "for i in $(seq 40); do sleep 5 & done; wait"]
        finished = subprocess.run(cgroup.launcher() + forks, capture_output=True, text=True, timeout=60)
        assert "fork" in finished.stderr.lower()


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
