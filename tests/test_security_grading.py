"""Attacks on how a grade is computed and reported: on the grading of the learner's own later
exercises, with objects that lie about themselves, and with feedback without bounds (issue 12).

Each test grades a real submission and asserts the exact outcome (see ``attacks.py``).
"""

from __future__ import annotations

import time
import uuid

import pytest

from autograder.assemble import load_chapter
from autograder.credit import all_or_nothing, credit
from autograder.notebooks import solution_sources
from conftest import CHAPTER, POINTS
from conftest import points_of as points_of_chapter
from attacks import MASKS, MASK_POINTS, REAL_KEYS, SOLVED, TOOLS, feedback_of, grade, points_of
from attacks import end_attack_processes  # noqa: F401 (autouse: ends what each attack left)


# --------------------------------------------------------------------------- one exercise breaks the next

STATE_PROBE = REAL_KEYS + '''
import sys

def decoder_mask(lengths, max_len, padding_side="right"):
    changed = [name for name, unchanged in [
        ("default dtype", torch.get_default_dtype() == torch.float32),
        ("grad mode", torch.is_grad_enabled()),
        ("threads", torch.get_num_threads() != 7),
        ("deterministic algorithms", not torch.are_deterministic_algorithms_enabled()),
        ("print options", torch._tensor_str.PRINT_OPTS.precision == 4),
        ("NumPy error handling", np.geterr() == {"divide": "warn", "over": "warn", "under": "ignore", "invalid": "warn"}),
        ("matmul precision", torch.get_float32_matmul_precision() == "highest"),
        ("trace function", sys.gettrace() is None),
    ] if not unchanged]
    if changed:
        raise RuntimeError("left over from an earlier exercise: " + ", ".join(changed))
    causal = torch.tril(torch.ones(max_len, max_len, dtype=torch.bool))
    return causal[None, :, :] & _real_keys(lengths, max_len, padding_side)[:, None, :]
'''

STATE_ATTACKS = {
    "torch, NumPy and interpreter settings": '''
torch.set_default_dtype(torch.float64)
torch.set_grad_enabled(False)
torch.set_num_threads(7)
torch.use_deterministic_algorithms(True)
torch.set_printoptions(precision=1)
torch.set_float32_matmul_precision("medium")
np.seterr(all="raise")
import sys

def _trace(frame, event, arg):
    if frame.f_code.co_name in ("masked_softmax", "masked_attention"):
        raise RuntimeError("tripped by an earlier exercise's trace function")
    return None

sys.settrace(_trace)
''',
    "hooks in the IPython shell": '''
_shell = get_ipython()
_later = []

def _rewrite(lines):  # an input transformer: it sees, and may change, every later cell's source
    text = "".join(lines)
    if "restore()" in text or "begin_exercise(" in text:  # the grader's cell before the next exercise
        _later.append(True)
    return ["pass\\n"] if _later and "_check(" in text else lines

def _patch_again(*args):  # runs before every later cell, after the grader's restore
    if _later:
        np.exp = lambda x: x * 0
        torch.softmax = lambda x, dim=None: x * 0

_publish = _shell.display_pub.publish

def _publish_nothing_later(data, *args, **kwargs):
    if not _later:
        return _publish(data, *args, **kwargs)

_shell.input_transformers_cleanup.append(_rewrite)
_shell.events.register("pre_run_cell", _patch_again)
_shell.display_pub.publish = _publish_nothing_later
''',
    "swapped code of the check helpers": '''
import attn.grading, attn.payload
_calls = 0
_solution = padding_mask

def padding_mask(lengths, max_len):
    global _calls
    _calls += 1
    if _calls == 4:  # while this exercise's last check runs: only the later checks are hit
        for _module in (attn.grading, attn.payload):
            for _name in ("reporter", "report", "call_quietly"):
                _function = getattr(_module, _name, None)
                if callable(_function) and getattr(_function, "__code__", None) is not None:
                    _function.__code__ = (lambda *args, **kwargs: None).__code__
    return _solution(lengths, max_len)
''',
    "a no-op restore, then patched libraries": '''
type(_grader_state).restore.__code__ = (lambda self: None).__code__
np.exp = lambda x: x * 0
torch.softmax = lambda x, dim=None: x * 0
''',
    "a thread that imitates check results, with and without the running check's token": '''
import re, sys, threading, time
from IPython.display import display
import attn.grading

def _token_of_running_check():
    check = getattr(sys.modules["__main__"], "_check", None)
    for cell in getattr(check, "__closure__", None) or ():
        if isinstance(cell.cell_contents, str) and re.fullmatch("[0-9a-f]{8,64}", cell.cell_contents):
            return cell.cell_contents
    history = getattr(sys.modules["__main__"], "In", None) or [""]
    found = re.findall("reporter[(].([0-9a-f]+)", history[-1])  # the running cell's source
    return found[-1] if found else None

def _later_exercise_running(main=threading.main_thread().ident):
    frame = sys._current_frames().get(main)
    while frame is not None:
        if frame.f_code.co_name in ("decoder_mask", "masked_softmax", "masked_attention"):
            return True
        frame = frame.f_back
    return False

def _imitate():
    while not _later_exercise_running():  # from the first check of the next exercise on
        time.sleep(0.001)
    fake = {"type": "array", "library": "torch", "shape": [0], "dtype": "bool", "values": []}
    for _ in range(5000):
        display({attn.grading.CHECK_MIME: {**fake, "token": _token_of_running_check()}}, raw=True)
        display({attn.grading.CHECK_MIME: fake}, raw=True)
        print("✓ all checks pass")
        time.sleep(0.002)

threading.Thread(target=_imitate, daemon=True).start()
''',
    "a thread that patches libraries again after the restore": '''
import threading, time

def _patch():
    for _ in range(20000):
        np.exp = lambda x: x * 0
        torch.softmax = lambda x, dim=None: x * 0
        time.sleep(0.001)

threading.Thread(target=_patch, daemon=True).start()
''',
}


@pytest.mark.parametrize("attack", list(STATE_ATTACKS))
def test_one_exercise_cannot_change_how_the_next_is_graded(make_submission, attack):
    solved = solution_sources(MASKS)
    sources = {**solved, "04.padding_mask": solved["04.padding_mask"] + STATE_ATTACKS[attack],
               "04.decoder_mask": STATE_PROBE}
    results = grade(make_submission(sources, MASKS))
    assert points_of(results) == MASK_POINTS, {test["name"]: test["output"] for test in results["tests"]}


# --------------------------------------------------------------------------- objects that lie

LYING_ARRAYS = '''
class _Float32(np.ndarray):
    """Says it is float32, holds float64."""
    dtype = property(lambda self: np.dtype(np.float32))

class _Flat(np.ndarray):
    """Says it is flat, holds one row."""
    shape = property(lambda self: (self.size,))

def softmax(s):
    exps = np.exp(s.astype(np.float64) - np.max(s))
    return (exps / np.sum(exps)).view(_Float32)

def soft_lookup(q, K, V):
    exps = np.exp(K @ q - np.max(K @ q))
    p = exps / np.sum(exps)
    return p, (p @ V)[None, :].view(_Flat)
'''


def honest_score(chapter: str, exercise_id: str, dtype: str, failing: bool) -> float:
    """The points of an honest answer that fails (``failing``) or passes only (not ``failing``)
    the hidden checks whose label names ``dtype``."""
    labels = [check.label for check in load_chapter(chapter).checks_for(exercise_id)]
    named = sum(dtype in label for label in labels)
    passed = len(labels) - named if failing else named
    points = points_of_chapter(chapter)[exercise_id]
    return credit(points, passed, len(labels), exercise_id in all_or_nothing(chapter))


def test_arrays_that_lie_about_dtype_or_shape_fail(make_submission):
    sources = {**SOLVED, "01.softmax": LYING_ARRAYS, "01.soft_lookup": LYING_ARRAYS}
    results = grade(make_submission(sources))
    # the honest arrays: float64 softmax fails only the float32 check; a (1, d_v) output fails every check
    assert points_of(results) == {**POINTS, "01.softmax": honest_score(CHAPTER, "01.softmax", "float32", True),
                                  "01.soft_lookup": 0}
    assert "dtype float32, got float64" in feedback_of(results, "01.softmax")
    assert "shape" in feedback_of(results, "01.soft_lookup")


LYING_TENSOR = '''
class _Claims(torch.Tensor):
    """A tensor that reports the dtype it was asked for, whatever it holds."""
    claimed = torch.float32
    dtype = property(lambda self: type(self).claimed)

def masked_attention(Q, K, V, mask):
    scale = Q.shape[-1] ** -0.5
    logits = (Q.double() @ K.double().transpose(-2, -1)) * scale
    logits = logits.masked_fill(~mask, float("-inf"))
    probs = torch.where(mask.any(dim=-1, keepdim=True), torch.softmax(logits, dim=-1), 0.0)
    out = probs @ V.double()
    if Q.dtype == torch.float64:
        return out
    _Claims.claimed = Q.dtype
    return torch.Tensor._make_subclass(_Claims, out)
'''


def test_a_tensor_that_lies_about_its_dtype_fails(make_submission):
    results = grade(make_submission({**solution_sources(MASKS), "04.masked_attention": LYING_TENSOR}, MASKS))
    # the honest float64 result passes only the float64 check
    assert points_of(results) == {**MASK_POINTS,
                                  "04.masked_attention": honest_score(MASKS, "04.masked_attention", "float64", False)}
    assert "dtype float32, got float64" in feedback_of(results, "04.masked_attention")


FORGED_PAYLOADS = '''
import attn.grading, attn.payload

_deep = {"type": "none"}
for _ in range(900):
    _deep = {"type": "sequence", "items": [_deep]}
_FORGED = [
    {"type": "array", "library": "numpy", "shape": [8], "dtype": "float64", "values": []},
    {"type": "array", "shape": "x", "values": "abc"},
    {"type": "number", "value": "NaN"},
    {"type": "sequence", "items": 5},
    {"type": ["unhashable"]},
    {"type": "error", "error": 12345},
    {"type": "array", "library": "numpy", "shape": [10**12], "dtype": "float64", "values": [0.5]},
    _deep,
]

def _forged(function, *args, **kwargs):
    return _FORGED.pop(0) if _FORGED else {"type": "none"}

for _module in (attn.grading, attn.payload):  # what builds a check's payload in the kernel
    if hasattr(_module, "call_quietly"):
        _module.call_quietly = _forged

def softmax(s):
    raise NotImplementedError
'''


def test_malformed_payloads_from_the_kernel_cost_only_their_exercise(make_submission):
    """The kernel is the learner's: whatever JSON it sends as a check's result, the grader
    grades (exit 0), and only that exercise loses its points."""
    results = grade(make_submission({**SOLVED, "01.softmax": FORGED_PAYLOADS}))
    assert points_of(results) == {**POINTS, "01.softmax": 0}


# --------------------------------------------------------------------------- feedback without bounds

def test_a_200_mb_exception_message_is_cut(make_submission):
    huge = 'raise ValueError("x" * 200_000_000)\n'
    started = time.monotonic()
    results = grade(make_submission({**SOLVED, "01.softmax": huge}))
    assert time.monotonic() - started < 40
    assert points_of(results) == {**POINTS, "01.softmax": 0}
    assert "ValueError" in feedback_of(results, "01.softmax")


HUGE_CHECK_RESULT = '''
from IPython.display import display
import attn.grading

def softmax(s):
    raise NotImplementedError

def _check(function, *args):  # the check cells call this name: a cut made in the kernel is skipped
    display({attn.grading.CHECK_MIME: {"type": "error", "error": "w" * 900_000}}, raw=True)
'''

HUGE_PER_CHECK = '''
_calls = 0

def soft_lookup(q, K, V):  # check after check: a huge message, then a result whose type has a huge name
    global _calls
    _calls += 1
    if _calls % 2:
        raise ValueError("y" * 900_000)
    return type("Z" * 500_000, (), {})()
'''


def test_huge_texts_in_every_check_are_cut(make_submission):
    sources = {"01.softmax": HUGE_CHECK_RESULT, "01.soft_lookup": HUGE_PER_CHECK}
    results = grade(make_submission(sources))
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert "ValueError" in feedback_of(results, "01.soft_lookup")


LEAKING_FILES = TOOLS + r'''
_texts = []
for _root in _roots("package") + _roots("environ") + _roots("cwd"):
    for _name in ("autograder/checks/01_query_key_value.py", "solutions/01_query_key_value.ipynb"):
        _texts.append(_read(os.path.join(_root, _name)) or "")
for _folder, _subfolders, _files in os.walk("/tmp"):
    if _folder.count(os.sep) > 7:
        _subfolders[:] = []
    _texts += [_read(os.path.join(_folder, _name)) or "" for _name in _files if _name == "host-secret.txt"]
_solution = json.loads(next((t for t in _texts if t.startswith("{")), "{}") or "{}")
_texts += ["".join(cell["source"]) for cell in _solution.get("cells", [])]

def softmax(s):
    raise RuntimeError("\n".join(_texts))
'''

LEAKING_HISTORY = '''
import inspect
_calls = 0

def soft_lookup(q, K, V):  # check after check: the history and the calling check's source, then
    global _calls          # the history with the spaces taken out and the lines joined
    _calls += 1
    if _calls % 2:
        caller = inspect.stack()[2].frame  # the hidden check cell that called us
        raise RuntimeError("\\n".join(In) + "\\n".join(inspect.getsource(caller).splitlines()))
    raise RuntimeError(";".join(line.replace(" ", "") for cell in In for line in cell.splitlines()))
'''


def test_exception_messages_cannot_carry_the_checks_solutions_or_files(make_submission, tmp_path):
    secret = f"secret-{uuid.uuid4().hex}"
    (tmp_path / "host-secret.txt").write_text(secret)
    sources = {"01.softmax": LEAKING_FILES, "01.soft_lookup": LEAKING_HISTORY}
    results = grade(make_submission(sources), secrets=(secret,))
    assert points_of(results) == {"01.softmax": 0, "01.soft_lookup": 0}
    assert "RuntimeError" in feedback_of(results, "01.softmax")
