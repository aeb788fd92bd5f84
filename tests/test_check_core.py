"""The self-check framework under nbgrader: strict mode while grading, nothing on stderr, no displayed value,
one-line failures, one torch thread. (Time limits: tests/test_reliability.py.)"""
from __future__ import annotations

import sys
import warnings

import pytest
import torch

from gnc_teach.check import CheckFailed, CheckResult, checker
from gnc_teach.check._core import Fail, call_student, strict


@checker
def returns_one(fn):
    if call_student(fn) != 1:
        raise Fail("not 1")
    return "is 1"


@pytest.fixture(autouse=True)
def no_strict_flags(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def test_strict_while_nbgrader_grades_or_validates(monkeypatch):
    assert not strict() and not returns_one(lambda: 2)
    for mode in ("autograde", "validate"):
        monkeypatch.setenv("NBGRADER_EXECUTION", mode)
        assert strict()
        with pytest.raises(CheckFailed, match="returns_one: not 1"):
            returns_one(lambda: 2)
        assert returns_one(lambda: 1)                      # a passing check never raises
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "0")     # explicitly off wins
    assert not strict() and not returns_one(lambda: 2)
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    monkeypatch.delenv("NBGRADER_EXECUTION")
    assert strict()


def test_a_failure_in_strict_mode_is_one_assertion_line_and_not_printed_twice(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(AssertionError) as err:
        returns_one(lambda: 2)
    assert isinstance(err.value, CheckFailed)
    lines = err.value._render_traceback_()
    assert len(lines) == 1 and "❌ returns_one: not 1" in lines[0]
    assert capsys.readouterr().out == ""


def test_warnings_and_stderr_of_the_student_code_stay_out_of_the_cell(capsys):
    def noisy():
        warnings.warn("careful", RuntimeWarning)
        print("progress", file=sys.stderr)
        return 1

    assert returns_one(noisy)
    out = capsys.readouterr()
    assert out.err == "" and "✅" in out.out

    def noisy_and_wrong():
        warnings.warn("divide by zero", RuntimeWarning)
        return 2
    r = returns_one(noisy_and_wrong)
    assert not r.passed and "your code also warned: RuntimeWarning: divide by zero" in r.message
    assert capsys.readouterr().err == ""


def test_a_printed_result_is_not_displayed_again(capsys):
    r = returns_one(lambda: 1)
    capsys.readouterr()
    r._ipython_display_()                                   # what Jupyter calls for a cell's value
    assert capsys.readouterr().out == ""
    CheckResult("x", True, "fine")._ipython_display_()      # one built by hand is shown
    assert "✅ x: fine" in capsys.readouterr().out


def test_checks_run_with_one_torch_thread():
    seen = []
    assert returns_one(lambda: seen.append(torch.get_num_threads()) or 1)
    assert seen == [1]
