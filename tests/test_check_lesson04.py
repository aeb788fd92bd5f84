"""Lesson-04 self-checks: right answers pass, typical mistakes fail with a hint, nothing crashes."""
import functools
import math

import pytest
import torch

from gnc_teach import certify, check
from gnc_teach.check import lesson04 as chk
from gnc_teach.models.ufm import train_spherical_ufm

F64 = torch.float64


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


def stub(*args, **kwargs):
    raise NotImplementedError


# ----------------------------------------------------------------------------- the saddle direction
def _normal(X):
    e = torch.linalg.cross(X[0], X[2])
    return e / e.norm()


def alternate_tilt(X):
    """Even rows up, odd rows down, features with their rows: a right answer."""
    V = torch.tensor([(-1.0) ** k for k in range(8)], dtype=F64)[:, None] * _normal(X)
    return torch.cat([V, V])


def uniform_tilt(X):
    V = _normal(X).repeat(16, 1)
    return V


def in_plane_rotation(X):
    return torch.linalg.cross(_normal(X).expand(16, 3), X, dim=1)       # X A^T for the rotation about the normal


def fixed_axis(X):
    V = torch.tensor([(-1.0) ** k for k in range(8)], dtype=F64)[:, None] * torch.tensor([0, 0, 1.0], dtype=F64)
    return torch.cat([V, V])


def test_saddle_direction_passes_the_alternate_tilt(capsys):
    res = check.saddle_direction(alternate_tilt)
    assert res.passed, res.message
    assert "✅" in capsys.readouterr().out


def test_the_octagon_is_a_critical_point_and_the_tilt_curves_down_like_the_proof_says():
    """The closed form of the proof: f''(0) = 2 F'(0) = 2 e^{-1/τ} S(1/τ) / (τ D) for CE along the tilt."""
    X = torch.cat([chk.octagon()] * 2)
    c = 1 / math.sqrt(2)
    for tau in (5.0, 1.0, 0.2):
        f = certify.ufm_objective(8, torch.arange(8), tau)
        assert float(certify.riemannian_gradient(f, X).norm()) < 1e-14
        V = alternate_tilt(X).reshape(-1)
        q = float(V @ certify.riemannian_hessian(f, X) @ V)
        x = 1 / tau
        S = -2 * (1 + c) * math.exp(c * x) + 2 - 2 * (1 - c) * math.exp(-c * x) + 2 * math.exp(-x)
        D = 1 + sum(math.exp((math.cos(m * math.pi / 4) - 1) / tau) for m in range(1, 8))
        assert q == pytest.approx(2 * math.exp(-x) * S / (tau * D), rel=1e-9)
        assert q < 0


@pytest.mark.parametrize("fn, words", [
    (uniform_tilt, "curves upwards"),
    (in_plane_rotation, "does not curve"),
    (fixed_axis, "rotated copy"),
    (lambda X: alternate_tilt(X) + 0.1 * X, "not tangent"),
    (lambda X: torch.zeros(16, 3, dtype=F64), "zero"),
    (lambda X: alternate_tilt(X)[:8], "shape"),
    (lambda X: alternate_tilt(X) * math.nan, "NaN"),
    (lambda X: None, "None"),
    (lambda X: "up", "not an array"),
    (stub, "not implemented"),
    (3, "expected a function"),
])
def test_saddle_direction_fails_typical_mistakes_with_a_hint(fn, words):
    res = check.saddle_direction(fn)
    assert not res.passed
    assert words in res.message, res.message


# ----------------------------------------------------------------------------- Newton steps
def _parts(f, X):
    m, d = X.shape
    Xr = X.detach().clone().requires_grad_(True)
    (G,) = torch.autograd.grad(f(Xr), Xr)
    E = torch.autograd.functional.hessian(lambda v: f(v.reshape(m, d)), X.detach().reshape(-1))
    P = torch.eye(d, dtype=F64) - X[:, :, None] * X[:, None, :]
    B = torch.block_diag(*torch.linalg.eigh(P)[1][:, :, 1:])
    return G, E, B


def _newton(f, X, *, curvature=True, solve=None):
    m, d = X.shape
    G, E, B = _parts(f, X)
    c = (X * G).sum(1).repeat_interleave(d) if curvature else torch.zeros(m * d, dtype=F64)
    hess, grad = B.T @ (E - torch.diag(c)) @ B, B.T @ G.reshape(-1)
    step = solve(hess, grad) if solve else -torch.linalg.pinv(hess, rtol=1e-10, hermitian=True) @ grad
    Y = X + (B @ step).reshape(m, d)
    return Y / Y.norm(dim=1, keepdim=True)


def newton(f, X):
    return _newton(f, X)


def gradient_step(f, X):
    G, _, _ = _parts(f, X)
    Y = X - 0.02 * (G - (G * X).sum(1, keepdim=True) * X)
    return Y / Y.norm(dim=1, keepdim=True)


def no_retraction(f, X):
    m, d = X.shape
    G, E, B = _parts(f, X)
    hess = B.T @ (E - torch.diag((X * G).sum(1).repeat_interleave(d))) @ B
    return X - (B @ torch.linalg.pinv(hess, rtol=1e-10, hermitian=True) @ (B.T @ G.reshape(-1))).reshape(m, d)


def test_newton_check_passes_a_right_answer(capsys):
    res = check.newton_step(newton)
    assert res.passed, res.message
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("fn, words", [
    (gradient_step, "not the quadratic convergence"),
    (lambda f, X: _newton(f, X, curvature=False), "curvature term"),           # Euclidean Hessian only
    (lambda f, X: _newton(f, X, solve=lambda A, b: -torch.linalg.solve(A, b)), "Hessian vanishes"),
    (no_retraction, "unit vectors"),
    (lambda f, X: X, "not the quadratic convergence"),                          # never moves
    (lambda f, X: newton(f, X)[:-1], "shape"),
    (lambda f, X: newton(f, X).float(), "float64"),
    (lambda f, X: None, "None"),
    (stub, "not implemented"),
    ("newton", "expected a function"),
])
def test_newton_check_fails_typical_mistakes_with_a_hint(fn, words):
    res = check.newton_step(fn)
    assert not res.passed
    assert words in res.message, res.message


def test_newton_test_problems_are_certified_minima_and_the_second_has_rotation_null_directions():
    (_, f1, X1, sym1), (_, f2, X2, sym2) = list(chk._newton_problems())
    assert not sym1 and sym2
    r1, r2 = certify.hessian_min_eig_tangent(f1, X1), certify.hessian_min_eig_tangent(f2, X2)
    assert r1.eigenvalues[0] > 1e-2 and r2.min_eig > 1e-2
    assert abs(r2.eigenvalues[0]) < 1e-12 and r2.n_symmetry == 3          # exact zeros along the rotations


# ----------------------------------------------------------------------------- spurious local minima
@functools.lru_cache(maxsize=1)
def spurious_pair():
    """Two certified strict local minima of the spherical UFM at (K, d, n, τ) = (10, 3, 1, 0.02) with different
    losses, from fixed-τ runs from random starts: ((W, H) of the higher one, (W, H) of the lower one)."""
    minima = []
    for seed in range(12):
        run = train_spherical_ufm(10, 3, 1, 0.02, steps=600, seed=seed, schedule=[0.02], device="cpu",
                                  dtype=F64, record_every=0)
        f = certify.ufm_objective(10, run.y, 0.02, log=True)
        X, _ = certify.riemannian_newton(f, certify.stack(run.W, run.H), steps=30)
        rep = certify.hessian_min_eig_tangent(f, X)
        if rep.grad_norm < 1e-12 and rep.min_eig > 1e-3:
            minima.append((float(f(X)), certify.unstack(X, 10)))
        losses = [loss for loss, _ in minima]
        if len(minima) > 1 and max(losses) > min(losses) + 1e-6:
            return minima[losses.index(max(losses))][1], minima[losses.index(min(losses))][1]
    raise AssertionError("no two distinct local minima found")


def spurious():
    (W, H), (Wb, Hb) = spurious_pair()
    return {"tau": 0.02, "W": W, "H": H, "W_better": Wb, "H_better": Hb}


def test_spurious_check_passes_a_certified_spurious_minimum():
    res = check.spurious_minimum(spurious)
    assert res.passed, res.message
    assert "(10, 3, 1, 0.02)" in res.message


def _octagon_saddle():
    W = chk.octagon()
    A = certify.square_antiprism(device="cpu", dtype=F64)
    return {"tau": 0.1, "W": W, "H": W, "W_better": A, "H_better": A}


def _swapped():
    s = spurious()
    return {"tau": s["tau"], "W": s["W_better"], "H": s["H_better"], "W_better": s["W"], "H_better": s["H"]}


def _with(**changes):
    return lambda: {**spurious(), **changes}


@pytest.mark.parametrize("fn, words", [
    (_octagon_saddle, "saddle"),                                   # a critical point, but not a minimum
    (_swapped, "does not have a lower loss"),                      # the global one, 'beaten' by the spurious one
    (_with(W=spurious()["W"].roll(1, dims=1)), "not a critical point"),
    (_with(tau=0.1), "not a critical point"),                      # certified at another τ
    (_with(tau=1e-5), "outside"),
    (_with(W=certify.square_antiprism(device="cpu", dtype=F64)[:4]), "K ≥ d + 2"),
    (_with(H=torch.randn(7, 3, dtype=F64)), "n features per class"),
    (_with(H=spurious()["H"].repeat(8, 1)), "at most 240"),
    (_with(W=2 * spurious()["W"]), "unit vectors"),
    (_with(W_better=None), "None"),
    (lambda: {"tau": 0.02, "W": spurious()["W"]}, "dict"),
    (lambda: (0.02, 1, 2, 3, 4), "dict"),
    (stub, "not implemented"),
])
def test_spurious_check_fails_typical_mistakes_with_a_hint(fn, words):
    res = check.spurious_minimum(fn)
    assert not res.passed
    assert words in res.message, res.message


@pytest.mark.parametrize("min_eig, n_symmetry, words", [(1e-9, 3, "flat direction"), (0.1, 2, "do not span")])
def test_spurious_check_does_not_call_degenerate_hessians_strict(monkeypatch, min_eig, n_symmetry, words):
    """The branches for a zero eigenvalue besides the rotations and for rows in a subspace, with the Hessian
    report replaced by a degenerate one (everything else recomputed as usual)."""
    import dataclasses
    real = certify.hessian_min_eig_tangent
    monkeypatch.setattr(certify, "hessian_min_eig_tangent", lambda f, X: dataclasses.replace(
        real(f, X), min_eig=min_eig, n_symmetry=n_symmetry))
    res = check.spurious_minimum(spurious)
    assert not res.passed and words in res.message, res.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="newton_step"):
        check.newton_step(stub)
