"""pytest plugin that adapts nbval to grading; it runs in the grader's process, never in the kernel.

Loaded with ``-p autograder.nbval_plugin`` next to ``--nbval``. It
- starts a fresh kernel for each grading notebook, talking over IPC sockets in its own folder
  under ``--grader-channel``, limited by ``attn.grading.start_kernel``: with the sandbox, a
  fork of the run's fork server (``autograder.forked_kernels``), which runs in a bubblewrap
  sandbox, each fork in its submission's cgroup; the next notebooks' kernels start while one runs;
- caps the output a cell may send (printing in an endless loop cannot flood the grader);
- removes the grading notebook (which holds the golden outputs) once nbval has read it;
- compares check cells by their payloads with a numeric tolerance instead of exact text;
- notices a dead kernel at once instead of waiting for the cell timeout;
- appends one JSON record per cell (role, outcome, reason, payloads) to ``--grader-report``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty
from types import MethodType

import nbval.plugin
import pytest
import zmq
from jupyter_client import KernelManager
from nbval.kernel import NbvalKernelspecManager, RunningKernel

from attn.grading import CHECK_MIME
from attn.payload import compare_payloads, is_payload
from autograder.forked_kernels import ForkedKernel, ForkServer

_channel = ""
_report = ""
_sandbox = False
_notebooks: list[dict] = []  # by notebook, in the order they run: course view, launcher, owner, fork server
_owner_seconds = 0.0  # time each owner (submission) may take, from its first cell on
_cell_seconds = 0.0  # the cell time limit asked for (a cell near its submission's limit gets less)
_owner_started: dict[int, float] = {}
_file_index: dict[object, int] = {}
_memory_bytes = 0
_output_bytes = 0
_processes = 0
_timed_out: set[tuple[int, str]] = set()  # (notebook, exercise) with a cell that timed out: the rest is skipped
_exit_status = int(pytest.ExitCode.INTERNAL_ERROR)  # pytest's, once the session has finished


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--grader-report", required=True, help="where to append the per-cell JSON records")
    group.addoption("--grader-channel", required=True, help="folder for each kernel's connection file and sockets")
    group.addoption("--grader-sandbox", type=int, required=True, help="1: run each kernel in bubblewrap")
    group.addoption("--grader-notebooks", required=True,
                    help="JSON list, one per notebook: its course view, cgroup launcher, owner (submission) "
                         "and, with the sandbox, its view's name, cgroup and the run's fork server")
    group.addoption("--grader-owner-seconds", type=float, required=True, help="time limit of each submission")
    group.addoption("--grader-memory-mb", type=int, required=True, help="memory limit of each kernel process")
    group.addoption("--grader-output-kb", type=int, required=True, help="most output one cell may send")
    group.addoption("--grader-processes", type=int, required=True, help="process limit inside the kernel (0: none)")


def pytest_configure(config: pytest.Config) -> None:
    global _channel, _report, _sandbox, _notebooks, _owner_seconds, _memory_bytes, _output_bytes, _processes
    _channel = config.getoption("--grader-channel")
    _report = config.getoption("--grader-report")
    _notebooks = json.loads(config.getoption("--grader-notebooks"))
    _owner_seconds = config.getoption("--grader-owner-seconds")
    _sandbox = bool(config.getoption("--grader-sandbox"))
    _memory_bytes = config.getoption("--grader-memory-mb") * 2**20
    _output_bytes = config.getoption("--grader-output-kb") * 2**10
    _processes = config.getoption("--grader-processes")
    nbval.plugin.RunningKernel = GraderKernel
    launch_ahead()  # while pytest collects the notebooks
    _append({"role": "pytest", "configured": time.time()})


# The kernel limits itself before any learner code runs: see attn.grading.start_kernel.
START_KERNEL = "import sys; from attn.grading import start_kernel; start_kernel(sys.argv[1], *map(int, sys.argv[2:]))"


class LimitedKernelSpecs(NbvalKernelspecManager):
    """The current environment's Python kernel, with limits, after the cgroup launcher it is
    given (grading without the sandbox)."""

    def __init__(self, launcher: list[str]) -> None:
        super().__init__()
        self.launcher = launcher

    def get_kernel_spec(self, kernel_name: str):
        spec = super().get_kernel_spec(kernel_name)
        spec.argv = [*self.launcher, sys.executable, "-c", START_KERNEL, "{connection_file}", str(_memory_bytes),
                     str(_processes)]
        return spec


_servers: list[ForkServer] = []  # the run's fork server, once a kernel was asked of it


def _server(notebook: dict) -> ForkServer:
    """The run's fork server (the grader started it, with every course view the notebooks
    need, and passed its pipes and pid)."""
    if not _servers:
        _servers.append(ForkServer(*notebook["server"], _memory_bytes, _processes))
    return _servers[0]


def launch_kernel(kernel_name: str = "python3") -> KernelManager | ForkedKernel:
    """Start the next notebook's fresh kernel, with a channel folder of its own and that
    notebook's view of the course package; do not wait for it."""
    global _kernels_launched
    index = _kernels_launched
    notebook = _notebooks[index]
    _kernels_launched += 1
    channel = Path(tempfile.mkdtemp(prefix="ipc-", dir=_channel))
    if _sandbox:
        return _server(notebook).start(str(index), notebook["view"], channel, notebook["cgroup"])
    manager = KernelManager(kernel_name=kernel_name, kernel_spec_manager=LimitedKernelSpecs(notebook["launcher"]),
                            transport="ipc", ip=str(channel / "kernel"),
                            connection_file=str(channel / "kernel.json"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no grader path
    env["PYTHONHASHSEED"] = "0"
    # No file of the grader's reaches the kernel: not even pytest's captured output.
    manager.start_kernel(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         cwd=str(channel), env=env)
    return manager


AHEAD = 2  # kernels started before they are needed
_kernels_launched = 0  # one per notebook, in the order the notebooks run
_launched: list[KernelManager | ForkedKernel] = []  # started ahead, oldest first
_context = zmq.Context()
_context.setsockopt(zmq.RECONNECT_IVL, 10)  # the client connects before the kernel is up: retry soon


def launch_ahead() -> None:
    """Keep :data:`AHEAD` kernels starting for the notebooks still to come."""
    while len(_launched) < AHEAD and _kernels_launched < len(_notebooks):
        _launched.append(launch_kernel())


class GraderKernel(RunningKernel):
    """nbval's kernel: sandboxed, over IPC, memory-limited, output-capped, quick to notice death.

    Every notebook gets a fresh kernel that no other notebook used; the next ones are started
    while this one runs, so kernel start-up overlaps with collecting and grading.
    """

    def __init__(self, kernel_name: str, cwd: str | None = None, startup_timeout: int = 60) -> None:
        self.output_sent: dict[str, int] = {}  # bytes of output per cell execution
        launch_ahead()
        self.index = _kernels_launched - len(_launched)
        self.km = _launched.pop(0)
        launch_ahead()
        self.kc = self.km.client()
        self.kc.context = _context
        self.kc.start_channels()
        started = time.monotonic()
        self._wait_until_ready(startup_timeout)
        _append({"role": "kernel", "notebook": self.index, "waited": round(time.monotonic() - started, 4)})

    def _wait_until_ready(self, seconds: float) -> None:
        """Wait for the kernel's reply to kernel_info on the shell channel and its idle status
        on IOPub, which tells that IOPub is connected too."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.is_alive():
                raise RuntimeError("the kernel ended as it started")
            request = self.kc.kernel_info()
            try:
                self.await_reply(request, timeout=1)
                self.await_idle(request, 1)
                return
            except Empty:
                continue
        raise RuntimeError(f"the kernel did not start within {seconds:g} seconds")

    def stop(self) -> None:
        """Kill the kernel: its pid namespace takes every process of it along (a forked kernel
        is waited for, so that the next notebook's never runs beside it; an unsandboxed one is
        not), and the grader removes the channel folder and the cgroup afterwards."""
        self.kc.stop_channels()
        if isinstance(self.km, ForkedKernel):
            self.km.kill()
        else:
            self.km.provisioner.process.kill()
        del self.km

    def get_message(self, stream: str, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.25 if deadline is None else max(0.0, min(0.25, deadline - time.monotonic()))
            try:
                return self._capped(super().get_message(stream, timeout=wait))
            except Empty:
                if not self.is_alive() or (deadline is not None and time.monotonic() >= deadline):
                    raise

    def _capped(self, message: dict) -> dict:
        """Drop the output of a cell past the output limit, keeping a note that it was cut."""
        kind, content = message["msg_type"], message["content"]
        if kind not in ("stream", "display_data", "execute_result"):
            return message
        parent = message["parent_header"].get("msg_id", "")
        size = len(json.dumps(content))
        sent = self.output_sent.get(parent, 0)
        self.output_sent[parent] = sent + size
        if sent + size <= _output_bytes:
            return message
        if kind == "stream":
            content["text"] = "" if sent > _output_bytes else "\n[output cut: over the grader's limit]\n"
        else:
            payload = content.get("data", {}).get(CHECK_MIME)
            error = {"type": "error", "error": f"OutputTooLarge: the result is over the grader's "
                                               f"{_output_bytes // 2**10} KB output limit",
                     "token": payload.get("token") if isinstance(payload, dict) else None}
            content["data"] = {CHECK_MIME: error} if payload is not None else {}
        return message

    def interrupt(self) -> None:
        if not self.is_alive():
            return
        if isinstance(self.km, ForkedKernel):
            self.km.interrupt_kernel(self.kc)
        else:
            super().interrupt()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give check cells the tolerant comparison, and delete the notebooks nbval has now read."""
    for item in items:
        _file_index.setdefault(item.parent, len(_file_index))
    for item in items:
        role = item.cell.metadata.get("grader", {}).get("role")
        if role == "check":
            item.compare_outputs = MethodType(_compare_check, item)
        else:
            item.options["check"] = False
    for path in {Path(str(item.fspath)) for item in items}:
        path.unlink(missing_ok=True)


MALFORMED = {"type": "other", "name": "malformed result"}  # what a forged, ill-formed payload becomes


def _payloads(outputs: list, token: str | None = None) -> list[dict]:
    """The check payloads among ``outputs``; with ``token``, only those the cell's own ``_check``
    displayed (a thread of an earlier exercise may display into this cell too), token removed."""
    found = [out["data"][CHECK_MIME] for out in outputs if CHECK_MIME in out.get("data", {})]
    if token is None:
        return found
    own = [{k: v for k, v in payload.items() if k != "token"} for payload in found
           if isinstance(payload, dict) and payload.get("token") == token]
    return [payload if is_payload(payload) else MALFORMED for payload in own]


def _token(item: pytest.Item) -> str | None:
    return item.cell.metadata.get("grader", {}).get("token")


def _compare_check(item: pytest.Item, test: list, ref: list, skip_compare: object = None) -> bool:
    expected, got = _payloads(ref), _payloads(test, _token(item))
    if len(expected) != len(got):
        item.grader_reason = f"expected {len(expected)} result(s) from this check, got {len(got)}"
    else:
        reasons = [compare_payloads(want, have) for want, have in zip(expected, got)]
        item.grader_reason = next((r for r in reasons if r), None)
    item.comparison_traceback = [item.grader_reason or ""]
    return item.grader_reason is None


def pytest_runtest_setup(item: pytest.Item) -> None:
    global _cell_seconds
    owner = _owner(item)
    left = _owner_seconds - (time.monotonic() - _owner_started.setdefault(owner, time.monotonic()))
    if left <= 0:  # this submission's time is up: its remaining cells are cut
        _write_record(item, {"outcome": "not-run", "reason": "time limit", "cut": True, "payloads": []})
        pytest.skip("the submission ran out of time")
    _cell_seconds = _cell_seconds or item.config.option.nbval_cell_timeout
    limit = min(_cell_seconds, math.ceil(left))
    item.grader_deadline_limits = limit < _cell_seconds  # a timeout then means the submission's time is up
    item.config.option.nbval_cell_timeout = limit  # nbval reads it per cell
    if _exercise_key(item) in _timed_out:
        pytest.skip("an earlier cell of this exercise timed out")


def _exercise_key(item: pytest.Item) -> tuple[int, str]:
    return _file_index[item.parent], item.cell.metadata.get("grader", {}).get("exercise")


def _owner(item: pytest.Item) -> int:
    return _notebooks[_file_index[item.parent]]["owner"]


def _write_record(item: pytest.Item, record: dict) -> None:
    """Append one cell's record, as it ends: a run cut short keeps what it has."""
    _append({**item.cell.metadata.get("grader", {}), "cell": item.cell_num,
             "notebook": _file_index[item.parent], "owner": _owner(item), **record})


def _append(record: dict) -> None:
    with open(_report, "a", encoding="utf-8") as lines:
        lines.write(json.dumps({**record, "at": time.time()}) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    item.grader_kernel_was_dead = not item.parent.kernel.is_alive()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    if _timed_out_alive(item, call):
        _timed_out.add(_exercise_key(item))
        if item.grader_deadline_limits:  # not an endless loop: the submission ran out of time
            _write_record(item, {"outcome": "not-run", "reason": "time limit", "cut": True, "payloads": []})
            return
    _write_record(item, {
        "outcome": _outcome(item, report),
        "reason": _reason(item, call),
        "payloads": _payloads(item.test_outputs or [], _token(item)),
        "seconds": round(call.duration, 3),
    })


def _outcome(item: pytest.Item, report: pytest.TestReport) -> str:
    if getattr(item, "grader_kernel_was_dead", False):
        return "not-run"
    if report.passed:
        return "passed"
    if report.failed or hasattr(report, "wasxfail"):
        return "failed"
    return "not-run"


def _reason(item: pytest.Item, call: pytest.CallInfo) -> str | None:
    if call.excinfo is None:
        return None
    if getattr(item, "grader_reason", None):
        return item.grader_reason
    message = str(call.excinfo.value)
    if _timed_out_alive(item, call):
        return f"did not finish within {float(item.config.option.nbval_cell_timeout):g} seconds (an endless loop?)"
    if "Timeout" in message:
        return "the kernel stopped while running this cell (did the code call exit() or os._exit(), or crash?)"
    errors = [out for out in item.test_outputs or [] if out.get("output_type") == "error"]
    if errors:
        return f"your code raised {errors[-1]['ename']}: {errors[-1]['evalue']}".rstrip(": ")
    return message.splitlines()[0] if message else "failed"


def _timed_out_alive(item: pytest.Item, call: pytest.CallInfo) -> bool:
    """Whether the cell ran out of time while the kernel stayed alive (nbval interrupted it)."""
    return call.excinfo is not None and "Timeout" in str(call.excinfo.value) and item.parent.kernel.is_alive()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    for manager in _launched:  # started ahead for a notebook that never ran
        if isinstance(manager, KernelManager):
            manager.shutdown_kernel(now=True)
    for server in _servers:
        server.close()
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process as soon as pytest is done: every record is written, and the grader kills
    whatever is left; the interpreter's own shutdown (ZMQ contexts, client threads) is not waited for."""
    sys.stdout.flush()
    os._exit(_exit_status)
