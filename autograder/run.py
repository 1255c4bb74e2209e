"""Run a grading notebook with ``pytest --nbval`` in a subprocess, and return one record per cell."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nbformat

from autograder import timings
from autograder.course_code import write_course_view
from autograder.forked_kernels import close_fork_server, imported_modules, launch_fork_server, preload_modules
from autograder.notebooks import ROOT, write_notebook
from autograder.sandbox import Cgroup, require_sandbox


@dataclass(frozen=True)
class Limits:
    """What one submission may use, and whether its kernel runs in the sandbox."""

    cell_seconds: int = 60        # one cell
    notebook_seconds: int = 600   # the whole submission, across kernel restarts
    memory_mb: int = 4096         # all the submission's processes together (one process, without a cgroup)
    output_kb: int = 1024         # what one cell may print or display
    processes: int = 256          # processes and threads of the submission at once
    sandbox: bool = True          # run the kernel in bubblewrap (see autograder.sandbox)


def kill_processes_in(folder: Path) -> None:
    """Kill every process whose working directory is in ``folder`` (unsandboxed kernels only: a
    sandboxed kernel's processes all die with its pid namespace)."""
    for cwd_link in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if Path(os.readlink(cwd_link)).is_relative_to(folder.resolve()):
                os.kill(int(cwd_link.parent.name), signal.SIGKILL)
        except OSError:  # the process ended meanwhile, or is not ours to inspect
            continue


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    """A new temporary folder, removed afterwards with ``rm -rf``: the kernels write into it, and
    a tree nested thousands deep would make ``shutil.rmtree`` fail with RecursionError."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=False)


def view_name(notebook: nbformat.NotebookNode) -> str:
    """Which course view ``notebook``'s kernel sees: for a notebook of one learner exercise, a
    copy of the package without that exercise's answers (``exercises/<id>/attn``, written by
    :meth:`KernelSandbox.prepare`); otherwise (trusted code) the package itself (``course``)."""
    exercise_id = notebook.metadata.get("grader", {}).get("exercise")
    return "course" if exercise_id is None else f"exercises/{exercise_id}/attn"


@dataclass
class KernelSandbox:
    """A grading run's kernel fork server in its sandbox (:func:`kernel_sandbox`), with the
    folders it shares with the grader: the exercises' course views and the kernels' channels."""

    server: subprocess.Popen
    views: Path
    channels: Path

    def prepare(self, notebooks: list[nbformat.NotebookNode]) -> None:
        """Have the server import what the grader's own cells of ``notebooks`` import, and
        write the course views their kernels will see (while it imports)."""
        setup = [cell.source for notebook in notebooks for cell in notebook.cells
                 if cell.metadata.get("grader", {}).get("role") in ("prelude", "setup")]
        preload_modules(self.server, imported_modules(setup))
        for name in dict.fromkeys(view_name(notebook) for notebook in notebooks):
            if name.startswith("exercises/"):
                write_course_view(ROOT / "attn", name.split("/")[1], self.views / name.split("/", 1)[1])

    def pipes(self) -> list[int]:
        return [self.server.stdin.fileno(), self.server.stdout.fileno()]


@contextlib.contextmanager
def kernel_sandbox() -> Iterator[KernelSandbox]:
    """Start a fork server for one grading run, as early as can be (its imports overlap with
    reading the submission, writing the views and pytest's start-up); kill it afterwards."""
    require_sandbox()
    with tempfile.TemporaryDirectory(prefix="attn-views-") as views, scratch_folder("attn-ipc-") as channels:
        server = launch_fork_server({"exercises": Path(views), "course": ROOT / "attn"}, channels)
        try:
            yield KernelSandbox(server, Path(views), channels)
        finally:
            close_fork_server(server)


def run_grading_notebook(notebook: nbformat.NotebookNode, limits: Limits, seconds: float | None = None) -> list[dict]:
    """:func:`run_grading_notebooks` for one notebook."""
    return run_grading_notebooks([notebook], limits, seconds)


def run_grading_notebooks(notebooks: list[nbformat.NotebookNode], limits: Limits, seconds: float | None = None,
                          owners: list[int] | None = None, sandbox: KernelSandbox | None = None) -> list[dict]:
    """Execute ``notebooks`` under nbval with the grader plugin, each in a fresh kernel, in one
    pytest run; return the plugin's per-cell records (each names its notebook and owner).

    ``owners`` gives the submission each notebook belongs to (default: all one): each
    submission has a cgroup of its own and ``limits.notebook_seconds`` from its first cell on,
    after which its remaining cells are cut (their records say ``"cut"``). The notebooks and
    the report live in a private directory that the kernels cannot see; each kernel talks to
    nbval over IPC sockets in a folder of its own (with the sandbox, the only host folder it
    sees). A run that passes ``seconds`` (default: ``limits.notebook_seconds`` per submission)
    is stopped, with every process in it, and returns the records made so far. With the
    sandbox, the kernels are forks of ``sandbox``'s server (default: one started here).
    """
    owners = owners or [0] * len(notebooks)
    if seconds is None:  # each submission's own limit, and time to start and stop its kernels
        seconds = (limits.notebook_seconds + 30) * len(set(owners))
    with tempfile.TemporaryDirectory(prefix="grader-") as private, contextlib.ExitStack() as stack:
        if limits.sandbox:
            sandbox = sandbox or stack.enter_context(kernel_sandbox())
            sandbox.prepare(notebooks)
            channel_dir = sandbox.channels
        else:
            channel_dir = stack.enter_context(scratch_folder("attn-ipc-"))
        cgroups = {owner: stack.enter_context(Cgroup(limits.memory_mb, limits.processes)) for owner in set(owners)}
        private_dir, channel = Path(private), str(channel_dir)
        report_path = private_dir / "report.json"
        paths = [private_dir / f"grading-{index:02d}.ipynb" for index in range(len(notebooks))]
        for notebook, path in zip(notebooks, paths):
            write_notebook(notebook, path)
        pipes = sandbox.pipes() if limits.sandbox else []
        described = [{"view": view_name(notebook), "launcher": cgroups[owner].launcher(),
                      "cgroup": cgroups[owner].procs_files(), "owner": owner,
                      "server": [*pipes, sandbox.server.pid] if limits.sandbox else []}
                     for notebook, owner in zip(notebooks, owners)]
        rlimit = any(cgroup.mode == "rlimit" for cgroup in cgroups.values())
        (private_dir / "pytest.ini").write_text("[pytest]\n")
        command = [
            sys.executable, "-m", "pytest", *map(str, paths),
            "--nbval", "--nbval-current-env", f"--nbval-cell-timeout={limits.cell_seconds}",
            "-p", "autograder.nbval_plugin", "-p", "nbval.plugin", "-p", "no:cacheprovider",
            f"--grader-report={report_path}", f"--grader-channel={channel}",
            f"--grader-sandbox={int(limits.sandbox)}", f"--grader-notebooks={json.dumps(described)}",
            f"--grader-owner-seconds={limits.notebook_seconds}",
            f"--grader-memory-mb={limits.memory_mb}", f"--grader-output-kb={limits.output_kb}",
            f"--grader-processes={limits.processes if rlimit else 0}",
            "-c", str(private_dir / "pytest.ini"), "--rootdir", private, "-q",
        ]
        # Only the plugins grading needs (others installed, such as Hypothesis's, cost start-up time).
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        timings.note("pytest launched")
        process = subprocess.Popen(command, cwd=private, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                   pass_fds=pipes)
        try:
            output, _ = process.communicate(timeout=max(1.0, seconds))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and everything in its session
            output, _ = process.communicate()
            with report_path.open("a", encoding="utf-8") as lines:  # every submission in it was cut
                lines.writelines(json.dumps({"role": "run", "cut": True, "owner": owner}) + "\n"
                                 for owner in set(owners))
        timings.note("pytest finished")
        if not limits.sandbox:
            kill_processes_in(channel_dir)  # an unsandboxed kernel runs in a session of its own
        if process.returncode not in (0, 1, -signal.SIGKILL):  # 1: some check failed
            raise RuntimeError(f"the grading run crashed:\n{output[-4000:]}")
        lines = report_path.read_text(encoding="utf-8").splitlines() if report_path.exists() else []
        return [json.loads(line) for line in lines]
