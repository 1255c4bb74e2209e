"""The grader's side of the kernel fork server (``autograder/forkserver.py``).

One fork server per grading run (up to five submissions of a class) runs in a bubblewrap
sandbox, started by the grader before the run (:func:`launch_fork_server`) so that its
imports overlap with pytest's start-up; the run's plugin asks it for kernels through a
:class:`ForkServer`. Each exercise's kernel is a fork of it in namespaces of its own (see
``autograder/forkserver.py``), moved into its submission's cgroup before it is made, so
that nothing of one kernel reaches another, of the same submission or not; a :class:`ForkedKernel`
stands in for jupyter_client's ``KernelManager`` for nbval: it can tell whether the kernel
is alive, interrupt it by message, hand out a client and kill it.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

from autograder.sandbox import bwrap_command, installed_course

FORKSERVER = Path(__file__).resolve().parent / "forkserver.py"
KILL_SECONDS = 10  # for a killed kernel's pid namespace to empty


class ForkServerFailed(RuntimeError):
    """The fork server did not start or stopped answering."""


def launch_fork_server(views: dict[str, Path], channel_root: Path) -> subprocess.Popen:
    """Start a grading run's fork server in its sandbox, with pipes for its requests and replies.

    ``views`` maps a name to each folder of course views its kernels may get (what is in a
    folder may be written after the start); ``channel_root`` is the folder under which each
    kernel's channel folder is made. It starts in a session of its own, so that
    :func:`close_fork_server` kills bubblewrap and everything below it at once. Each kernel
    joins its submission's cgroup before it is made (:meth:`ForkServer.start`).
    """
    command = [*bwrap_command(views, channel_root, FORKSERVER), sys.executable, "-I",
               "/grader/forkserver.py", installed_course()]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env={"PATH": "/usr/bin:/bin"}, start_new_session=True)


def preload_modules(server: subprocess.Popen, modules: list[str]) -> None:
    """Ask the fork server to import ``modules`` before it forks any kernel."""
    server.stdin.write((json.dumps({"preload": modules}) + "\n").encode())
    server.stdin.flush()


def close_fork_server(server: subprocess.Popen) -> None:
    """Kill a fork server's sandbox with every kernel in it."""
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait()
    for stream in (server.stdin, server.stdout):
        if stream is not None:
            stream.close()


class ForkServer:
    """The grading run's handle on a fork server that :func:`launch_fork_server` started: it
    asks for kernels over ``requests`` and follows the server's replies on ``replies`` (the
    two pipe ends, as file descriptors); ``sandbox`` is the pid of its bubblewrap process."""

    def __init__(self, requests: int, replies: int, sandbox: int, memory_bytes: int, processes: int) -> None:
        self.sandbox, self.memory_bytes, self.processes = sandbox, memory_bytes, processes
        self.requests, self.replies = os.fdopen(requests, "wb", buffering=0), os.fdopen(replies, "rb")
        self.alive: set[str] = set()
        self.cgroups: dict[str, list[str]] = {}  # kernel -> the cgroup.procs files it joins
        self.lock = threading.Condition()
        self.writing = threading.Lock()  # requests come from the grading run and from the listener
        self.stopped = False
        self.listener = threading.Thread(target=self._listen, daemon=True)
        self.listener.start()

    def _listen(self) -> None:
        """Follow the fork server's reports: each kernel's holder forked (move it into its
        cgroup, then let it make the kernel) and each kernel ended."""
        for line in self.replies:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if "forked" in message:
                self._place(message["forked"], message["pid"])
            with self.lock:
                self.alive.discard(message.get("ended"))
                self.lock.notify_all()
        with self.lock:
            self.alive.clear()
            self.stopped = True
            self.lock.notify_all()

    def _place(self, name: str, pid: int) -> None:
        """Move kernel ``name``'s holder (``pid`` in the sandbox) into its cgroup before it makes
        the kernel, so that all of it counts against its submission; kill it if that fails."""
        try:
            holder = host_pid(self.sandbox, pid)
            for procs in self.cgroups.pop(name):
                Path(procs).write_text(str(holder))
        except (OSError, ForkServerFailed):
            with contextlib.suppress(ForkServerFailed):  # a server that is gone reports nothing more
                self._send({"kill": name})
            return
        with contextlib.suppress(ForkServerFailed):
            self._send({"go": name})

    def _send(self, message: dict) -> None:
        try:
            with self.writing:
                self.requests.write((json.dumps(message) + "\n").encode())
        except (BrokenPipeError, ValueError) as error:
            raise ForkServerFailed("the kernel fork server has stopped") from error

    def _wait(self, condition, seconds: float, failure: str) -> None:
        with self.lock:
            if not self.lock.wait_for(lambda: condition() or self.stopped, timeout=seconds) or not condition():
                raise ForkServerFailed(failure)

    def start(self, name: str, view: str, channel: Path, cgroup: list[str]) -> ForkedKernel:
        """Fork a kernel with the course view ``view``, talking over IPC sockets in ``channel``,
        in the cgroup whose ``cgroup.procs`` files are ``cgroup`` (none: rlimits only)."""
        connection, _ = write_connection_file(str(channel / "kernel.json"), transport="ipc",
                                              ip=str(channel / "kernel"), key=secrets.token_hex(32).encode())
        with self.lock:
            self.alive.add(name)
            self.cgroups[name] = cgroup
        self._send({"start": name, "connection": connection, "course": f"/grader/views/{view}",
                    "channel": str(channel), "memory": self.memory_bytes, "processes": self.processes})
        return ForkedKernel(self, name, connection)  # it comes up once the server has its imports

    def is_alive(self, name: str) -> bool:
        with self.lock:
            return name in self.alive

    def kill(self, name: str) -> None:
        """Kill kernel ``name`` and wait until every process of it has ended, so that the next
        kernel never runs beside anything of it."""
        if self.is_alive(name):
            self._send({"kill": name})
        self._wait(lambda: name not in self.alive, KILL_SECONDS,
                   f"kernel {name} did not end within {KILL_SECONDS} s of being killed")

    def close(self) -> None:
        """Close the requests: the fork server then kills its kernels and ends (the grader kills
        its sandbox afterwards in any case)."""
        self.requests.close()


def host_pid(sandbox: int, pid: int) -> int:
    """The host's pid of the fork server's child ``pid`` (its number in the sandbox): bubblewrap
    (``sandbox``) runs the sandbox's first process, which runs the fork server. The kernel's
    lists of children may miss one while others fork or exit, so they are read again a while."""
    for _ in range(200):
        server = next(iter(_children(next(iter(_children(sandbox)), 0))), 0)
        for child in _children(server):
            try:
                status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            numbers = next(line for line in status.splitlines() if line.startswith("NSpid:")).split()[1:]
            if numbers[-1] == str(pid):
                return child
        time.sleep(0.005)
    raise ForkServerFailed(f"the fork server's child {pid} is not there")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:  # gone, or no pid yet
        return []


class ForkedKernel:
    """What nbval needs of a kernel manager, for a kernel forked by a :class:`ForkServer`."""

    def __init__(self, server: ForkServer, name: str, connection: str) -> None:
        self.server, self.name, self.connection_file = server, name, connection

    def client(self) -> BlockingKernelClient:
        client = BlockingKernelClient(connection_file=self.connection_file)
        client.load_connection_file()
        return client

    def is_alive(self) -> bool:
        return self.server.is_alive(self.name)

    def interrupt_kernel(self, client: BlockingKernelClient) -> None:
        """An ``interrupt_request`` on the control channel (a signal could not reach it)."""
        client.control_channel.send(client.session.msg("interrupt_request", content={}))

    def kill(self) -> None:
        self.server.kill(self.name)


# What a fork server may import ahead: libraries whose import does not depend on what setup
# code does first (Triton, for one, reads TRITON_INTERPRET, which a chapter's setup sets).
PRELOADABLE = {"math", "numpy", "torch", "torch.nn", "torch.nn.functional", "matplotlib", "matplotlib.pyplot"}


def imported_modules(sources: list[str]) -> list[str]:
    """The modules among :data:`PRELOADABLE` that the grader's own setup code imports: the fork
    server imports these ahead (never the course package: each kernel imports its own view)."""
    found: list[str] = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [])
            found += [name for name in names if name in PRELOADABLE and name not in found]
    return found
