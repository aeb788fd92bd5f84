"""Tests for the lesson-07 self-checks: right answers pass, typical mistakes fail with a hint, nothing crashes."""
import pytest
import torch

from gnc_teach.check import lesson07 as chk
from gnc_teach.models.deep_linear import train_deep_linear_ufm

F64 = torch.float64


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


def one_layer(n, lam_W, lam_H):
    r = train_deep_linear_ufm(n, M=1, lam_W=lam_W, lam_H=lam_H, restarts=1, device="cpu")
    return r.layers[0], r.H


def deep(n, lam_W, lam_H, M):
    r = train_deep_linear_ufm(n, M=M, lam_W=lam_W, lam_H=lam_H, device="cpu")
    return r.layers, r.H


def stub(*args):
    raise NotImplementedError


def test_training_check_passes_the_right_answer_and_fails_stubs(capsys):
    assert chk.deep_linear_training(one_layer).passed
    assert "✅" in capsys.readouterr().out
    res = chk.deep_linear_training(stub)
    assert not res.passed and "not implemented" in res.message
    assert "pair" in chk.deep_linear_training(lambda *a: 42).message
    assert not chk.deep_linear_training(42).passed


def test_training_check_mistakes():
    def unconverged(n, lam_W, lam_H):
        W, H = one_layer(n, lam_W, lam_H)
        return W * (1 + 1e-3), H
    res = chk.deep_linear_training(unconverged)
    assert not res.passed and "gradient norm" in res.message

    def transposed(n, lam_W, lam_H):
        W, H = one_layer(n, lam_W, lam_H)
        return W, H.T
    assert "rows" in chk.deep_linear_training(transposed).message

    def nan(n, lam_W, lam_H):
        W, H = one_layer(n, lam_W, lam_H)
        return W * float("nan"), H
    assert "NaN" in chk.deep_linear_training(nan).message

    def shuffled(n, lam_W, lam_H):   # features of the right model, rows in the wrong class order
        W, H = one_layer(n, lam_W, lam_H)
        return W, H.flip(0)
    assert not chk.deep_linear_training(shuffled).passed


def test_global_minimum_judge():
    res = chk.global_minimum(deep)
    assert res.passed and "all 4 instances" in res.message

    def single_small_run(n, lam_W, lam_H, M):   # one restart from a small start: a spurious minimum
        r = train_deep_linear_ufm(n, M=M, lam_W=lam_W, lam_H=lam_H, restarts=1, init_scale=0.2, device="cpu")
        return r.layers, r.H
    res = chk.global_minimum(single_small_run)
    assert not res.passed and "higher minimum" in res.message and "compare the objective" in res.message
    assert "M=3" in chk.global_minimum(lambda n, a, b, M: deep(n, a, b, 2) if M == 3 else deep(n, a, b, M)).message
    assert "not implemented" in chk.global_minimum(stub).message


def test_global_minimum_time_budget():
    # the budget is the check's time limit for the student's code (gnc_teach.check._core): the run is stopped
    res = chk.global_minimum(deep, budget=1e-9)
    assert not res.passed and "took longer than 1e-09 s" in res.message
    assert not chk.global_minimum(deep, budget=-1).passed
