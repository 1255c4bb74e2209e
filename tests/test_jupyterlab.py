"""JupyterLab in a real browser: a chapter notebook runs from top to bottom without an error.

The test starts ``jupyter lab`` on loopback with a token, in scratch folders, on a copy of a
chapter notebook (so nothing in ``book/`` is touched); headless Chromium opens the notebook,
runs all cells, and finds no error output and a figure. The server is shut down at the end,
its kernels with it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Browser

from conftest import CHAPTER, ROOT, SCREENSHOTS
LAB_SETTINGS = {
    # no requests for news or updates: the tests run offline
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    # every cell in the page, not only those in view, so that all of them can be inspected
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
# The status bar says "No Kernel | Initializing" (while the toolbar already says idle), then
# "Python 3 (ipykernel) | Connecting", "| Busy", and at last "| Idle": the kernel is ready.
KERNEL_IDLE = r"""() => [...document.querySelectorAll(".jp-StatusBar-TextItem")]
    .some(item => /^Python 3.* \| Idle$/.test(item.textContent.trim()))"""
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
DONE = r"""([cells, error]) => {
    const prompts = [...document.querySelectorAll(".jp-Notebook .jp-CodeCell .jp-InputPrompt")];
    const idle = document.querySelector(".jp-Notebook-ExecutionIndicator")?.dataset.status === "idle";
    const ran = prompts.length === cells && prompts.every(prompt => /^\[\d+\]:$/.test(prompt.textContent.trim()));
    return idle && (ran || document.querySelector(error) !== null);
}"""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(url: str, token: str, method: str = "GET") -> int:
    """The HTTP status of a call to the server's REST API."""
    call = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(call, timeout=10) as response:
        return response.status


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A JupyterLab server on 127.0.0.1 serving a copy of the chapter: (its URL, its token)."""
    root = tmp_path_factory.mktemp("jupyterlab")
    work = root / "work"
    work.mkdir()
    shutil.copy(ROOT / "book" / f"{CHAPTER}.ipynb", work)
    for name, values in LAB_SETTINGS.items():
        (root / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "settings" / name).write_text(json.dumps(values))
    env = {**os.environ, **{variable: str(root / folder) for variable, folder in [
        ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")]}}
    token, port = secrets.token_hex(16), free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={work}", *(["--allow-root"] if os.geteuid() == 0 else [])]
    log = root / "jupyterlab.log"
    with log.open("w") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if request(f"{url}/api/status", token) == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        yield url, token
        request(f"{url}/api/shutdown", token, method="POST")  # stops the kernels, then the server
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_chapter_runs_in_jupyterlab(lab: tuple[str, str], browser: Browser) -> None:
    """Run All Cells in JupyterLab executes every code cell, with no error output and a figure."""
    url, token = lab
    cells = sum(cell.cell_type == "code" for cell in nbformat.read(ROOT / "book" / f"{CHAPTER}.ipynb", 4).cells)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(60_000)
    page.goto(f"{url}/lab/tree/{CHAPTER}.ipynb?token={token}")
    page.wait_for_function(KERNEL_IDLE)  # not before: run requests sent earlier are lost

    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    page.wait_for_function(DONE, arg=[cells, ERROR_OUTPUT], timeout=120_000)

    errors = page.locator(ERROR_OUTPUT).all_inner_texts()
    assert not errors, errors
    figures = page.locator(".jp-OutputArea-output img")
    assert figures.count() > 0, "no figure appeared"
    figures.first.scroll_into_view_if_needed()
    assert figures.first.evaluate("image => image.complete && image.naturalWidth > 0")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "jupyterlab.png")
    page.close()
