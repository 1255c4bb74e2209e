"""Friendly public self-checks for the exercises in the notebooks.

A self-check runs a learner's function on a few public inputs and prints one short
verdict: all checks pass, not implemented yet, or which check failed and why, with the
likely mistake when a known wrong implementation gives the same results (the rule the
grader uses, :mod:`attn.diagnosis`). It also says when the exercise uses a name defined
outside its cell, which the grader, running only the setup cells and the exercise cell,
would not have. It never raises, so a notebook keeps running whatever state the exercise is in.

``selfcheck_data.json`` (written by ``python -m autograder release``) holds, per exercise,
the known wrong implementations' results on these public inputs (never their code), and per
chapter the names its setup cells define.
"""

from __future__ import annotations

import ast
import dis
import functools
import json
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from attn.diagnosis import best_match, describe
from attn.payload import call_quietly, compare_payloads, to_payload

DATA = Path(__file__).with_name("selfcheck_data.json")


@dataclass
class Case:
    """One public check: call the function with ``args`` and expect ``expected``."""

    name: str
    args: tuple
    expected: Any
    kwargs: dict = field(default_factory=dict)


def check_exercise(exercise_id: str, function: Callable, cases: list[Case]) -> None:
    """Run ``cases`` against ``function`` and print a short verdict; never raise."""
    if not callable(function):
        print(f"✗ {exercise_id}: expected a function, found {type(function).__name__}.\n"
              "  Run the exercise cell above first.")
        return
    failures, results, passed = [], {}, []
    for case in cases:
        got = call_quietly(function, *case.args, **case.kwargs)
        if got["type"] == "error" and got["error"].startswith("NotImplementedError"):
            print(f"… {exercise_id}: not implemented yet.\n"
                  "  Replace `raise NotImplementedError` with your code, run that cell, then this one.")
            return
        results[case.name] = [got]
        reason = compare_payloads(to_payload(case.expected), got)
        if reason:
            failures.append(f"  - {case.name}: {reason}")
        else:
            passed.append(case.name)
    outside = sorted({name for own in _learners_code(function, cases) for name in names_from_outside(exercise_id, own)})
    if outside:
        print(f"✗ {exercise_id}: uses {', '.join(outside)} from outside this cell; the grader runs only this cell "
              "and the setup cells.")
    if not failures:
        if not outside:
            print(f"✓ {exercise_id}: all {len(cases)} checks pass. Well done!")
        return
    print(f"✗ {exercise_id}: {len(passed)} of {len(cases)} checks pass.")
    print("\n".join(failures))
    failed = [name for name in results if name not in passed]
    match = best_match(results, failed, passed, _data().get("misconceptions", {}).get(exercise_id, []))
    if match:
        print(textwrap.fill(describe(match[0], exercise_id), width=88, initial_indent="  ", subsequent_indent="    "))


@functools.cache
def _data() -> dict:
    try:
        return json.loads(DATA.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # missing or unreadable: self-checks without diagnoses
        return {}


def _learners_code(function: Callable, cases: list[Case]) -> list[Callable]:
    """What to read for names from outside the exercise cell: the notebook's own functions and
    classes that the cases pass to ``function`` (a helper of the chapter that runs the learner's
    code, whose own names are none of the learner's business), else ``function`` itself."""
    passed = {id(value): value for case in cases for value in (*case.args, *case.kwargs.values())
              if isinstance(value, (types.FunctionType, type)) and getattr(value, "__module__", None) == "__main__"}
    return list(passed.values()) or [function]


def names_from_outside(exercise_id: str, function: Callable) -> list[str]:
    """The global names ``function`` uses that neither its exercise cell nor the chapter's
    setup cells define: names the grader's kernel would not have. Empty outside IPython, or
    when the exercise cell or the chapter's setup names are unknown."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    try:
        return _outside(shell, exercise_id, function)
    except Exception:  # an odd object or history: say nothing rather than break the self-check
        return []


def _outside(shell: Any, exercise_id: str, function: Callable) -> list[str]:
    setup = _data().get("setup_names", {}).get(exercise_id.split(".")[0])
    name = getattr(function, "__name__", None)
    if shell is None or setup is None or name is None:
        return []
    cell = next((source for source in reversed(shell.user_ns.get("In", [])) if name in _defines(source)), None)
    if cell is None:
        return []
    allowed = set(setup) | defined_names(cell) | set(getattr(shell, "user_ns_hidden", {}))
    namespace = getattr(function, "__globals__", shell.user_ns)
    return sorted(used for used in global_names(function) if used in namespace and used not in allowed)


def _defines(source: str) -> set[str]:
    try:
        return defined_names(source)
    except SyntaxError:  # a cell with IPython magics, say
        return set()


def defined_names(source: str) -> set[str]:
    """The names a cell binds at its top level: imports, definitions, assignments, loop targets."""
    names: set[str] = set()
    for statement in ast.parse(source).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(statement.name)
            continue
        for node in ast.walk(statement):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def global_names(obj: Any) -> set[str]:
    """The global names a function, or the methods of a class, load when they run."""
    if isinstance(obj, type):
        members = [getattr(member, "__func__", member) for member in vars(obj).values()]
        members += [part for member in vars(obj).values() if isinstance(member, property)
                    for part in (member.fget, member.fset, member.fdel)]
        codes = [member.__code__ for member in members if isinstance(member, types.FunctionType)]
    else:
        codes = [obj.__code__] if hasattr(obj, "__code__") else []
    names: set[str] = set()
    while codes:
        code = codes.pop()
        names.update(ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"))
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return names
