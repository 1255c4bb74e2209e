"""``python -m autograder gradescope``: build the autograder zip that Gradescope runs.

Gradescope's documented layout (https://gradescope-autograders.readthedocs.io/en/latest/specs/):
the zip holds ``setup.sh`` and ``run_autograder`` at its root and is unpacked into
``/autograder/source``; ``setup.sh`` installs what is needed once; ``run_autograder`` finds
the submission in ``/autograder/submission`` and writes ``/autograder/results/results.json``.
The zip carries the grader, the learner notebooks (the grader's own copy of each chapter),
the hidden checks and golden outputs, and never ``solutions/``.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

from autograder.notebooks import ROOT

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
set -euo pipefail
apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv bubblewrap
python3 -m venv /autograder/venv
cd /autograder/source
/autograder/venv/bin/pip install --quiet -r requirements.txt
"""

# Gradescope runs the submission as root next to the grader and its golden outputs: the
# kernel must run in bubblewrap, and grading refuses without it unless the zip was built
# with --no-sandbox.
RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission. (AUTOGRADER_ROOT and PYTHON exist for local tests.)
set -uo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
python="${PYTHON:-$root/venv/bin/python}"
cd "$root/source"
submission=$(find "$root/submission" -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | head -n 1)
mkdir -p "$root/results"
if [ -z "$submission" ]; then
  echo '{"score": 0, "max_score": 0, "output": "Not graded: no .ipynb file was submitted.", "tests": []}' > "$root/results/results.json"
  exit 0
fi
"$python" -m autograder grade "$submission" --results "$root/results/results.json" {sandbox}
exit 0
"""

INCLUDED = ["autograder", "attn", "book", "pyproject.toml", "requirements.txt"]
EXCLUDED_PARTS = {"__pycache__", ".ipynb_checkpoints", "_ext", "results", "misconceptions"}


def files_to_ship() -> list[Path]:
    """Every file the zip carries, relative to the repository root."""
    files = []
    for name in INCLUDED:
        path = ROOT / name
        candidates = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        files += [p.relative_to(ROOT) for p in candidates if not EXCLUDED_PARTS & set(p.parts)]
    return files


def run_script(sandbox: bool = True) -> str:
    """``run_autograder``: sandboxed grading, or, when the instructor chose so, without the sandbox."""
    return RUN.replace("{sandbox}", "--require-sandbox" if sandbox else "--no-sandbox")


def build_zip(target: Path, sandbox: bool = True) -> list[str]:
    """Write the autograder zip to ``target``; return the names inside it."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", SETUP), ("run_autograder", run_script(sandbox))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16  # executable, as Gradescope requires
            archive.writestr(info, text)
        for path in files_to_ship():
            archive.write(ROOT / path, path.as_posix())
        return archive.namelist()


def main(args: argparse.Namespace) -> int:
    target = Path(args.out)
    if target.exists() and not args.overwrite:
        print(f"{target} exists: pass --overwrite to replace it, or choose another --out")
        return 1
    if args.no_sandbox:
        print("Warning: this zip grades without the sandbox: a submission can read the golden outputs.")
    names = build_zip(target, sandbox=not args.no_sandbox)
    print(f"wrote {target} ({len(names)} files): upload it as the assignment's autograder on Gradescope")
    return 0
