"""Lesson-03 self-checks: pass on correct answers, fail (without crashing) on typical mistakes."""
import pytest
import torch

from gnc_teach import certify, check, geometry, hardmax as hm


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


A = certify.square_antiprism(device="cpu", dtype=torch.float64)   # rho 0.73880, the best known (K, d) = (8, 3)
NEAR = {e: geometry.perturb(A, e, seed=1) for e in (0.1, 0.05, 0.02, 0.005)}   # rho 0.662, 0.704, 0.726, 0.736


@pytest.mark.parametrize("results, passed, words", [
    ({1: NEAR[0.05], 0.2: NEAR[0.02], 0.05: A}, True, "recomputed"),
    ([(0.05, NEAR[0.005]), (1, NEAR[0.05]), (0.2, NEAR[0.02])], True, "rises"),
    ({1: NEAR[0.02], 0.2: NEAR[0.005], 0.05: NEAR[0.1]}, False, "drops"),          # rho falls at small tau
    ({1: NEAR[0.1], 0.2: NEAR[0.05], 0.05: NEAR[0.02]}, False, "below the best"),  # 0.726 < 0.7388 - 0.01
    ({1: NEAR[0.05], 0.5: NEAR[0.02], 0.2: A}, False, "τ ≤ 0.1"),                  # never reaches small tau
    ({1: NEAR[0.05], 0.2: A}, False, "at least 3"),
    ({1: 0.7309, 0.2: 0.7363, 0.05: 0.7386}, False, "not a number"),               # rho values, not W
    ({1: NEAR[0.05], 0.2: 2 * NEAR[0.02], 0.05: A}, False, "unit vectors"),
    ({1: NEAR[0.05], 0.2: NEAR[0.02][:7], 0.05: A}, False, "same K and d"),
    ({1: NEAR[0.05], -0.2: NEAR[0.02], 0.05: A}, False, "positive"),
    ({1: NEAR[0.05], 0.2: A * float("nan"), 0.05: A}, False, "NaN"),
    ("abc", False, "expected a dict"),
    ([(1, "a"), 2, 3], False, "tensor"),
    ([(1, A), 2, 3], False, "could not read"),
])
def test_tau_sweep_check(results, passed, words):
    res = check.tau_sweep(results)
    assert res.passed is passed, res.message
    assert words in res.message


def test_tau_sweep_check_recomputes_rho_and_accepts_a_sweep_object():
    sweep = hm.tau_sweep(4, 3, 2, [1.0, 0.3, 0.1], steps=200)          # K <= d+1: the simplex, rho 4/3
    assert check.tau_sweep(sweep).passed
    assert not check.tau_sweep(sweep, K=5, d=3).passed                 # the shapes must match K, d


def test_messages_never_print_the_reference_value():
    res = check.tau_sweep({1: NEAR[0.1], 0.2: NEAR[0.05], 0.05: NEAR[0.02]})
    assert "0.7388" not in res.message and "0.73880" not in res.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="tau_ce"):
        check.tau_ce(_stub)
