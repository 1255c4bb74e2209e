"""The payload comparison that both the self-checks and the grader rely on."""

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

from attn.payload import call_quietly, compare_payloads, to_payload
from attn.selfcheck import Case, check_exercise


def compare(expected, got):
    return compare_payloads(to_payload(expected), to_payload(got))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_another_order_of_operations_matches(dtype):
    rng = np.random.default_rng(0)
    K, q = rng.normal(size=(50, 64)).astype(dtype), rng.normal(size=64).astype(dtype)
    assert compare(K @ q, np.einsum("md,d->m", K, q)) is None
    assert compare(K @ q, np.array([sum(k * q) for k in K], dtype=dtype)) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_percent_off_fails(dtype):
    values = np.linspace(0.1, 2.0, 7).astype(dtype)
    assert "values differ" in compare(values, values * dtype(1.01))


def test_shape_dtype_library_and_type_are_reported():
    values = np.ones(3)
    assert "expected shape (3,), got (3, 1)" in compare(values, values.reshape(3, 1))
    assert "expected dtype float64, got float32" in compare(values, values.astype(np.float32))
    assert "expected a NumPy array, got a torch tensor" in compare(values, torch.ones(3, dtype=torch.float64))
    assert "expected a NumPy array, got a tuple or list" in compare(values, [1.0, 1.0, 1.0])


def test_nan_where_numbers_expected():
    assert "got NaN in 1 of 2" in compare(np.array([0.5, 0.5]), np.array([0.5, np.nan]))
    assert compare(np.array([np.nan]), np.array([np.nan])) is None


def test_sequences_and_numbers():
    assert compare((np.ones(2), 3.0), (np.ones(2), 3.0)) is None
    assert compare((np.ones(2), 3.0), (np.ones(2), 3.1)) == "result[1]: expected 3, got 3.1"
    assert "expected 2 items, got 1" in compare((1.0, 2.0), (1.0,))


def test_torch_tensors_keep_their_dtype():
    payload = to_payload(torch.arange(6, dtype=torch.bfloat16).reshape(2, 3))
    assert payload["library"] == "torch" and payload["dtype"] == "bfloat16" and payload["shape"] == [2, 3]


def test_tensor_subclasses_are_tensors():
    weight = torch.nn.Parameter(torch.ones(2, 3))
    assert to_payload(weight)["library"] == "torch" and to_payload(weight)["shape"] == [2, 3]
    assert "values differ" in compare(weight, torch.nn.Parameter(torch.full((2, 3), 2.0)))


def test_call_quietly_swallows_prints_and_reports_errors():
    def noisy(x):
        print("debugging", x)
        return x * 2

    sink = io.StringIO()
    with redirect_stdout(sink):
        assert call_quietly(noisy, 2.0) == {"type": "number", "value": 4.0}
        assert call_quietly(lambda: 1 / 0) == {"type": "error", "error": "ZeroDivisionError: division by zero"}
    assert sink.getvalue() == ""


def run_self_check(function):
    sink = io.StringIO()
    cases = [Case("doubles", (np.array([1.0, 2.0]),), np.array([2.0, 4.0])),
             Case("keeps float32", (np.array([1.0], dtype=np.float32),), np.array([2.0], dtype=np.float32))]
    with redirect_stdout(sink):
        check_exercise("00.double", function, cases)
    message = sink.getvalue()
    return message.startswith("✓"), message


def test_self_check_messages():
    def stub(x):
        raise NotImplementedError

    assert run_self_check(lambda x: x * 2) == (True, "✓ 00.double: all 2 checks pass. Well done!\n")
    passed, message = run_self_check(stub)
    assert not passed and "not implemented yet" in message
    passed, message = run_self_check(lambda x: x.astype(np.float64) * 2)
    assert not passed and "1 of 2 checks pass" in message and "keeps float32: expected dtype float32" in message
    passed, message = run_self_check(lambda x: x.undefined)
    assert not passed and "your code raised AttributeError" in message
    passed, message = run_self_check(None)
    assert not passed and "expected a function" in message


def test_well_formed_payloads_are_told_from_malformed_ones():
    import nbformat

    from attn.payload import is_payload

    result = (torch.ones(2, 3), [np.float32(1.5), None, "text", True], np.array([np.nan, np.inf]))
    assert is_payload(to_payload(result))
    assert is_payload(nbformat.from_dict(json.loads(json.dumps(to_payload(result)))))  # as nbval hands it over
    assert is_payload({"type": "array", "library": "numpy", "shape": [2], "dtype": "float64", "values": ["nan", "-inf"]})
    for forged in [{"type": "array", "library": "numpy", "shape": [3], "dtype": "float64", "values": [1.0]},
                   {"type": "array", "library": "numpy", "shape": "x", "dtype": "float64", "values": "abc"},
                   {"type": "sequence", "items": [1]}, {"type": "number", "value": "1e9"}, {"type": "oops"},
                   [{"type": "none"}], {"type": "error", "error": 3}]:
        assert not is_payload(forged), forged


def test_array_comparison_agrees_with_numpys_isclose_on_every_kind_of_value():
    """The grader compares arrays without NumPy (it need not load it): the verdict must be
    NumPy's ``allclose(..., equal_nan=True)`` for ordinary, tiny, huge, infinite and NaN values."""
    specials = [0.0, -0.0, 1e-12, 1.0, 1.00005, 1.0002, -3.5, 1e30, np.inf, -np.inf, np.nan]
    rtol, atol = 1e-4, 1e-6  # float32's
    for want in specials:
        for have in specials:
            expected = np.array([1.0, want], dtype=np.float32)
            got = np.array([1.0, have], dtype=np.float32)
            agrees = np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)
            assert (compare(expected, got) is None) == agrees, (want, have)


def test_values_that_do_not_fill_the_shape_are_a_clear_failure():
    expected = to_payload(np.zeros(3))
    short = {**expected, "values": [0.0, 0.0]}
    assert compare_payloads(expected, short) == "expected 3 values, got 2"
