"""Sphinx extension: how the chapters are executed by the build.

- **Per-cell times.** myst-nb executes notebooks through jupyter-cache without nbclient's
  ``record_timing``; this extension turns it on and writes how long each code cell ran to
  ``cell_times/<notebook>.json`` in the cache folder, with the code it ran (a test holds
  every cell to a time budget). The timing is then taken out of the cells' metadata again:
  jupyter-cache keys an execution on the cells' metadata too, so timestamps left in it
  would keep the cache from ever matching the notebook.
- **One cache per data state.** Chapter 9 fine-tunes only when the CoNLL-2003 data is there
  (``CONLL2003_DIR``). jupyter-cache keys an execution on the code alone, so a run made
  without the data would be reused by a build that has it. The cache therefore lives in
  ``_build/.jupyter_cache/conll2003-present`` or ``…/conll2003-absent``.
- **A summary first.** When a cell fails, times out or the kernel dies, the build prints
  one line (which notebook, which cell, why, what to do) before myst-nb's traceback, and
  the same lines again at the end of the build. A notebook that failed is read (and so
  executed) again by the next build, which therefore fails too until it is fixed.
"""

from __future__ import annotations

import contextvars
import functools
import json
from datetime import datetime
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
CURRENT_PATH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("notebook", default=None)
FAILURES: list[str] = []  # the summary lines of this build
FAILED_PATHS: set[Path] = set()  # the notebooks that failed in this build
CACHE: list[Path] = []  # the cache folder of this build, set when the configuration is read
ADVICE = {
    "CellTimeoutError": "a cell ran past `execute: timeout` in _config.yml; on a slow or busy "
                        "machine raise it, or run the chapter in JupyterLab to see the slow step",
    "DeadKernelError": "the kernel died, most often for lack of memory: close other programs "
                       "and build again",
}
OTHER_ADVICE = "run the chapter in JupyterLab from the top to see the error; the traceback follows"


def cache_folder(build_dir: Path) -> Path:
    """Where the build keeps its executions: one jupyter-cache per CoNLL-2003 data state."""
    from attn.conll import data_available

    state = "present" if data_available() else "absent"
    return build_dir / ".jupyter_cache" / f"conll2003-{state}"


def cell_seconds(cell: dict) -> float | None:
    """How long a code cell ran, from nbclient's timing metadata; None if it has none."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def failing_cell(notebook: dict) -> tuple[int, str] | None:
    """(position counted from 1, first line) of the cell that failed: the one with an error
    output, else the last one that started."""
    code = [(i + 1, cell) for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]
    with_error = [(i, cell) for i, cell in code
                  if any(output.get("output_type") == "error" for output in cell.get("outputs", []))]
    started = [(i, cell) for i, cell in code
               if cell.get("metadata", {}).get("execution", {}).get("iopub.execute_input")]
    found = (with_error or started or [None])[-1]
    if found is None:
        return None
    position, cell = found
    first_line = next((line for line in cell["source"].splitlines() if line.strip()), "")
    return position, first_line.strip()[:60]


def summary(path: Path | None, notebook: dict, error: BaseException) -> str:
    """One line: which notebook and cell failed, why, and what to do."""
    name = type(error).__name__
    why = f"{getattr(error, 'ename', '')}: {getattr(error, 'evalue', '')}".strip(": ") or name
    cell = failing_cell(notebook)
    where = f"cell {cell[0]} ({cell[1]!r})" if cell else "before any cell ran"
    todo = ADVICE.get(name, OTHER_ADVICE)
    return f"NOTEBOOK FAILED: {path.name if path else 'a notebook'}, {where}: {why[:120]}. {todo}."


def timed_execution(execute):
    """Wrap jupyter-cache's ``single_nb_execution``: record per-cell times, catch a dead
    kernel like a failed cell, and print the summary line before myst-nb's details."""

    @functools.wraps(execute)
    def run(notebook, *args, **kwargs):
        kwargs["record_timing"] = True
        try:
            result = execute(notebook, *args, **kwargs)
        except RuntimeError as error:  # nbclient's DeadKernelError, which jupyter-cache lets through
            from jupyter_cache.executors.utils import ExecutionResult

            result = ExecutionResult(notebook, kwargs.get("cwd"), 0.0, error, f"{type(error).__name__}: {error}")
        if result.err is not None:
            if CURRENT_PATH.get() is not None:
                FAILED_PATHS.add(Path(CURRENT_PATH.get()).resolve())
            line = summary(CURRENT_PATH.get(), notebook, result.err)
            FAILURES.append(line)
            LOGGER.error(line)
        record_cell_times(CURRENT_PATH.get(), notebook)
        return result

    return run


def record_cell_times(path: Path | None, notebook: dict) -> None:
    """Write each code cell's run time beside the cache, then drop the timing metadata."""
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    if path is not None and CACHE:
        times = {"notebook": str(Path(path).resolve()), "sources": [cell["source"] for cell in code],
                 "seconds": [cell_seconds(cell) for cell in code]}
        target = CACHE[0] / "cell_times" / f"{Path(path).stem}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(times, indent=1) + "\n", encoding="utf-8")
    for cell in code:
        cell.get("metadata", {}).pop("execution", None)


def cell_times(cache: Path, path: Path) -> dict | None:
    """The recorded run times of the notebook at ``path``: its code cells' sources and seconds."""
    record = cache / "cell_times" / f"{path.stem}.json"
    return json.loads(record.read_text(encoding="utf-8")) if record.exists() else None


def remember_path(start_client):
    """Wrap myst-nb's cache client so that the wrapper above knows which notebook it runs."""

    @functools.wraps(start_client)
    def start(self):
        token = CURRENT_PATH.set(self.path)
        try:
            return start_client(self)
        finally:
            CURRENT_PATH.reset(token)

    return start


def use_cache_per_data_state(app: Sphinx, config: object) -> None:
    if not config.nb_execution_cache_path:
        config.nb_execution_cache_path = str(cache_folder(Path(app.outdir).parent))
    CACHE[:] = [Path(config.nb_execution_cache_path)]


def read_failed_again(app: Sphinx, env, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    """``env-get-outdated`` handler: the notebooks that failed last time are read again."""
    return sorted(name for name in getattr(env, "failed_notebooks", set()) if name in env.found_docs)


def remember_failures(app: Sphinx, env, docnames: list[str]) -> None:
    """``env-before-read-docs`` handler: forget the failures of what is read again, then
    (``env-updated``, below) remember this build's."""
    env.failed_notebooks = getattr(env, "failed_notebooks", set()) - set(docnames)


def store_failures(app: Sphinx, env) -> list[str]:
    env.failed_notebooks = getattr(env, "failed_notebooks", set()) | {
        name for path in FAILED_PATHS if (name := env.path2doc(str(path))) is not None}
    return []


def repeat_failures(app: Sphinx, exception: Exception | None) -> None:
    for line in FAILURES:
        LOGGER.error(line)


def setup(app: Sphinx) -> dict:
    from myst_nb.core.execute import cache

    if not getattr(cache.single_nb_execution, "__wrapped__", None):
        cache.single_nb_execution = timed_execution(cache.single_nb_execution)
        cache.NotebookClientCache.start_client = remember_path(cache.NotebookClientCache.start_client)
    app.connect("config-inited", use_cache_per_data_state)
    app.connect("env-get-outdated", read_failed_again)
    app.connect("env-before-read-docs", remember_failures)
    app.connect("env-updated", store_failures)
    app.connect("build-finished", repeat_failures)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
