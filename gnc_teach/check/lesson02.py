"""Self-checks for lesson 02 (softmax codes, K > d+1).

Each check tests properties (certified bounds, invariances, feasibility), never compares against a
printed answer. References come from :func:`gnc_teach.margins.one_vs_rest_distance`, whose
``lower``/``upper`` fields bracket the exact distance; a student's value must land in that bracket
up to ``TOL``.
"""
from __future__ import annotations


import numpy as np
import torch

from ._core import Fail, as_array, as_scalar, call_student, checker

__all__ = ["hull_distance", "margin_direction", "not_optimal", "softmax_bound"]

TOL = 1e-6  # absolute tolerance on a distance / margin (the reference brackets are ~1e-12 wide)


# ---------------------------------------------------------------------------- reference helpers
def _details(W: np.ndarray):
    """Certified one-vs-rest distances of the rows of ``W`` (float64)."""
    from ..margins import one_vs_rest_distance
    return one_vs_rest_distance(torch.as_tensor(W, dtype=torch.float64), return_details=True)


def _bracket(x: np.ndarray, V: np.ndarray) -> tuple[float, float]:
    """``(lower, upper)`` with lower <= dist(x, conv rows of V) <= upper."""
    det = _details(np.vstack([x[None, :], V]))
    return float(det.lower[0]), float(det.upper[0])


def _rho(W: np.ndarray) -> float:
    det = _details(W)
    return float(det.rho.min())


def _unit_code(value, what: str, shape: tuple) -> np.ndarray:
    W = as_array(value, what, shape)
    err = float(np.abs(np.linalg.norm(W, axis=1) - 1).max())
    if err > 1e-8:
        raise Fail(f"the rows of {what} must be unit vectors (largest | ||w_k|| - 1 | = {err:.1e}). "
                   "Hint: divide each row by its norm.")
    return W


# ---------------------------------------------------------------------------- test cases
def _rotation(d: int, seed: int) -> np.ndarray:
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def _polygon(K: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(K) / K
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _hull_cases():
    """(name, x (d,), V (m, d)) covering the corner cases of the QP."""
    rng = np.random.default_rng(2024)
    P = _polygon(6)
    yield "a single other point (m = 1)", np.array([1.0, 0.0]), np.array([[0.0, 1.0]])
    yield "a point inside the hull", np.array([0.1, -0.05]), P
    yield "a point on a vertex of the hull", P[2].copy(), P
    yield "a point nearest to an edge (d = 2)", np.array([2.0, 0.3]), P
    yield "a point nearest to a vertex (d = 2)", np.array([3.0, 0.0]), _polygon(5)[1:]
    yield "a point above a face (d = 3)", np.array([0.2, 0.1, 1.5]), np.array(
        [[1.0, 0, 0], [0, 1.0, 0], [-1.0, -1.0, 0], [0.3, 0.3, -0.5]])
    yield "a random point and 7 random points (d = 4)", rng.standard_normal(4) * 2, rng.standard_normal((7, 4))
    W = rng.standard_normal((12, 3))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    yield "one vector of a random unit code (d = 3, K = 12)", W[0], W[1:]


# ---------------------------------------------------------------------------- the checks
@checker
def hull_distance(fn):
    """``fn(x, V)`` must return dist(x, conv{rows of V}) for x ``(d,)`` and V ``(m, d)`` (numpy float64)."""
    for name, x, V in _hull_cases():
        got = as_scalar(call_student(fn, x.copy(), V.copy()), f"on {name}, your function's result")
        lo, up = _bracket(x, V)
        if got < lo - TOL:
            raise Fail(f"on {name} your distance is too small (the certified lower bound is larger). "
                       "Hint: the nearest point must be a convex combination (weights >= 0 summing to 1).")
        if got > up + TOL:
            raise Fail(f"on {name} your distance is too large (a point of the hull is closer). "
                       "Hint: the nearest point need not be a vertex; minimise over all convex weights.")
    # Invariances: a rigid motion, relabelling and scaling of the whole picture.
    rng = np.random.default_rng(7)
    x, V = rng.standard_normal(3), rng.standard_normal((5, 3))
    base = as_scalar(call_student(fn, x.copy(), V.copy()), "your function's result")
    Q, t = _rotation(3, 3), rng.standard_normal(3)
    moved = as_scalar(call_student(fn, Q @ x + t, V @ Q.T + t), "your function's result")
    if abs(moved - base) > TOL:
        raise Fail("rotating and translating x and V together changed your distance; a distance "
                   "must be invariant under rigid motions.")
    perm = as_scalar(call_student(fn, x.copy(), V[::-1].copy()), "your function's result")
    if abs(perm - base) > TOL:
        raise Fail("reordering the rows of V changed your distance; the hull does not depend on the order.")
    scaled = as_scalar(call_student(fn, 2.5 * x, 2.5 * V), "your function's result")
    if abs(scaled - 2.5 * base) > 2.5 * TOL:
        raise Fail("scaling x and V by 2.5 should scale the distance by 2.5.")
    return (f"matches the certified bounds on {sum(1 for _ in _hull_cases())} cases (tolerance {TOL:g}) "
            "and is invariant under rotation, translation, relabelling; scales correctly.")


def _margin_cases():
    rng = np.random.default_rng(11)
    W = rng.standard_normal((9, 3))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    cube = _cube()
    yield "the regular pentagon, k = 0", _polygon(5), 0
    yield "the cube, k = 3", cube, 3
    yield "a random code (d = 3, K = 9), k = 4", W, 4
    yield "a random code (d = 3, K = 9), k = 8", W, 8


@checker
def margin_direction(fn):
    """``fn(W, k)`` must return a unit feature h ``(d,)`` whose worst one-vs-rest margin
    min_{j != k} <w_k - w_j, h> equals rho_k(W) (the best possible, by the margin duality)."""
    for name, W, k in _margin_cases():
        K, d = W.shape
        h = as_array(call_student(fn, W.copy(), k), f"on {name}, your h", (d,))
        norm = float(np.linalg.norm(h))
        if abs(norm - 1) > TOL:
            raise Fail(f"on {name} your h has norm {norm:.6f}; the duality is over unit features. "
                       "Hint: normalise.")
        others = np.delete(np.arange(K), k)
        worst = float(((W[k] - W[others]) @ h).min())
        det = _details(W)
        if worst < float(det.lower[k]) - TOL:
            raise Fail(f"on {name} the worst margin of your h is below rho_k: a better unit feature "
                       "exists. Hint: point h from the nearest hull point p_k towards w_k.")
    return "every h is a unit vector whose worst one-vs-rest margin equals rho_k (tolerance 1e-6)."


def _cube() -> np.ndarray:
    from ..geometry import cube
    return cube(device="cpu", dtype=torch.float64).numpy()


@checker
def not_optimal(W, better):
    """``better`` must be a unit code of the same shape as ``W`` with rho(better) > rho(W): a
    certificate that ``W`` is not a softmax code."""
    if isinstance(W, str) and W == "cube":
        W = _cube()
    if isinstance(W, torch.Tensor):
        W = W.detach().cpu().numpy()
    W = np.asarray(W, dtype=np.float64) if isinstance(W, (np.ndarray, list, tuple)) else W
    if not isinstance(W, np.ndarray) or W.ndim != 2:
        raise Fail("the first argument should be the (K, d) code you claim is not optimal.")
    W = _unit_code(W, "W", W.shape)
    B = _unit_code(better, "your better code", W.shape)
    r_w, r_b = _rho(W), _rho(B)
    if r_b <= r_w + 1e-9:
        raise Fail(f"your code has rho = {r_b:.6f}, which does not beat rho(W) = {r_w:.6f}. "
                   "Hint: move the vectors that achieve the smallest one-vs-rest distance apart "
                   "(e.g. twist one face), then re-normalise.")
    return (f"rho(better) = {r_b:.6f} > rho(W) = {r_w:.6f} (certified to 1e-9), so W is not a "
            "softmax code.")


def _cross_subset(K: int, d: int) -> np.ndarray:
    """First K rows of ±e_1, ±e_2, ...: for d+2 <= K <= 2d it has >= 2 antipodal pairs (rho = 1)."""
    I = np.eye(d)
    return np.stack([I, -I], axis=1).reshape(2 * d, d)[:K]


def _etf(K: int) -> np.ndarray:
    X = np.eye(K) - 1.0 / K
    U, s, _ = np.linalg.svd(X)
    E = U[:, :K - 1] * s[:K - 1]
    return E / np.linalg.norm(E, axis=1, keepdims=True)


@checker
def softmax_bound(fn):
    """``fn(K, d)`` must return an upper bound on rho(W) valid for every unit code of K vectors in R^d
    that is attained where the lesson proves it is (K <= 2d), and at most 1 once K >= d+2."""
    for d in (2, 3, 4, 5):
        for K in range(2, 2 * d + 5):
            b = as_scalar(call_student(fn, K, d), f"your bound for K={K}, d={d}")
            if K <= d + 1:
                W = np.hstack([_etf(K), np.zeros((K, d - K + 1))])
                known = "the simplex ETF"
            elif K <= 2 * d:
                W = _cross_subset(K, d)
                known = "a cross-polytope subset"
            else:
                W = _polygon(K) if d == 2 else None
                known = "the regular polygon"
            if W is not None:
                r = _rho(W)
                if b < r - 1e-9:
                    raise Fail(f"for K={K}, d={d} your bound is below rho of {known}, so it is not a "
                               "valid upper bound.")
                if K <= 2 * d and b > r + 1e-9:
                    raise Fail(f"for K={K}, d={d} your bound is valid but not tight: {known} attains a "
                               "smaller value. Hint: the averaging argument gives K/(K-1) for every K; "
                               "Radon's theorem gives 1 for K >= d+2.")
            if K >= d + 2 and b > 1 + 1e-9:
                raise Fail(f"for K={K}, d={d} your bound is looser than the one the lesson proves for "
                           "K >= d+2. Hint: Radon's theorem.")
            if b < 0:
                raise Fail(f"for K={K}, d={d} your bound is negative; rho can be positive there.")
    return "valid on every tested (K, d), tight for K <= 2d, and at most 1 for K >= d+2."
