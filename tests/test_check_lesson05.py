"""Tests for the lesson-05 self-checks: right answers pass, typical mistakes fail with a hint, nothing crashes."""
import math

import pytest
import torch
import torch.nn.functional as F

from gnc_teach.check import lesson05 as chk


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


def floor(K, tau):
    return math.log1p((K - 1) * math.exp(-K / ((K - 1) * tau)))


def stub(*args, **kwargs):
    raise NotImplementedError


def test_ce_floor(capsys):
    assert chk.ce_floor(floor).passed
    assert "✅" in capsys.readouterr().out
    res = chk.ce_floor(stub)
    assert not res.passed and "not implemented" in res.message
    # the crude bound with 2/tau (every gap >= -2/tau) is valid but not the smallest loss
    res = chk.ce_floor(lambda K, tau: math.log1p((K - 1) * math.exp(-2 / tau)))
    assert not res.passed and "not the smallest loss" in res.message
    # a value too large is not a lower bound
    res = chk.ce_floor(lambda K, tau: math.log1p((K - 1) * math.exp(-1 / tau)))
    assert not res.passed and "not a lower bound" in res.message
    # 0 is a lower bound, far from tight
    assert "not the smallest loss" in chk.ce_floor(lambda K, tau: 0.0).message
    for bad in (lambda K, tau: None, lambda K, tau: "x", lambda K, tau: torch.ones(2), lambda K, tau: math.nan, 42):
        assert not chk.ce_floor(bad).passed


def sgd_loop(model, X, y, *, epochs, batch_size, lr, weight_decay, seed, schedule=True):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    accs = []
    for epoch in range(epochs):
        for group in opt.param_groups:
            group["lr"] = 0.5 * lr * (1 + math.cos(math.pi * epoch / epochs)) if schedule else lr
        perm = torch.randperm(X.shape[0], generator=g)
        for i in range(0, X.shape[0], batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            accs.append(float((model(X).argmax(1) == y).float().mean()))
    return accs


def test_training_loop_accepts_a_correct_loop():
    res = chk.training_loop(sgd_loop)
    assert res.passed, res.message
    assert "rho/rho*" in res.message


def test_training_loop_mistakes():
    assert "not implemented" in chk.training_loop(stub).message
    # forgetting to reset the gradients (they accumulate): training falls apart or the outcome is worse
    def no_zero_grad(model, X, y, *, epochs, batch_size, lr, weight_decay, seed):
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
        out = []
        for _ in range(epochs):
            for i in range(0, X.shape[0], batch_size):
                F.cross_entropy(model(X[i:i + batch_size]), y[i:i + batch_size]).backward()
                opt.step()
            out.append(0.5)
        return out
    assert not chk.training_loop(no_zero_grad).passed
    # a loop that does not train
    assert "did not change" in chk.training_loop(lambda model, X, y, **kw: [0.1] * kw["epochs"]).message
    # wrong number of accuracies
    assert "shape" in chk.training_loop(lambda model, X, y, **kw: [0.5]).message
    # accuracies as percentages
    def percent(*a, **kw):
        return [100 * v for v in sgd_loop(*a, **kw)]
    assert "[0, 1]" in chk.training_loop(percent).message


def test_pairs_challenge_validates_before_training():
    assert "dict" in chk.pairs_challenge([1, 2]).message
    assert "fixed by the challenge" in chk.pairs_challenge({"d": 20}).message
    assert "epochs must be" in chk.pairs_challenge({"epochs": 500}).message
    assert "width must be" in chk.pairs_challenge({"width": 4096}).message
    assert "normalised classifier" in chk.pairs_challenge({"tau": None, "epochs": 1}).message
    assert not chk.pairs_challenge({"lr": -1.0, "epochs": 1}).passed        # train() refuses it: reported


def test_pairs_challenge_judges_the_outcome():
    res = chk.pairs_challenge({"tau": 1.0, "epochs": 3})
    assert not res.passed and "rho =" in res.message and "need >=" in res.message
