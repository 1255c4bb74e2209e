"""Show a deliberate error the way a reader needs it: its type, its message and the line of
the notebook that raised it, without file paths or the frames inside libraries.

    with show_error():
        flawed(ordinary_input)

prints, for example::

    RuntimeError: shape '[2, 10, 8]' is invalid for input of size 1280
      raised by:   out = out.transpose(1, 2).reshape(batch, n, self.d_head)   (in forward)
      called here: flawed(ordinary_input)
"""

from __future__ import annotations

import linecache
import sysconfig
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

ATTN = Path(__file__).resolve().parent
LIBRARY_DIRS = tuple({str(Path(sysconfig.get_path(name)).resolve())
                      for name in ("stdlib", "platstdlib", "purelib", "platlib")} | {str(ATTN)})


def is_library(filename: str) -> bool:
    """Whether ``filename`` belongs to Python, an installed package or ``attn``."""
    return str(Path(filename).resolve()).startswith(LIBRARY_DIRS) if filename[:1] != "<" else False


def source_line(frame: traceback.FrameSummary) -> str:
    """The text of the frame's line, or where it was when no source is kept (``exec``)."""
    text = frame.line or linecache.getline(frame.filename, frame.lineno or 0).strip()
    return text or f"line {frame.lineno} of code run with exec"


def describe(error: BaseException, tb: TracebackType | None) -> str:
    """The error's type and message, the innermost line outside libraries, and the cell's line."""
    frames = [frame for frame in traceback.extract_tb(tb) if not is_library(frame.filename)]
    lines = [f"{type(error).__name__}: {error}"]
    if len(frames) > 1:
        lines.append(f"  raised by:   {source_line(frames[-1])}   (in {frames[-1].name})")
    if frames:
        lines.append(f"  called here: {source_line(frames[0])}")
    return "\n".join(lines)


@contextmanager
def show_error(expected: type[BaseException] = Exception) -> Iterator[None]:
    """Run the block; if it raises ``expected``, print the error briefly instead of failing."""
    try:
        yield
    except expected as error:
        print(describe(error, error.__traceback__))
    else:
        print("no error was raised")
