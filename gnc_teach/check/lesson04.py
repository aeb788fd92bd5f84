"""Self-checks for lesson 04 (certificates for the spherical UFM: curvature, Newton, spurious minima).

Each check recomputes what it judges (Riemannian gradients and Hessians by autograd in float64, losses,
certified optima of its own) from the student's tensors, and never prints a reference answer.
"""
from __future__ import annotations

import functools
import math

import torch

from ._core import Fail, as_array, as_scalar, call_student, checker
from .lesson03 import labels, unit_rows

__all__ = ["saddle_direction", "newton_step", "spurious_minimum"]

F64 = torch.float64


def octagon(K: int = 8) -> torch.Tensor:
    """The regular K-gon in the plane x_3 = 0 of R^3, row k at angle 2πk/K, ``(K, 3)`` float64."""
    a = torch.arange(K, dtype=F64) * (2 * math.pi / K)
    return torch.stack([a.cos(), a.sin(), torch.zeros(K, dtype=F64)], dim=1)


def _rotation(seed):
    from ..geometry import random_rotation
    return random_rotation(3, seed=seed).to(F64)


# ----------------------------------------------------------------------------- a direction of negative curvature
SADDLE_TAUS = (10.0, 1.0, 0.3, 0.05, 0.01)


def _curvature(X, V, tau):
    """<V, Hess f V> / ||V||² for f = τ·log CE of the octagon problem (one feature per class)."""
    from ..certify import riemannian_hessian, ufm_objective
    f = ufm_objective(8, labels(8, 1), tau, log=True)
    v = V.reshape(-1)
    return float(v @ riemannian_hessian(f, X) @ v) / float(v @ v)


def _negative_curvature(X, V):
    """Fail unless V is a nonzero tangent direction at X with negative curvature at every τ of SADDLE_TAUS."""
    size = float(V.norm())
    if size < 1e-12:
        raise Fail("your direction is zero; a direction needs a length.")
    normal = (V * X).sum(dim=1).abs() / size
    if float(normal.max()) > 1e-10:
        raise Fail(f"your direction is not tangent: row {int(normal.argmax())} has a component along its own "
                   "point. Hint: each row may only move perpendicular to itself.")
    for tau in SADDLE_TAUS:
        q = _curvature(X, V, tau)
        if abs(q) <= 1e-9:
            raise Fail(f"at τ = {tau:g} the loss does not curve along your direction (curvature ~0): it moves the "
                       "configuration without changing it, e.g. a rotation of the whole. Hint: look for a move "
                       "that changes the inner products between the rows.")
        if q > 0:
            raise Fail(f"at τ = {tau:g} the loss curves upwards along your direction (curvature {q:+.1e} per unit "
                       "length²). Hint: which inner products between rows does your move raise, and which lower?")


@checker
def saddle_direction(fn):
    """``fn(X) -> V (16, 3)``: at the planar regular octagon with every feature on its row, ``X = [W; W]``
    (possibly rotated as a whole), a tangent direction along which the loss curves downwards at every τ.

    Checks tangency, and <V, Hess V> < 0 (Riemannian Hessian of τ·log CE, by autograd) at τ = 10, 1, 0.3,
    0.05 and 0.01, at the octagon and at a rotated copy of it.
    """
    base = octagon()
    for which, Q in (("the octagon", torch.eye(3, dtype=F64)), ("a rotated copy of the octagon", _rotation(4))):
        W = base @ Q.T
        X = torch.cat([W, W])
        V = torch.from_numpy(as_array(call_student(fn, X.clone()), f"your direction at {which}", (16, 3)))
        try:
            _negative_curvature(X, V)
        except Fail as exc:
            if which == "the octagon":
                raise
            reason = str(exc).split(" Hint:")[0]
            raise Fail(f"your direction works at the octagon but not at a rotated copy of it ({reason}). Hint: "
                       "build it from the rows of X, not from fixed coordinates.") from None
    return f"tangent, and the loss curves downwards along it at τ = {', '.join(f'{t:g}' for t in SADDLE_TAUS)}."


# ----------------------------------------------------------------------------- a Newton step
NEWTON_STEPS = 6
NEWTON_TOL = 1e-11


def _sphere_points(m, d, seed):
    X = torch.randn(m, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return X / X.norm(dim=1, keepdim=True)


def _asymmetric_objective():
    """A smooth function of 3 unit vectors in R^3 with no symmetry: quadratic and linear terms per row
    and two couplings. Returns ``f``."""
    g = torch.Generator().manual_seed(5)
    B = torch.randn(3, 3, 3, generator=g, dtype=F64)
    A = B + B.transpose(1, 2)
    c = torch.randn(3, 3, generator=g, dtype=F64)

    def f(X):
        quad = torch.einsum("id,ide,ie->", X, A, X)
        return quad + (c * X).sum() + (X[0] @ X[1]) ** 2 + 0.5 * (X[1] @ X[2]) ** 3
    return f


@functools.lru_cache(maxsize=1)
def _asymmetric_problem():
    """``(name, f, X_star, symmetric=False)``: a nondegenerate local minimum of :func:`_asymmetric_objective`,
    found by the package's Newton method and certified here."""
    from ..certify import hessian_min_eig_tangent, riemannian_newton

    f = _asymmetric_objective()
    X, _ = riemannian_newton(f, _sphere_points(3, 3, 0), steps=60)
    rep = hessian_min_eig_tangent(f, X)
    assert rep.grad_norm < 1e-12 and rep.eigenvalues[0] > 1e-2, "the asymmetric test problem is degenerate"
    return "a function of 3 unit vectors in R^3 without symmetry", f, X, False


@functools.lru_cache(maxsize=1)
def _ufm_problem():
    """``(name, f, X_star, symmetric=True)``: the certified optimum of τ·log CE at (K, d, n, τ) = (8, 3, 1, 0.1),
    which is invariant under rotations of all rows."""
    from ..certify import certified_ufm_path, stack, ufm_objective

    p = certified_ufm_path(8, 3, 1, [0.3, 0.1], seed=0, warm_steps=300)[-1]
    assert p.grad_norm < 1e-12 and p.hessian.min_eig > 1e-2, "the UFM test problem is not certified"
    return ("the spherical UFM loss (K, d, n, τ) = (8, 3, 1, 0.1)", ufm_objective(8, p.y, 0.1, log=True),
            stack(p.W, p.H), True)


def _newton_problems():
    """The two test problems of :func:`newton_step`, built lazily (the second costs about a second)."""
    yield _asymmetric_problem()
    yield _ufm_problem()


def _moved(X, eps, seed):
    """X moved by about ``eps`` along a random tangent direction, back on the spheres."""
    V = torch.randn(X.shape, generator=torch.Generator().manual_seed(seed), dtype=F64)
    V = V - (V * X).sum(dim=1, keepdim=True) * X
    Y = X + eps * V / V.norm()
    return Y / Y.norm(dim=1, keepdim=True)


def _step(fn, f, X, name):
    return unit_rows(call_student(fn, f, X.clone()), f"your new point ({name})", tuple(X.shape))


@checker
def newton_step(fn):
    """``fn(f, X) -> X_new``: one Newton step for ``f`` (a torch function of an ``(m, d)`` tensor returning
    a 0-d tensor) on the product of unit spheres, from the unit rows of ``X`` to unit rows ``X_new``.

    On two problems (no symmetry; the rotation-invariant spherical UFM loss), from a start 1e-2 away from a
    certified nondegenerate minimum, at most six steps must bring the Riemannian gradient (recomputed here)
    below 1e-11 and reach that minimum (the same point; for the UFM the same loss and ρ); at the
    minimum itself a step must stay put.
    """
    from ..certify import riemannian_gradient, unstack
    from ..margins import rho

    for name, f, Xs, symmetric in _newton_problems():
        X = _moved(Xs, 1e-2, seed=1)
        norms = [float(riemannian_gradient(f, X).norm())]
        for _ in range(NEWTON_STEPS):
            X = _step(fn, f, X, name)
            norms.append(float(riemannian_gradient(f, X).norm()))
            if norms[-1] < NEWTON_TOL:
                break
        trace = " → ".join(f"{g:.0e}" for g in norms)
        if norms[-1] >= NEWTON_TOL:
            if norms[-1] > norms[0]:
                hint = ("Hint: is f invariant under some transformation? Then its Hessian is singular there."
                        if symmetric else "Hint: check the sign of your step, and that you solve with the Hessian "
                        "of f on the spheres (the Euclidean one misses a curvature term).")
                raise Fail(f"on {name} the gradient grew ({trace}). {hint}")
            raise Fail(f"on {name} ‖grad f‖ went {trace} in {NEWTON_STEPS} steps: not the quadratic "
                       "convergence of a Newton step. Hint: on a sphere the second derivative along a curve "
                       "has a curvature term that the Euclidean Hessian does not see.")
        if symmetric:
            Ws, W = unstack(Xs, 8)[0], unstack(X, 8)[0]
            if abs(float(f(X)) - float(f(Xs))) > 1e-12 or abs(rho(W) - rho(Ws)) > 1e-9:
                raise Fail(f"on {name} your steps converged to a different critical point than the nearby "
                           "minimum. Hint: a Newton step from close by should land at the closest one.")
        elif float((X - Xs).norm()) > 1e-8:
            raise Fail(f"on {name} your steps converged to a different critical point than the nearby minimum.")
        still = _step(fn, f, Xs, name)
        if float((still - Xs).norm()) > 1e-8:
            raise Fail(f"on {name}, at the minimum itself (gradient ~1e-15) your step moved the point by "
                       f"{float((still - Xs).norm()):.1e}. Hint: where the gradient vanishes, a Newton step is zero; "
                       "mind directions in which the Hessian vanishes.")
    return ("converges quadratically to the nearby minimum, with and without a rotation symmetry, and stays "
            "put at a minimum.")


# ----------------------------------------------------------------------------- a spurious local minimum
SPURIOUS_MAX_VARIABLES = 240    # (K + N) d: the dense Hessian stays small
SPURIOUS_TAU_RANGE = (1e-3, 10.0)
SPURIOUS_MIN_EIG = 1e-6
SPURIOUS_GRAD = 1e-9
SPURIOUS_KEYS = ("tau", "W", "H", "W_better", "H_better")


def _spurious_inputs(out):
    if not isinstance(out, dict) or any(k not in out for k in SPURIOUS_KEYS):
        got = f"a dict with the keys {sorted(map(str, out))}" if isinstance(out, dict) else type(out).__name__
        raise Fail(f"return a dict with the keys {', '.join(SPURIOUS_KEYS)}, got {got}.")
    tau = as_scalar(out["tau"], "tau")
    if not SPURIOUS_TAU_RANGE[0] <= tau <= SPURIOUS_TAU_RANGE[1]:
        raise Fail(f"tau = {tau:g} is outside [{SPURIOUS_TAU_RANGE[0]:g}, {SPURIOUS_TAU_RANGE[1]:g}].")
    W0 = as_array(out["W"], "W")
    if W0.ndim != 2:
        raise Fail(f"W should be a (K, d) matrix, got shape {W0.shape}.")
    K, d = W0.shape
    if d < 2 or K < d + 2:
        raise Fail(f"W has shape ({K}, {d}); the question is about K ≥ d + 2 classes in d ≥ 2 dimensions.")
    H0 = as_array(out["H"], "H")
    if H0.ndim != 2 or H0.shape[1] != d or H0.shape[0] % K or H0.shape[0] == 0:
        raise Fail(f"H should be (K n, d) = ({K} n, {d}), n features per class, got shape {H0.shape}.")
    n = H0.shape[0] // K
    if (K + K * n) * d > SPURIOUS_MAX_VARIABLES:
        raise Fail(f"(K + N) d = {(K + K * n) * d} variables; keep it at most {SPURIOUS_MAX_VARIABLES} so the "
                   "Hessian stays small (fewer classes or features).")
    W, H = unit_rows(W0, "W", (K, d)), unit_rows(H0, "H", (K * n, d))
    Wb, Hb = unit_rows(out["W_better"], "W_better", (K, d)), unit_rows(out["H_better"], "H_better", (K * n, d))
    return tau, W, H, Wb, Hb, K, d, n


@checker
def spurious_minimum(fn):
    """``fn() -> {"tau", "W", "H", "W_better", "H_better"}``: a strict local minimum (W, H) of the spherical
    UFM at temperature τ (K ≥ d + 2 classes, n features per class, class-major) that is not a global one,
    and a point (W_better, H_better) of the same problem with a lower loss.

    Recomputed here: the Riemannian gradient of τ·log CE at (W, H) (≤ 1e-9), its Riemannian Hessian on the
    tangent space, with exactly the d(d−1)/2 rotation directions set aside and every other eigenvalue
    ≥ 1e-6 (a strict local minimum modulo rotations), and the two losses.
    """
    from ..certify import hessian_min_eig_tangent, stack, ufm_objective

    tau, W, H, Wb, Hb, K, d, n = _spurious_inputs(call_student(fn))
    f = ufm_objective(K, labels(K, n), tau, log=True)
    X = stack(W, H)
    rep = hessian_min_eig_tangent(f, X)
    if rep.grad_norm > SPURIOUS_GRAD:
        raise Fail(f"(W, H) is not a critical point: ‖grad‖ = {rep.grad_norm:.1e} (at most {SPURIOUS_GRAD:g} "
                   "needed). Hint: polish it until the gradient vanishes to rounding.")
    if rep.n_symmetry != d * (d - 1) // 2:
        raise Fail(f"the rows of (W, H) do not span R^{d}, so its rotations are not the only symmetry to set aside. "
                   "Hint: look elsewhere.")
    if rep.min_eig < -SPURIOUS_MIN_EIG:
        raise Fail(f"the Hessian at (W, H) has a negative eigenvalue ({rep.min_eig:.1e}) besides the rotations: "
                   "a saddle, not a local minimum.")
    if rep.min_eig < SPURIOUS_MIN_EIG:
        raise Fail(f"the Hessian at (W, H) has an eigenvalue ~0 ({rep.min_eig:.1e}) besides the rotations: a "
                   "flat direction, so the certificate cannot say 'strict local minimum'.")
    value, better = float(f(X)), float(f(stack(Wb, Hb)))
    if not better < value - 1e-10:
        raise Fail(f"(W_better, H_better) does not have a lower loss than (W, H) at τ = {tau:g} (difference "
                   f"{better - value:+.1e}), so nothing shows that (W, H) is not a global minimum.")
    return (f"a certified spurious local minimum at (K, d, n, τ) = ({K}, {d}, {n}, {tau:g}): gradient "
            f"{rep.grad_norm:.0e}, smallest curvature {rep.min_eig:.2e} besides the {rep.n_symmetry} rotations, "
            f"and a point whose τ·log CE is lower by {value - better:.2e}.")
