"""Wolfe's min-norm-point algorithm with orthogonal (QR) affine steps: the last resort of :mod:`margins`.

The active-set solvers of :mod:`margins` and :mod:`.active_set` factor Q_FF = V_F V_Fᵀ + 11ᵀ (Cholesky).
A point at distance δ from the affine hull of the passive set shows up there as a pivot of size δ², so
below δ ≈ 1e-8 it drowns in rounding: such a point is treated as affinely dependent and exchanged, and
the face found can miss the optimum by ~δ. Near-degenerate inputs do this (a cross-polytope moved by
1e-9: 25 of 180 such codes had rows with gaps up to 1.3e-9). Here the affine minimiser of a face is a
least-squares problem solved by QR of the difference vectors, which resolves δ itself, not δ².

    min ‖Σ_i u_i v_i‖  over u ≥ 0, Σu = 1   (rows v_i = w_j − w_k: p_k = w_k + Σ u_i v_i)

Wolfe (1976): add the point that most decreases ⟨p, v⟩; move to the affine minimiser of the support,
or as far towards it as the weights stay ≥ 0 and drop the point that hits 0. Numpy only, one row at a
time (O(K d) per step): for the few rows that the batched solvers cannot certify.
"""
from __future__ import annotations

import numpy as np

__all__ = ["min_norm_point"]


def _affine_minimiser(V: np.ndarray, S: list[int]) -> np.ndarray:
    """Affine weights y (Σy = 1) of the point of least norm in aff{V[S]}, by QR of the differences."""
    if len(S) == 1:
        return np.ones(1)
    a = V[S[0]]
    D = (V[S[1:]] - a).T                                   # (d, s - 1)
    Q, R = np.linalg.qr(D)
    z = np.linalg.lstsq(R, -(Q.T @ a), rcond=None)[0]      # lstsq: R may be (numerically) singular
    return np.concatenate([[1.0 - z.sum()], z])


def min_norm_point(V: np.ndarray, *, start: int, atol: float, max_steps: int | None = None):
    """Support indices ``(s,)`` and weights ``(s,)`` (≥ 0, sum 1) of the point p of least norm in conv{rows of
    ``V (n, d)``}, starting from the vertex ``start``. Stops once max_v ⟨p, p − v⟩ ≤ atol·‖p‖ (the optimality
    certificate of :mod:`margins`) or after ``max_steps`` major steps (default 10 (d + 1) + 50)."""
    S, u = [int(start)], np.ones(1)
    for _ in range(max_steps or 10 * (V.shape[1] + 1) + 50):
        p = u @ V[S]
        score = V @ p
        score[S] = np.inf
        j = int(np.argmin(score))
        if p @ p - score[j] <= atol * np.sqrt(p @ p):
            break
        S, u = S + [j], np.append(u, 0.0)
        for _ in range(len(S)):                            # minor cycles: each drops one point
            y = _affine_minimiser(V, S)
            if np.all(y > 0):
                u = y
                break
            neg = y <= 0
            ratio = np.full(len(S), np.inf)
            ratio[neg] = u[neg] / (u[neg] - y[neg])
            i = int(np.argmin(ratio))
            u = np.clip(u + ratio[i] * (y - u), 0.0, None)
            u[i] = 0.0                                     # the point that hit 0 leaves, exactly
            keep = u > 0
            S, u = [s for s, k in zip(S, keep) if k], u[keep]
            u = u / u.sum()
    return np.asarray(S, dtype=np.int64), u
