"""Lesson-03 self-checks: pass on correct answers, fail (without crashing) on typical mistakes."""
import pytest
import torch

from gnc_teach import check, hardmax as hm


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


def _stub(*args):
    raise NotImplementedError


def _naive_tau_ce(W, H, y, tau):  # overflows at small τ
    L = H @ W.T / tau
    return tau * (torch.log(torch.exp(L).sum(1)) - L.gather(1, y[:, None])[:, 0])


@pytest.mark.parametrize("fn, passed, words", [
    (hm.tau_ce, True, "τ·CE"),
    (lambda W, H, y, t: hm.tau_ce(W, H, y, t).numpy(), True, "τ·CE"),
    (lambda W, H, y, t: hm.hinge(W, H, y), False, "Hint"),
    (lambda W, H, y, t: hm.tau_ce(W, H, y, t).mean(), False, "one value per sample"),
    (lambda W, H, y, t: hm.ce_loss(W, H, y, t, reduction="none"), False, "τ"),
    (_naive_tau_ce, False, "logsumexp"),
    (_stub, False, "not implemented"),
    ("tau_ce", False, "expected a function"),
    (lambda *a: "x", False, "tensor"),
])
def test_tau_ce_check(fn, passed, words):
    res = check.tau_ce(fn)
    assert res.passed is passed
    assert words in res.message


@pytest.mark.parametrize("fn, passed, words", [
    (hm.hardmax_objective, True, "-ρ(W)"),
    (lambda W, H, y: hm.gaps(W, H, y).max(), False, "exclude j = y_i"),
    (lambda W, H, y: hm.sample_margins(W, H, y).min(), False, "Hint"),
    (lambda W, H, y: -hm.sample_margins(W, H, y), False, "single number"),
    (lambda W, H, y: -hm.sample_margins(W, H, y).mean(), False, "Hint"),
    (_stub, False, "not implemented"),
    (lambda W, H, y: None, False, "NoneType"),
])
def test_hardmax_objective_check(fn, passed, words):
    res = check.hardmax_objective(fn)
    assert res.passed is passed
    assert words in res.message


@pytest.mark.parametrize("results, passed, words", [
    ({1: 0.7309, 0.2: 0.7363, 0.05: 0.7386}, True, "rises"),
    ([(0.05, 0.7386), (1, 0.7309), (0.2, 0.7363)], True, "rises"),
    ({1: 0.7309, 0.2: 0.7363, 0.05: 0.70}, False, "drops"),
    ({1: 0.69, 0.2: 0.70, 0.05: 0.71}, False, "below the best"),
    ({1: 0.7309, 0.2: 0.7363}, False, "at least 3"),
    ({1: 0.73, 0.2: 0.74, 0.05: 1.3}, False, "proved bound"),
    ({1: 0.73, -0.2: 0.74, 0.05: 0.7386}, False, "positive"),
    ({1: 0.73, 0.2: float("nan"), 0.05: 0.7386}, False, "positive"),
    ("abc", False, "expected a dict"),
    ([(1, "a"), 2, 3], False, "could not read"),
])
def test_tau_sweep_check(results, passed, words):
    res = check.tau_sweep(results)
    assert res.passed is passed
    assert words in res.message


def test_tau_sweep_check_accepts_a_sweep_object_and_other_sizes():
    class Sweep:
        taus = [1.0, 0.5, 0.1]
        rho = [1.30, 1.32, 1.333]
    assert check.tau_sweep(Sweep(), K=4, d=3).passed
    assert not check.tau_sweep(Sweep(), K=8, d=3).passed  # above the K >= d+2 bound ρ <= 1


def test_messages_never_print_the_reference_value():
    res = check.tau_sweep({1: 0.69, 0.2: 0.70, 0.05: 0.71})
    assert "0.7388" not in res.message and "0.73880" not in res.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="tau_ce"):
        check.tau_ce(_stub)
