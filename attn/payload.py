"""Describe a function's result as plain JSON, and compare two descriptions with a tolerance.

The public self-checks and the hidden grader checks share this module, so a learner's
result is judged the same way in both places. A *payload* is a JSON-ready dict:

- ``{"type": "array", "library": "numpy" | "torch", "shape": [...], "dtype": "float32", "values": [...]}``
- ``{"type": "number", "value": 1.5}`` for Python and NumPy scalars
- ``{"type": "sequence", "items": [payload, ...]}`` for tuples and lists
- ``{"type": "error", "error": "ValueError: ..."}`` when the function raised
- ``{"type": "none"}``, ``{"type": "bool", "value": true}``, ``{"type": "str", "value": "..."}``
- ``{"type": "other", "name": "<type name>"}`` for anything else
"""

from __future__ import annotations

import contextlib
import io
import math
import sys
from typing import Any, Callable

# (rtol, atol) by dtype: loose enough for another order of float operations, tight enough
# that a result 1% off fails for every value of magnitude 0.2 or more (down to 1e-4 for
# float32, 1e-7 for float64); the absolute part keeps values near zero from failing on noise.
TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-6, 1e-9),
    "float32": (1e-4, 1e-6),
    "float16": (5e-3, 1e-4),
    "bfloat16": (5e-3, 1e-3),
}
DEFAULT_TOLERANCE = (1e-6, 1e-9)


MAX_MESSAGE = 2000  # characters of an error message a payload keeps
MAX_DEPTH = 20  # nesting of tuples and lists


def to_payload(value: Any, depth: int = 0) -> dict:
    """Describe ``value`` as a JSON-ready payload (see the module docstring).

    Only the base classes' own data counts: an ``ndarray`` or ``Tensor`` subclass, or an
    ``int``/``float``/``str``/``list`` subclass, cannot report another dtype, shape or value
    than the data it holds; types are read with ``type()``, never ``__class__``.
    """
    kind = type(value)
    np = sys.modules.get("numpy")  # no import: a value can only be NumPy's once NumPy is loaded
    if value is None:
        return {"type": "none"}
    if kind is bool or (np is not None and kind is np.bool_):  # neither can be subclassed
        return {"type": "bool", "value": bool(value)}
    if issubclass(kind, (int, float)) and not issubclass(kind, bool):
        number = float.__float__(value) if issubclass(kind, float) else int.__int__(value)
        return {"type": "number", "value": float(number)}
    if np is not None and issubclass(kind, (np.integer, np.floating)) and kind.__module__ == "numpy":
        return {"type": "number", "value": float(value)}  # NumPy's own scalars, not a subclass
    if issubclass(kind, str):
        return {"type": "str", "value": str.__str__(value)[:MAX_MESSAGE]}
    if np is not None and issubclass(kind, np.ndarray):
        base = np.ndarray.view(value, np.ndarray)
        return _array_payload("numpy", base.shape, str(base.dtype), base.astype(np.float64))
    torch = sys.modules.get("torch")  # no import: a NumPy-only notebook need not load PyTorch
    if torch is not None and issubclass(kind, torch.Tensor):  # nn.Parameter and other subclasses too
        return _tensor_payload(torch, value)
    if issubclass(kind, (tuple, list)) and depth < MAX_DEPTH:
        items = list(tuple.__iter__(value) if issubclass(kind, tuple) else list.__iter__(value))
        return {"type": "sequence", "items": [to_payload(item, depth + 1) for item in items]}
    return {"type": "other", "name": kind.__name__[:100]}


def _tensor_payload(torch: Any, value: Any) -> dict:
    """A tensor's payload from its own storage, with no subclass code run."""
    base_class = torch._C.TensorBase
    if getattr(type(value), "__torch_dispatch__", None) is not torch.Tensor.__torch_dispatch__:
        return {"type": "other", "name": type(value).__name__[:100]}  # a wrapper that fakes its data
    with torch._C.DisableTorchFunctionSubclass():
        plain = base_class.detach(value)
        dtype = str(base_class.dtype.__get__(plain)).removeprefix("torch.")
        shape = tuple(base_class.size(plain))
        as_float64 = base_class.numpy(base_class.double(base_class.cpu(plain)))
    return _array_payload("torch", shape, dtype, as_float64)


def _array_payload(library: str, shape: tuple, dtype: str, values: Any) -> dict:
    """``values``: the data as a float64 NumPy array."""
    return {
        "type": "array",
        "library": library,
        "shape": [int(n) for n in shape],
        "dtype": dtype,
        "values": values.ravel().tolist(),
    }


def call_quietly(function: Callable, *args: Any, **kwargs: Any) -> dict:
    """Call ``function`` with its own prints silenced; return the payload of its result or error."""
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            result = function(*args, **kwargs)
    except Exception as error:  # a learner's error is a result to report, not a crash
        return {"type": "error", "error": error_text(error)}
    return to_payload(result)


def is_payload(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is a well-formed payload (the grader receives payloads from the learner's
    kernel, where anything can be displayed; a malformed one must not reach the comparison).
    ``value`` is parsed JSON (nbformat's dict subclass, lists, str, numbers), never an object of
    the learner's, so ``isinstance`` is safe here."""
    if not isinstance(value, dict) or depth > MAX_DEPTH:
        return False
    kind = value.get("type")
    if kind == "array":
        shape, values = value.get("shape"), value.get("values")
        return (value.get("library") in ("numpy", "torch") and isinstance(value.get("dtype"), str)
                and isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)
                and isinstance(values, list) and len(values) == math.prod(shape)
                and all(_is_number(v) for v in values))
    if kind == "number":
        return _is_number(value.get("value"))
    if kind == "sequence":
        items = value.get("items")
        return isinstance(items, list) and all(is_payload(item, depth + 1) for item in items)
    if kind in ("error", "str", "other"):
        text = value.get({"error": "error", "str": "value", "other": "name"}[kind])
        return isinstance(text, str)
    if kind == "bool":
        return type(value.get("value")) is bool
    return kind == "none"


def _is_number(value: Any) -> bool:
    """A number as it arrives through the kernel's JSON messages, which write NaN and the
    infinities as the strings "nan", "inf" and "-inf" (or, elsewhere, as null)."""
    return type(value) in (int, float) or value is None or value in _NON_FINITE


_NON_FINITE = ("nan", "inf", "-inf")


def error_text(error: BaseException) -> str:
    """``Type: message``, cut to :data:`MAX_MESSAGE` characters (a message may be huge)."""
    try:
        message = str(error)
    except Exception:  # a learner's __str__ may raise too
        message = "(the exception's message could not be read)"
    if len(message) > MAX_MESSAGE:
        message = message[:MAX_MESSAGE] + " [cut]"
    return f"{type(error).__name__[:100]}: {message}"


def compare_payloads(expected: dict, got: dict, where: str = "") -> str | None:
    """Return ``None`` when ``got`` matches ``expected``, else a one-line reason a learner can act on."""
    if got.get("type") == "error":
        return f"{_at(where)}your code raised {got['error']}"
    if expected["type"] != got["type"]:
        return f"{_at(where)}expected {_kind(expected)}, got {_kind(got)}"
    kind = expected["type"]
    if kind == "array":
        return _compare_arrays(expected, got, where)
    if kind == "number":
        return _compare_numbers(expected["value"], got["value"], where)
    if kind == "sequence":
        if len(expected["items"]) != len(got["items"]):
            return f"{_at(where)}expected {len(expected['items'])} items, got {len(got['items'])}"
        for index, (want, have) in enumerate(zip(expected["items"], got["items"])):
            reason = compare_payloads(want, have, f"{where or 'result'}[{index}]")
            if reason:
                return reason
        return None
    if expected != got:
        return f"{_at(where)}expected {_kind(expected)} {expected.get('value', '')}, got {got.get('value', '')}"
    return None


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _kind(payload: dict) -> str:
    kind = payload["type"]
    if kind == "array":
        return "a NumPy array" if payload["library"] == "numpy" else "a torch tensor"
    if kind == "other":
        return f"an object of type {payload['name']}"
    return {"number": "a number", "sequence": "a tuple or list", "none": "None",
            "bool": "a bool", "str": "a string", "error": "an error"}[kind]


def _compare_arrays(expected: dict, got: dict, where: str) -> str | None:
    if expected["library"] != got["library"]:
        return f"{_at(where)}expected {_kind(expected)}, got {_kind(got)}"
    if expected["shape"] != got["shape"]:
        return f"{_at(where)}expected shape {tuple(expected['shape'])}, got {tuple(got['shape'])}"
    if expected["dtype"] != got["dtype"]:
        return f"{_at(where)}expected dtype {expected['dtype']}, got {got['dtype']}"
    want, have = _floats(expected["values"]), _floats(got["values"])
    if len(want) != len(have):  # a payload whose values do not fill its shape
        return f"{_at(where)}expected {len(want)} values, got {len(have)}"
    rtol, atol = TOLERANCES.get(expected["dtype"], DEFAULT_TOLERANCE)
    if all(_close(h, w, rtol, atol) for h, w in zip(have, want)):
        return None
    bad_nan = sum(math.isnan(h) and not math.isnan(w) for h, w in zip(have, want))
    if bad_nan:
        return f"{_at(where)}got NaN in {bad_nan} of {len(have)} entries where numbers were expected"
    bad_inf = sum(math.isinf(h) and not math.isinf(w) for h, w in zip(have, want))
    if bad_inf:
        return f"{_at(where)}got infinity in {bad_inf} of {len(have)} entries where finite numbers were expected"
    error = max((abs(h - w) for h, w in zip(have, want) if math.isfinite(h) and math.isfinite(w)), default=0.0)
    return f"{_at(where)}values differ, largest absolute error {error:.3g} (shape and dtype are right)"


def _floats(values: list) -> list[float]:
    """An array payload's values as floats (JSON may carry NaN as null or "nan")."""
    return [math.nan if value is None else float(value) for value in values]


def _close(have: float, want: float, rtol: float, atol: float) -> bool:
    """NumPy's ``isclose`` with ``equal_nan``: ``|have - want| <= atol + rtol * |want|``; NaN
    matches NaN, and an infinity only the same infinity."""
    if math.isnan(have) or math.isnan(want):
        return math.isnan(have) and math.isnan(want)
    if math.isinf(have) or math.isinf(want):
        return have == want
    return abs(have - want) <= atol + rtol * abs(want)


def _compare_numbers(want: float | None, have: float | None, where: str) -> str | None:
    rtol, atol = TOLERANCES["float32"]  # a Python number may come from float32 arithmetic
    want, have = (math.nan if value is None else float(value) for value in (want, have))  # "nan", null: NaN
    if math.isnan(want) and math.isnan(have):
        return None
    if math.isclose(have, want, rel_tol=rtol, abs_tol=atol):
        return None
    return f"{_at(where)}expected {want:.6g}, got {have:.6g}"
