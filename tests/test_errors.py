"""attn.errors.show_error prints a deliberate error as a reader needs it: type, message, the
line that raised it and the line that called it, with no file path and no library frame."""

from __future__ import annotations

import torch

from attn.errors import show_error
from conftest import ROOT


class Reshaper(torch.nn.Module):
    def forward(self, x):
        return x.reshape(3, 7)


def test_an_error_inside_a_module_shows_the_learners_lines(capsys):
    with show_error():
        Reshaper()(torch.zeros(2, 5))
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "RuntimeError: shape '[3, 7]' is invalid for input of size 10"
    assert shown[1].split() == ["raised", "by:", "return", "x.reshape(3,", "7)", "(in", "forward)"]
    assert shown[2] == "  called here: Reshaper()(torch.zeros(2, 5))"
    assert len(shown) == 3 and str(ROOT) not in "\n".join(shown) and "torch/" not in "\n".join(shown)


def test_code_run_with_exec_is_named_by_its_line(capsys):
    namespace: dict = {}
    exec("def root(x):\n    return math.sqrt(x)\n", namespace)
    with show_error():
        namespace["root"](2.0)
    shown = capsys.readouterr().out
    assert shown.startswith("NameError: name 'math' is not defined\n")
    assert "line 2 of code run with exec   (in root)" in shown


def test_no_error_is_said_too(capsys):
    with show_error():
        torch.zeros(2).reshape(1, 2)
    assert capsys.readouterr().out == "no error was raised\n"
