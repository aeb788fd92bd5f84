"""Lesson-03 self-checks: right answers pass, typical mistakes fail with a hint, nothing crashes."""
import functools
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gnc_teach import certify, check
from gnc_teach.check import lesson03 as chk
from gnc_teach.margins import rho

F64 = torch.float64
BEST = 1 - 1 / (1 + 2 * math.sqrt(2))        # the square antiprism


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


def _stub(*args, **kwargs):
    raise NotImplementedError


# ----------------------------------------------------------------------------- trainers
def _start(K, d, n, seed):
    g = torch.Generator().manual_seed(seed)
    W = F.normalize(torch.randn(K, d, generator=g, dtype=F64), dim=1)
    H = F.normalize(torch.randn(K * n, d, generator=g, dtype=F64), dim=1)
    return W, H, torch.arange(K).repeat_interleave(n)


def _tangent(X, G):
    return G - (G * X).sum(1, keepdim=True) * X


def annealed(K, d, n, tau, *, seed=0, steps=1000, lr=0.3):
    """Riemannian gradient descent on τ_t·log CE with τ_t annealed from 1 (a right answer)."""
    W, H, y = _start(K, d, n, seed)
    for s in range(steps):
        t = max(tau, tau ** (2 * s / steps))
        W, H = W.requires_grad_(), H.requires_grad_()
        L = H @ W.T
        rivals = torch.logsumexp(((L - L.gather(1, y[:, None])) / t).scatter(1, y[:, None], -math.inf), 1)
        gW, gH = torch.autograd.grad(t * torch.log(F.softplus(rivals).mean()), (W, H))
        eta = lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * s / steps)))
        with torch.no_grad():
            W, H = F.normalize(W - eta * _tangent(W, gW), dim=1), F.normalize(H - eta * _tangent(H, gH), dim=1)
    return W.detach(), H.detach()


def lesson_loop(K, d, n, tau, *, seed=0):
    """The lesson's plain RGD on CE with a fixed step, only τ changed: stalls at small τ."""
    W, H, y = _start(K, d, n, seed)
    for _ in range(300):
        W, H = W.requires_grad_(), H.requires_grad_()
        gW, gH = torch.autograd.grad(F.cross_entropy(H @ W.T / tau, y), (W, H))
        with torch.no_grad():
            W, H = F.normalize(W - 1.5 * _tangent(W, gW), dim=1), F.normalize(H - 1.5 * _tangent(H, gH), dim=1)
    return W.detach(), H.detach()


def _nudged(pair, eps=5e-4):
    """Every row moved by about eps: close to the optimum, but not at it."""
    g = torch.Generator().manual_seed(0)
    return tuple(F.normalize(X + eps * torch.randn(X.shape, generator=g, dtype=F64), dim=1) for X in pair)


def test_trainer_check_passes_a_right_answer_and_reports_the_excess(capsys):
    res = check.small_tau_trainer(annealed)
    assert res.passed, res.message
    assert "✅" in capsys.readouterr().out and "relative excess" in res.message


@pytest.mark.parametrize("fn, words", [
    (lesson_loop, "clearly below"),                                                   # stalls far away
    (lambda K, d, n, tau, seed=0: _nudged(annealed(K, d, n, tau, seed=seed)), "close"),  # not quite there
    (lambda K, d, n, tau, seed=0: tuple(x.float() for x in annealed(K, d, n, tau, seed=seed)), "float64"),
    (lambda K, d, n, tau, seed=0: tuple(2 * x for x in annealed(K, d, n, tau, seed=seed)), "unit vectors"),
    (lambda K, d, n, tau, seed=0: annealed(K, d, n, tau, seed=seed)[0], "pair"),
    (lambda K, d, n, tau, seed=0: (annealed(K, d, n, tau, seed=seed)[0],) * 2, "shape"),      # H = W
    (lambda K, d, n, tau, seed=0: (torch.full((K, d), math.nan), torch.zeros(K * n, d)), "NaN"),
    (lambda K, d, n, tau, seed=0: None, "NoneType"),
    (lambda K, d, n, tau, seed=0: ("W", "H"), "not an array"),
    (lambda K, d, n, tau: annealed(K, d, n, tau), "seed"),                             # no seed keyword
    (_stub, "not implemented"),
    ("train", "expected a function"),
])
def test_trainer_check_fails_typical_mistakes_with_a_hint(fn, words):
    res = check.small_tau_trainer(fn)
    assert not res.passed
    assert words in res.message, res.message


def test_trainer_check_never_prints_the_reference_run():
    res = check.small_tau_trainer(lesson_loop)
    ref_W, ref = chk._package_run(8, 3, 1, 0.02)
    for number in (ref, rho(ref_W)):
        assert f"{number:.4f}" not in res.message


# ----------------------------------------------------------------------------- the predictor
@functools.lru_cache(maxsize=1)
def _fit():
    path = certify.certified_ufm_path(8, 3, 1, [0.3, 0.2, 0.1, 0.05, 0.025, 0.0125], seed=0, warm_steps=300)[1:]
    t = np.array([p.tau for p in path])
    gaps = np.array([BEST - p.rho_upper for p in path])
    return np.linalg.lstsq(np.stack([t**2, t**3, t**4], 1), gaps, rcond=None)[0]


def fitted_predictor():
    """A right answer: ρ_best − a τ² − b τ³ − c τ⁴ fitted to certified optima at five temperatures."""
    coef = _fit()
    return lambda tau: BEST - float(coef @ np.array([tau**2, tau**3, tau**4]))


GRID = list(np.geomspace(0.15, 0.005, 9))


def test_predictor_check_passes_a_fitted_model_on_a_grid_and_on_fresh_draws():
    res = check.rho_predictor(fitted_predictor, taus=GRID)
    assert res.passed, res.message
    res = check.rho_predictor(fitted_predictor)            # four fresh temperatures
    assert res.passed, res.message
    assert "drawn after your model was built" in res.message


def test_fresh_draws_cover_the_range_one_per_quarter():
    lo, hi = (math.log(t) for t in chk.PREDICT_RANGE)
    for _ in range(20):
        taus = chk._draw_taus()
        assert len(taus) == 4 and taus == sorted(taus, reverse=True)
        parts = sorted(int((math.log(t) - lo) / ((hi - lo) / 4)) for t in taus)
        assert parts == [0, 1, 2, 3]


def _slow(tau):
    time.sleep(0.3)
    return BEST


@pytest.mark.parametrize("make, taus, words", [
    (lambda: (lambda tau: BEST - 0.0745 * tau**2), [0.15], "too low"),   # the small-τ law alone, at τ = 0.15
    (lambda: (lambda tau: BEST), [0.1], "too high"),                     # "W_τ is already the antiprism"
    (lambda: (lambda tau: 1.2), [0.1], "outside what lesson 03 proves"),
    (lambda: (lambda tau: 0.0), [0.01], "outside what lesson 03 proves"),
    (lambda: (lambda tau: "0.73"), [0.1], "number"),
    (lambda: (lambda tau: math.nan), [0.1], "finite"),
    (lambda: (lambda tau: torch.ones(2)), [0.1], "one number"),
    (lambda: _slow, [0.1], "do not train inside predict"),
    (lambda: 0.7386, [0.1], "should return a function"),
    (lambda: None, [0.1], "should return a function"),
    (_stub, [0.1], "not implemented"),
    (42, [0.1], "expected a function"),
])
def test_predictor_check_fails_typical_mistakes_with_a_hint(make, taus, words):
    res = check.rho_predictor(make, taus=taus)
    assert not res.passed
    assert words in res.message, res.message


def test_judge_recomputes_certified_optima_that_approach_the_antiprism_like_tau_squared():
    rhos = chk.judge_rhos([0.1, 0.01])
    gaps = {t: BEST - r for t, r in rhos.items()}
    assert 0 < gaps[0.01] < gaps[0.1]
    assert 0.05 < gaps[0.01] / 0.01**2 < 0.1 and 0.05 < gaps[0.1] / 0.1**2 < 0.1


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="small_tau_trainer"):
        check.small_tau_trainer(_stub)
