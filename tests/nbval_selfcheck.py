"""pytest plugin for `pytest --nbval-lax` on the instructor notebooks.

Besides nbval's own check that every cell runs, it fails a cell that writes to stderr
(a warning a reader would see) and a self-check cell whose verdict is not a pass.
"""

from __future__ import annotations

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.passed or not hasattr(item, "cell"):
        return
    streams = [out for out in item.test_outputs or [] if out.get("output_type") == "stream"]
    stderr = "".join(out["text"] for out in streams if out["name"] == "stderr")
    stdout = "".join(out["text"] for out in streams if out["name"] == "stdout")
    if stderr:
        report.outcome, report.longrepr = "failed", f"the cell wrote to stderr:\n{stderr}"
    elif "self-check" in item.cell.metadata.get("tags", []) and not stdout.startswith("✓"):
        report.outcome, report.longrepr = "failed", f"the self-check does not pass:\n{stdout}"
