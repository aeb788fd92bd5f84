"""The self-checks of lesson 02: pass on correct answers, fail (with a message, no crash) on wrong ones,
and never print the answer."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from gnc_teach import check
from gnc_teach.check import lesson02


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    # Failed checks must return a result here, not raise (the root conftest turns strict mode on).
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "0")


def nearest_point(x, V):
    m = V.shape[0]
    if m == 1:
        return V[0].copy()
    Q, c = V @ V.T, V @ x
    res = minimize(lambda l: 0.5 * l @ Q @ l - c @ l, np.full(m, 1.0 / m), jac=lambda l: Q @ l - c,
                   method="SLSQP", bounds=[(0.0, None)] * m,
                   constraints=[{"type": "eq", "fun": lambda l: l.sum() - 1.0, "jac": lambda l: np.ones(m)}],
                   options={"ftol": 1e-16, "maxiter": 500})
    lam = np.clip(res.x, 0.0, None)
    return V.T @ (lam / lam.sum())


def good_distance(x, V):
    return float(np.linalg.norm(x - nearest_point(x, V)))


def good_direction(W, k):
    v = W[k] - nearest_point(W[k], np.delete(W, k, axis=0))
    return v / np.linalg.norm(v)


def cube():
    return np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], float) / math.sqrt(3)


def antiprism(z=0.51):
    r = math.sqrt(1 - z * z)
    t = np.pi / 2 * np.arange(4)
    top = np.stack([r * np.cos(t), r * np.sin(t), np.full(4, z)], 1)
    bot = np.stack([r * np.cos(t + np.pi / 4), r * np.sin(t + np.pi / 4), np.full(4, -z)], 1)
    return np.vstack([top, bot])


def test_reexported():
    assert check.hull_distance is lesson02.hull_distance
    assert check.softmax_bound is lesson02.softmax_bound


def test_hull_distance_accepts_a_correct_solver_and_tensor_output():
    import torch
    assert check.hull_distance(good_distance).passed
    assert check.hull_distance(lambda x, V: torch.tensor(good_distance(x, V))).passed


@pytest.mark.parametrize("fn, words", [
    (lambda x, V: float(np.min(np.linalg.norm(V - x, axis=1))), "too large"),   # nearest vertex
    (lambda x, V: float(np.linalg.norm(x - V.mean(0))), "too large"),             # centroid
    (lambda x, V: 0.5 * good_distance(x, V), "too small"),
    (lambda x, V: good_distance(x, V) + 1e-3, "too large"),
    (lambda x, V: "a", "should be a number"),
    (lambda x, V: np.zeros(3), "one number"),
    (lambda x, V: float("nan"), "finite"),
    (lambda x, V: 1 / 0, "ZeroDivisionError"),
    (3, "expected a function"),
])
def test_hull_distance_rejects_wrong_answers(fn, words):
    res = check.hull_distance(fn)
    assert not res.passed and words in res.message


def test_hull_distance_invariance_is_tested():
    # Right on every fixed case, but depends on the row order: caught by the relabelling test.
    calls = {"n": 0}

    def order_dependent(x, V):
        calls["n"] += 1
        return good_distance(x, V) + (1e-3 if calls["n"] == 11 else 0.0)

    res = check.hull_distance(order_dependent)
    assert not res.passed and "reordering" in res.message


def test_hull_distance_stub_says_not_implemented():
    def stub(x, V):
        raise NotImplementedError("Exercise: fill in this part")
    res = check.hull_distance(stub)
    assert not res.passed and "not implemented" in res.message


def test_margin_direction():
    assert check.margin_direction(good_direction).passed
    res = check.margin_direction(lambda W, k: W[k])      # h = w_k: only the lower bound 1 - max cos
    assert not res.passed and "below rho_k" in res.message
    res = check.margin_direction(lambda W, k: 2 * good_direction(W, k))
    assert not res.passed and "norm" in res.message
    res = check.margin_direction(lambda W, k: W)
    assert not res.passed and "shape" in res.message


def test_not_optimal():
    res = check.not_optimal(cube(), antiprism())
    assert res.passed and "0.66666" in res.message
    assert check.not_optimal("cube", antiprism()).passed
    assert not check.not_optimal(cube(), cube()).passed
    assert "unit vectors" in check.not_optimal(cube(), 2 * antiprism()).message
    assert "shape (8, 3)" in check.not_optimal(cube(), antiprism()[:7]).message
    assert not check.not_optimal(cube(), "better").passed
    assert not check.not_optimal(None, antiprism()).passed


def test_softmax_bound():
    assert check.softmax_bound(lambda K, d: K / (K - 1) if K <= d + 1 else 1.0).passed
    assert "not tight" in check.softmax_bound(lambda K, d: K / (K - 1)).message        # misses Radon
    assert "not a valid upper bound" in check.softmax_bound(lambda K, d: 1.0).message   # below the ETF
    assert "looser" in check.softmax_bound(lambda K, d: K / (K - 1) if K <= d + 1 else (1.0 if K <= 2 * d else 1.5)).message
    assert not check.softmax_bound(lambda K, d: None).passed


def test_messages_never_print_the_reference_distance():
    # A wrong distance must not be told the certified value it should have returned.
    x, V = np.array([2.0, 0.3]), np.stack([np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3)], 1)
    truth = good_distance(x, V)
    res = check.hull_distance(lambda x, V: 0.5 * good_distance(x, V))
    for digits in (f"{truth:.3f}", f"{truth:.4f}", f"{truth:.6f}"):
        assert digits not in res.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="hull_distance"):
        check.hull_distance(lambda x, V: 0.0)
