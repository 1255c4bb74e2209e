"""pytest plugin that adapts nbval to grading; it runs in the grader's process, never in the kernel.

Loaded with ``-p autograder.nbval_plugin`` next to ``--nbval``. It
- starts the learner's kernel in an empty scratch directory, without the grader's ``PYTHONPATH``;
- removes the grading notebook (which holds the golden outputs) once nbval has read it;
- compares check cells by their payloads with a numeric tolerance instead of exact text;
- notices a dead kernel at once instead of waiting for the cell timeout;
- writes one JSON record per cell (role, outcome, reason, payloads) to ``--grader-report``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from queue import Empty
from types import MethodType

import nbval.plugin
import pytest
from nbval.kernel import RunningKernel, start_new_kernel

from attn.payload import CHECK_MIME, compare_payloads

_kernel_cwd: str | None = None
_records: list[dict] = []
_timed_out: set[str] = set()  # exercises with a check that timed out: their other checks are skipped


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("autograder")
    group.addoption("--grader-report", required=True, help="where to write the per-cell JSON report")
    group.addoption("--grader-kernel-cwd", required=True, help="empty scratch directory for the kernel")


def pytest_configure(config: pytest.Config) -> None:
    global _kernel_cwd
    _kernel_cwd = config.getoption("--grader-kernel-cwd")
    nbval.plugin.RunningKernel = GraderKernel


class GraderKernel(RunningKernel):
    """nbval's kernel, started in the scratch directory, and quick to notice that it died."""

    def __init__(self, kernel_name: str, cwd: str | None = None, startup_timeout: int = 60) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env["PYTHONHASHSEED"] = "0"
        self.km, self.kc = start_new_kernel(
            startup_timeout=startup_timeout,
            kernel_name=kernel_name,
            stderr=open(os.devnull, "w"),
            cwd=_kernel_cwd,
            env=env,
        )
        self._ensure_iopub_up()

    def get_message(self, stream: str, timeout: float | None = None) -> dict:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.25 if deadline is None else max(0.0, min(0.25, deadline - time.monotonic()))
            try:
                return super().get_message(stream, timeout=wait)
            except Empty:
                if not self.is_alive() or (deadline is not None and time.monotonic() >= deadline):
                    raise

    def interrupt(self) -> None:
        if self.is_alive():
            super().interrupt()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give check cells the tolerant comparison, and delete the notebook nbval has now read."""
    for item in items:
        role = item.cell.metadata.get("grader", {}).get("role")
        if role == "check":
            item.compare_outputs = MethodType(_compare_check, item)
        else:
            item.options["check"] = False
    for path in {Path(str(item.fspath)) for item in items}:
        path.unlink(missing_ok=True)


def _payloads(outputs: list) -> list[dict]:
    return [out["data"][CHECK_MIME] for out in outputs if CHECK_MIME in out.get("data", {})]


def _compare_check(item: pytest.Item, test: list, ref: list, skip_compare: object = None) -> bool:
    expected, got = _payloads(ref), _payloads(test)
    if len(expected) != len(got):
        item.grader_reason = f"expected {len(expected)} result(s) from this check, got {len(got)}"
    else:
        reasons = [compare_payloads(want, have) for want, have in zip(expected, got)]
        item.grader_reason = next((r for r in reasons if r), None)
    item.comparison_traceback = [item.grader_reason or ""]
    return item.grader_reason is None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.cell.metadata.get("grader", {}).get("exercise") in _timed_out:
        pytest.skip("an earlier cell of this exercise timed out")


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
        _timed_out.add(item.cell.metadata.get("grader", {}).get("exercise"))
    _records.append({
        **item.cell.metadata.get("grader", {}),
        "cell": item.cell_num,
        "outcome": _outcome(item, report),
        "reason": _reason(item, call),
        "payloads": _payloads(item.test_outputs or []),
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


def pytest_sessionfinish(session: pytest.Session) -> None:
    Path(session.config.getoption("--grader-report")).write_text(json.dumps(_records, indent=1))
