"""Self-checks for lesson 02 (softmax codes, K > d+1).

* :func:`hull_certificate` — a from-scratch nearest point of a convex hull *with its certificate*, compared
  with the package's :func:`gnc_teach.margins.one_vs_rest_distance`, whose ``lower``/``upper`` bracket the
  exact distance (~1e-12 wide);
* :func:`rho_from_scratch` — ρ(W) built on it, compared with the package's ρ;
* :func:`beat_the_gallery` — the judge of the open-ended task at (K, d) = (24, 4).

Each check tests properties (certified brackets, the student's own certificate, invariances), never a
printed answer.
"""
from __future__ import annotations

import numpy as np
import torch

from ._core import Fail, as_array, as_scalar, call_student, checker

__all__ = ["hull_certificate", "rho_from_scratch", "beat_the_gallery", "GALLERY_24_4", "TARGET_24_4"]

TOL = 1e-8          # on a distance, a certificate gap or ρ (the package's brackets are ~1e-12 wide)
GALLERY_24_4 = 0.48302   # ρ of the package's cached (24, 4) softmax code, rounded down
TARGET_24_4 = 0.49       # what the judge asks for


# ---------------------------------------------------------------------------- reference helpers
def _details(W: np.ndarray):
    """Certified one-vs-rest distances of the rows of ``W`` (float64)."""
    from ..margins import one_vs_rest_distance
    return one_vs_rest_distance(torch.as_tensor(W, dtype=torch.float64), return_details=True)


def _bracket(x: np.ndarray, V: np.ndarray) -> tuple[float, float]:
    """``(lower, upper)`` with lower <= dist(x, conv rows of V) <= upper."""
    det = _details(np.vstack([x[None, :], V]))
    return float(det.lower[0]), float(det.upper[0])


def _rotation(d: int, seed: int) -> np.ndarray:
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def _polygon(K: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _unit(rng, K, d):
    W = rng.standard_normal((K, d))
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def _hull_cases():
    """(name, x (d,), V (m, d)) covering the corner cases of the nearest-point problem."""
    rng = np.random.default_rng(2024)
    P = _polygon(6)
    yield "a single other point (m = 1)", np.array([1.0, 0.0]), np.array([[0.0, 1.0]])
    yield "a point inside the hull", np.array([0.1, -0.05]), P
    yield "a point on a vertex of the hull", P[2].copy(), P
    yield "a point nearest to an edge (d = 2)", np.array([2.0, 0.3]), P
    yield "a point nearest to a vertex (d = 2)", np.array([3.0, 0.0]), _polygon(5)[1:]
    yield "a point above a face (d = 3)", np.array([0.2, 0.1, 1.5]), np.array(
        [[1.0, 0, 0], [0, 1.0, 0], [-1.0, -1.0, 0], [0.3, 0.3, -0.5]])
    yield "a point and repeated vertices (d = 3)", np.array([0.0, 0.0, 2.0]), np.array(
        [[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0], [-1.0, -1.0, 0]])
    yield "a random point and 7 random points (d = 4)", rng.standard_normal(4) * 2, rng.standard_normal((7, 4))
    W = _unit(rng, 12, 3)
    yield "one vector of a random unit code (d = 3, K = 12)", W[0], W[1:]


def _certificate(out, x, V, what):
    """``(distance, gap)`` of the student's ``(lam, h)`` for x and V, or :class:`Fail`."""
    m, d = V.shape
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Fail(f"{what} should return a pair (lam, h), got {type(out).__name__}.")
    lam = as_array(out[0], f"the weights lam of {what}", (m,))
    if lam.min() < -1e-12 or abs(lam.sum() - 1) > 1e-9:
        raise Fail(f"the weights of {what} are not convex weights (min {lam.min():.2e}, sum {lam.sum():.12f}): "
                   "a point of the hull needs lam >= 0 with sum 1.")
    dist = float(np.linalg.norm(x - V.T @ lam))
    if dist <= TOL:
        return dist, 0.0                      # x is in the hull: no direction needed
    h = as_array(out[1], f"the direction h of {what}", (d,))
    if abs(np.linalg.norm(h) - 1) > 1e-9:
        raise Fail(f"the direction h of {what} has norm {np.linalg.norm(h):.10f}; it must be a unit vector.")
    return dist, dist - float(np.min((x - V) @ h))


# ---------------------------------------------------------------------------- the checks
@checker
def hull_certificate(fn):
    """``fn(x, V)`` for x ``(d,)`` and V ``(m, d)`` must return ``(lam, h)``: convex weights ``lam (m,)`` of the
    point of conv(rows of V) nearest to x, and a unit ``h (d,)`` with ``‖x - Vᵀlam‖ - min_j <x - v_j, h>`` at
    most 1e-8 (h may be anything when x is in the hull)."""
    cases = list(_hull_cases())
    for name, x, V in cases:
        what = f"your function on {name}"
        dist, gap = _certificate(call_student(fn, x.copy(), V.copy()), x, V, what)
        lo, up = _bracket(x, V)
        if dist > up + TOL:
            raise Fail(f"on {name} your point of the hull is not the nearest one: another point of the hull is "
                       "closer to x.")
        if gap > TOL:
            raise Fail(f"on {name} your certificate does not close: ‖x - p‖ - min_j <x - v_j, h> = {gap:.1e} > "
                       f"{TOL:g}. Either p is not yet the nearest point or h does not certify it.")
    rng = np.random.default_rng(7)
    x, V = rng.standard_normal(3), rng.standard_normal((5, 3))
    base, _ = _certificate(call_student(fn, x.copy(), V.copy()), x, V, "your function")
    Q, t = _rotation(3, 3), rng.standard_normal(3)
    moved, _ = _certificate(call_student(fn, Q @ x + t, V @ Q.T + t), Q @ x + t, V @ Q.T + t, "your function")
    if abs(moved - base) > TOL:
        raise Fail("rotating and translating x and V together changed your distance; it must not change.")
    return (f"nearest point and a closing certificate (gap ≤ {TOL:g}) on {len(cases)} cases, matching the "
            "package's certified distances; invariant under a rigid motion.")


def _rho_cases():
    from ..geometry import cube
    rng = np.random.default_rng(11)
    yield "the regular pentagon", _polygon(5)
    yield "the cube", cube(device="cpu", dtype=torch.float64).numpy()
    yield "a random unit code (K = 9, d = 3)", _unit(rng, 9, 3)
    yield "a random unit code (K = 12, d = 4)", _unit(rng, 12, 4)
    yield "a (7, 3) code with two antipodal pairs", np.vstack([np.eye(3), -np.eye(3)[:2], _unit(rng, 2, 3)])


@checker
def rho_from_scratch(fn):
    """``fn(W)`` for a unit code W ``(K, d)`` (numpy float64) must return ρ(W) = min_k dist(w_k, conv{w_j: j ≠ k})."""
    for name, W in _rho_cases():
        got = as_scalar(call_student(fn, W.copy()), f"your function on {name}")
        det = _details(W)
        lo, up = float(det.lower.min()), float(det.upper.min())
        if lo - TOL <= got <= up + TOL:
            continue
        if abs(got) <= TOL:
            raise Fail(f"on {name} you get 0: is w_k itself among the points of its hull? Only the others count.")
        if abs(got - float(det.rho.max())) <= TOL and float(det.rho.max()) > up + TOL:
            raise Fail(f"on {name} you return the largest ρ_k; ρ(W) is the smallest.")
        raise Fail(f"on {name} your ρ is {'too large' if got > up else 'too small'} (beyond the certified value "
                   f"by more than {TOL:g}). Hint: each ρ_k is a distance to the hull of the other rows.")
    return "matches the package's certified ρ on 5 codes (polygon, cube, random, antipodal pairs)."


@checker
def beat_the_gallery(fn):
    """The judge of the open-ended task: ``fn()`` must return 24 unit vectors in R^4 (a ``(24, 4)`` array)
    whose certified ρ is at least :data:`TARGET_24_4`, within the check's time limit."""
    W = as_array(call_student(fn), "your function()", (24, 4))
    err = float(np.abs(np.linalg.norm(W, axis=1) - 1).max())
    if err > 1e-9:
        raise Fail(f"the rows of your code are not unit vectors (largest | ‖w_k‖ - 1 | = {err:.1e}).")
    det = _details(W)
    lower = float(det.lower.min())
    if lower < TARGET_24_4:
        raise Fail(f"your code has ρ = {float(det.rho.min()):.6f}; the gallery's has {GALLERY_24_4:.5f} and the "
                   f"judge asks for at least {TARGET_24_4}. Not yet.")
    return (f"ρ = {float(det.rho.min()):.9f} (certified ≥ {lower:.9f}) beats the gallery's {GALLERY_24_4:.5f} "
            f"and the target {TARGET_24_4}.")
