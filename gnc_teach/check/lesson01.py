"""Self-checks for lesson 01 (the simplex ETF and neural collapse).

* :func:`ufm_training` — a from-scratch trainer of the weight-decay UFM, compared with the global minimum
  that the package's ``train_ufm`` reaches (its value, computed from the lesson's one-parameter family,
  agrees with ``train_ufm`` to ~1e-16; tests/test_check_lesson01.py checks that);
* :func:`spread_points` — the judge of the open-ended task: K unit vectors with a small largest cosine.

Each check computes what it compares in float64 itself; results may be torch tensors, numpy arrays or lists.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import geometry
from ._core import Fail, as_array, call_student, checker

__all__ = ["ufm_training", "spread_points", "UFM_CASES", "SPREAD_TARGETS"]

#: (K, d, n, lam_W, lam_H) of the UFM check: d = K-1, d > K-1, unequal weight decays, above the threshold
UFM_CASES = [(4, 3, 5, 5e-3, 5e-3), (3, 5, 4, 1e-2, 1e-2), (4, 6, 3, 1e-2, 1e-3), (4, 3, 5, 0.2, 0.2)]
OBJECTIVE_TOL = 1e-8   # the trainer must reach the minimum value to this (absolute; values are O(1))
#: (K, d) -> the largest cosine the judge accepts, and what is known there
SPREAD_TARGETS = {
    (4, 3): (-1 / 3 + 1e-6, "the simplex ETF reaches Rankin's bound -1/3"),
    (6, 3): (1e-6, "the octahedron reaches the orthoplex bound 0"),
    (8, 3): (0.2620, "the best known value is 0.26120 (a square antiprism)"),
    (13, 3): (0.5460, "the best known value is 0.54264 (Tammes' problem for 13 points)"),
}


# ------------------------------------------------------------------------------ the weight-decay UFM
def ufm_objective(W, H, n: int, lam_W: float, lam_H: float) -> float:
    """(1/N) Σ_i CE(W h_i, y_i) + λ_W/2 ‖W‖² + λ_H/2 ‖H‖² for class-major labels (n per class), float64."""
    W, H = torch.as_tensor(W, dtype=torch.float64), torch.as_tensor(H, dtype=torch.float64)
    y = torch.arange(W.shape[0]).repeat_interleave(n)
    ce = torch.nn.functional.cross_entropy(H @ W.T, y)
    return float(ce + lam_W / 2 * W.pow(2).sum() + lam_H / 2 * H.pow(2).sum())


def ufm_minimum(K: int, n: int, lam_W: float, lam_H: float) -> float:
    """The global minimum value of the weight-decay UFM with d >= K-1 (lesson 01, §5): the minimum over t >= 0
    of log(1 + (K-1) e^{-K t/(K-1)}) + K sqrt(λ_W λ_H n) t, a convex function of one variable."""
    s = K * math.sqrt(lam_W * lam_H * n)

    def f(t):
        return math.log1p((K - 1) * math.exp(-K * t / (K - 1))) + s * t

    def df(t):
        e = (K - 1) * math.exp(-K * t / (K - 1))
        return s - K / (K - 1) * e / (1 + e)

    if df(0.0) >= 0:
        return f(0.0)
    lo, hi = 0.0, 1.0
    while df(hi) < 0:
        hi *= 2
    for _ in range(200):   # bisection on the derivative: exact to rounding
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if df(mid) < 0 else (lo, mid)
    return f((lo + hi) / 2)


def _pair(out, K, d, N, what):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Fail(f"{what} should return a pair (W, H), got {type(out).__name__}"
                   f"{'' if not isinstance(out, (tuple, list)) else f' of length {len(out)}'}.")
    return as_array(out[0], f"the W of {what}", (K, d)), as_array(out[1], f"the H of {what}", (N, d))


@checker
def ufm_training(fn):
    """``fn(K, d, n, lam_W, lam_H, seed=0)`` must return ``(W (K, d), H (K n, d))`` (rows of H class-major: n
    rows of class 0, then class 1, ...) at the global minimum of the weight-decay UFM: within 1e-8 of its
    value, on every case of :data:`UFM_CASES`; below the weight-decay threshold the rows of W then form a
    simplex ETF."""
    for K, d, n, lam_W, lam_H in UFM_CASES:
        what = f"your function({K}, {d}, {n}, {lam_W:g}, {lam_H:g})"
        W, H = _pair(call_student(fn, K, d, n, lam_W, lam_H, seed=0), K, d, K * n, what)
        value, best = ufm_objective(W, H, n, lam_W, lam_H), ufm_minimum(K, n, lam_W, lam_H)
        if value > best + OBJECTIVE_TOL:
            if abs(value - math.log(K)) < 1e-6 and best < math.log(K) - 1e-3:
                raise Fail(f"{what}: your model collapsed to W = H = 0 (objective log K), but here the minimum "
                           f"is {best:.6f} < log K. Hint: the weight decay is below the threshold.")
            by_class = np.argsort((H @ W.T).argmax(1), kind="stable")   # rows sorted by predicted class
            hint = (" Hint: the rows of H must be class-major (n of class 0, then n of class 1, ...)."
                    if ufm_objective(W, H[by_class], n, lam_W, lam_H) <= best + OBJECTIVE_TOL else
                    " Hint: compare your objective with the lesson's (mean cross-entropy, λ/2 ‖·‖²), and train "
                    "until it stops changing.")
            raise Fail(f"{what} ends at objective {value:.10f}, {value - best:.1e} above the global minimum "
                       f"{best:.10f} (what train_ufm reaches).{hint}")
        if K * math.sqrt(lam_W * lam_H * n) < 1:   # below the threshold: an ETF, up to the precision reached
            err = float((geometry.gram(geometry.normalize_rows(torch.as_tensor(W))) -
                         geometry.gram(geometry.simplex_etf(K))).abs().max())
            if err > 1e-3:
                raise Fail(f"{what} reaches the minimum value but its classifier is {err:.1e} away from a simplex "
                           "ETF; that cannot happen at a global minimum. Hint: return the trained W, not a copy "
                           "of an earlier one.")
    return (f"reaches the global minimum (to {OBJECTIVE_TOL:g}) on {len(UFM_CASES)} settings, below and above the "
            "weight-decay threshold.")


# ------------------------------------------------------------------------------ spreading points
@checker
def spread_points(fn):
    """The judge of the open-ended task: ``fn(K, d)`` must return K unit vectors in R^d whose largest
    pairwise cosine is at most the target of :data:`SPREAD_TARGETS` for every (K, d) there."""
    found = []
    for (K, d), (target, known) in SPREAD_TARGETS.items():
        what = f"your function({K}, {d})"
        W = as_array(call_student(fn, K, d), what, (K, d))
        err = float(np.abs(np.linalg.norm(W, axis=1) - 1).max())
        if err > 1e-6:
            raise Fail(f"{what}: the rows are not unit vectors (largest | ‖w_k‖ - 1 | = {err:.1e}).")
        c = geometry.max_cos(torch.from_numpy(W))
        if c > target:
            raise Fail(f"{what}: largest cosine {c:.5f}; the judge accepts at most {target:.5f} ({known}). "
                       "Not yet: keep improving your search.")
        found.append(f"{K}/{d}: {c:+.5f}")
    return "largest cosines " + ", ".join(found) + ": every target met."
