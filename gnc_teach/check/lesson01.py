"""Self-checks for lesson 01 (the simplex ETF and neural collapse).

Each check takes the student's function, runs it on a few inputs, and tests properties (norms, Gram
entries, invariances, known bounds) in float64. Results may be torch tensors, numpy arrays or lists.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import geometry, metrics
from ._core import Fail, as_array, as_scalar, call_student, checker, run_student

__all__ = ["simplex_etf", "simplex_gap", "class_means", "nc1", "spread_points"]

TOL = 1e-6  # float64 answers are exact to ~1e-12; 1e-6 also accepts a careful float32 answer
REL = 1e-4  # relative tolerance for NC1, whose float32 value loses digits to the pseudo-inverse


def _rng(seed):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ the simplex ETF
@checker
def simplex_etf(fn):
    """``fn(K, d)`` must return a ``(K, d)`` simplex ETF for d >= K-1 and raise ValueError for d < K-1."""
    for K, d in [(2, 1), (3, 2), (4, 3), (5, 4), (3, 5), (6, 8)]:
        what = f"your function({K}, {d})"
        W = as_array(call_student(fn, K, d), what, (K, d))
        norms = np.linalg.norm(W, axis=1)
        k = int(np.argmax(np.abs(norms - 1)))
        if abs(norms[k] - 1) > TOL:
            raise Fail(f"rows are not unit vectors: for K={K}, d={d} row {k} has norm {norms[k]:.3g}. "
                       "Hint: find the constant that scales the rows to length 1.")
        s = np.linalg.norm(W.sum(axis=0))
        if s > TOL:
            raise Fail(f"for K={K}, d={d} the rows do not sum to zero (‖Σ w_k‖ = {s:.3g}). "
                       "Hint: an ETF is centred; subtract the mean of the standard basis vectors.")
        G = W @ W.T
        off = G - np.diag(np.diag(G))
        err = np.abs(off + 1 / (K - 1)) * (1 - np.eye(K))
        j, k = np.unravel_index(np.argmax(err), err.shape)
        if err[j, k] > TOL:
            raise Fail(f"for K={K}, d={d} rows {j} and {k} have inner product {G[j, k]:.4g}, but "
                       f"every distinct pair of an ETF has inner product -1/(K-1) = {-1 / (K - 1):.4g}. "
                       "Hint: the rows of the centred identity I_K - 11ᵀ/K all make the same angle.")
    for K, d in [(5, 3), (4, 1)]:
        try:
            run_student(fn, K, d)
        except ValueError as exc:
            if not str(exc).strip():
                raise Fail(f"your function({K}, {d}) raises ValueError without a message. Hint: "
                           "say why, e.g. which d would work.") from None
            continue
        except NotImplementedError:
            raise Fail("not implemented yet: replace the `raise NotImplementedError` stub.") from None
        except Exception as exc:
            raise Fail(f"your function({K}, {d}) raised {type(exc).__name__}; for d < K-1 raise a "
                       "ValueError that says why no simplex ETF exists.") from None
        raise Fail(f"your function({K}, {d}) returned a result, but no simplex ETF of {K} vectors "
                   f"exists in R^{d}. Hint: raise ValueError when d < K-1 (the rank argument).")
    return "unit rows, zero sum, Gram off-diagonals -1/(K-1) for 6 (K, d); ValueError for d < K-1."


# ------------------------------------------------------------------------------ Rankin's simplex bound
def _max_cos(W: torch.Tensor) -> float:
    return geometry.max_cos(W)


@checker
def simplex_gap(fn):
    """``fn(W)`` for a ``(K, d)`` tensor: max_{j != k} cos(w_j, w_k) - (-1/(K-1)) (>= 0 by Rankin's simplex
    bound, 0 iff the normalised rows form a simplex ETF)."""
    cases = []
    for i, (K, d) in enumerate([(3, 2), (5, 3), (10, 4), (4, 6)]):
        X = torch.randn(K, d, generator=_rng(i), dtype=torch.float64)
        X = X * (0.5 + torch.rand(K, 1, generator=_rng(100 + i), dtype=torch.float64))  # not unit
        cases.append(X)
    for X in cases:
        K = X.shape[0]
        got = as_scalar(call_student(fn, X.clone()), f"your function on a ({K}, {X.shape[1]}) input")
        ref = _max_cos(X) + 1 / (K - 1)
        if abs(got - ref) <= TOL:
            continue
        G = X @ X.T
        inner = float((G - torch.diag(torch.full((K,), math.inf, dtype=G.dtype))).max())
        if abs(got - (1 + 1 / (K - 1))) <= TOL:
            raise Fail("your gap is 1 + 1/(K-1) for every input: the diagonal cos(w_k, w_k) = 1 crept "
                       "into the maximum. Hint: only pairs j != k count.")
        if abs(got - (inner + 1 / (K - 1))) <= TOL:
            raise Fail("your gap is right for unit rows only: the input rows are not normalised. "
                       "Hint: use cosines, i.e. normalise the rows first.")
        if abs(got - (ref - 2 / (K - 1))) <= TOL:
            raise Fail("sign slip: the bound is -1/(K-1), and the gap is max cos minus the bound.")
        if got < -TOL:
            raise Fail(f"your gap is negative ({got:.3g}) for a random ({K}, {X.shape[1]}) input, "
                       "which the simplex bound forbids. Hint: max, not min, over the pairs.")
        raise Fail(f"your gap {got:.4g} is wrong for a random ({K}, {X.shape[1]}) input. Hint: the "
                   "largest cosine over distinct pairs, minus -1/(K-1).")
    for K, d in [(4, 3), (5, 7)]:
        W = geometry.simplex_etf(K, d, seed=K)
        got = as_scalar(call_student(fn, W.clone()), f"your function on a ({K}, {d}) simplex ETF")
        if abs(got) > TOL:
            raise Fail(f"on a rotated simplex ETF (K={K}, d={d}) your gap is {got:.3g}, not 0.")
    return "nonnegative on random configurations, 0 on simplex ETFs, scale-invariant."


# ------------------------------------------------------------------------------ NC1
def _features(seed, K, d, n, *, unequal=False):
    g = _rng(seed)
    M = 3 * torch.randn(K, d, generator=g, dtype=torch.float64)
    counts = [n + (k if unequal else 0) for k in range(K)]
    y = torch.cat([torch.full((c,), k, dtype=torch.long) for k, c in enumerate(counts)])
    y = y[torch.randperm(len(y), generator=g)]  # labels in no particular order
    H = M[y] + torch.randn(len(y), d, generator=g, dtype=torch.float64)
    return H, y


@checker
def class_means(fn):
    """``fn(H, y)`` for ``H (N, d)``, labels ``y (N,)`` in 0..K-1: the ``(K, d)`` class means, row k = class k."""
    for seed, (K, d, n) in enumerate([(3, 2, 4), (5, 3, 6), (4, 7, 3)]):
        H, y = _features(seed, K, d, n, unequal=True)
        what = f"your function on N={len(y)} features of K={K} classes in R^{d}"
        M = as_array(call_student(fn, H.clone(), y.clone()), what, (K, d))
        ref = metrics.class_means(H, y).numpy()
        if np.allclose(M, ref, atol=1e-5, rtol=1e-5):
            continue
        counts = np.bincount(y.numpy(), minlength=K)[:, None]
        if np.allclose(M, ref * counts, atol=1e-6):
            raise Fail("you returned class sums: divide by the number of samples of each class.")
        if np.allclose(M, H.numpy().mean(0), atol=1e-6):
            raise Fail("every row is the global mean: average only the rows of H with label k.")
        if np.allclose(np.sort(M, axis=0), np.sort(ref, axis=0), atol=1e-6):
            raise Fail("the rows are the class means in the wrong order: row k must be class k.")
        raise Fail(f"row {int(np.argmax(np.abs(M - ref).max(1)))} is not the mean of its class "
                   "(classes have unequal sizes and the labels are shuffled). Hint: H[y == k].")
    return "row k is the mean of class k (shuffled labels, unequal class sizes)."


@checker
def nc1(fn):
    """``fn(H, y)``: NC1 = tr(Σ_W Σ_B^†)/K, with Σ_W = (1/N) Σ_i (h_i - μ_{y_i})(·)ᵀ, Σ_B = (1/K) Σ_k (μ_k - μ_G)(·)ᵀ."""
    for seed, (K, d, n) in enumerate([(4, 3, 5), (3, 6, 4), (6, 5, 3)]):
        H, y = _features(10 + seed, K, d, n)
        what = f"your function on K={K} balanced classes in R^{d}"
        singular = ". Hint: when d > K-1, Σ_B is singular; use the pseudo-inverse." if d > K - 1 else ""
        try:
            got = as_scalar(call_student(fn, H.clone(), y.clone()), what)
        except Fail as exc:
            raise Fail(f"{exc}{singular if 'raised' in str(exc) else ''}") from None
        ref = metrics.nc1(H, y)
        if math.isclose(got, ref, rel_tol=REL, abs_tol=1e-9):
            continue
        ratio = got / ref
        if math.isclose(ratio, K, rel_tol=1e-6):
            raise Fail(f"{what} is off by a factor K: the trace is divided by K.")
        if any(math.isclose(ratio, r, rel_tol=1e-6) for r in
               (K / (K - 1), (K - 1) / K, n * K / (n * K - 1), (n * K - 1) / (n * K))):
            raise Fail(f"{what} is off by a small factor: Σ_W and Σ_B use 1/N and 1/K, "
                       "not an unbiased 1/(N-1) or 1/(K-1).")
        if d > K - 1 and (abs(got) > 1e6 * max(ref, 1) or got < 0):
            raise Fail(f"{what} gives {got:.3g}: when d > K-1 the matrix Σ_B is singular. "
                       "Hint: use the pseudo-inverse (torch.linalg.pinv), not the inverse.")
        raise Fail(f"{what} gives {got:.4g}, which is not tr(Σ_W Σ_B^†)/K. Hint: centre the class "
                   "means at the global mean for Σ_B, and use h_i - μ_{y_i} for Σ_W.")
    # Properties: zero for collapsed features, invariant to rotation, scale and translation.
    H, y = _features(20, 4, 3, 5)
    M = metrics.class_means(H, y)
    if abs(as_scalar(call_student(fn, M[y].clone(), y.clone()), "NC1 of collapsed features")) > 1e-6:
        raise Fail("when every feature equals its class mean (full collapse) NC1 must be 0.")
    Q = geometry.random_rotation(3, seed=1)
    moved = 2.5 * H @ Q.T + torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    a = as_scalar(call_student(fn, H.clone(), y.clone()), "NC1")
    b = as_scalar(call_student(fn, moved, y.clone()), "NC1 of rotated, scaled, shifted features")
    if not math.isclose(a, b, rel_tol=REL):
        raise Fail("NC1 changed when the features were rotated, scaled and shifted; it must not.")
    return "matches tr(Σ_W Σ_B^†)/K for d = K-1 and d > K-1; 0 under collapse; invariant."


# ------------------------------------------------------------------------------ spreading points
@checker
def spread_points(fn):
    """``fn(K, d)``: K unit vectors in R^d with small max cosine (found by optimisation).

    Passes when the optimiser reaches the simplex bound -1/(K-1) (within 0.02) where a simplex ETF
    exists, and stays within 0.1 of the best possible value 0 for K=5, d=3 (where no ETF exists: for
    K >= d+2 the largest cosine is >= 0, Rankin's orthoplex bound, and ±e1, ±e2, e3 reach 0).
    """
    found = {}
    for K, d in [(3, 2), (4, 3), (5, 3)]:
        W = as_array(call_student(fn, K, d), f"your function({K}, {d})", (K, d))
        norms = np.linalg.norm(W, axis=1)
        if np.abs(norms - 1).max() > 1e-4:
            raise Fail(f"for K={K}, d={d} the rows are not unit vectors (norms {norms.min():.3g}.."
                       f"{norms.max():.3g}). Hint: normalise the rows after each step and at the end.")
        found[K, d] = c = geometry.max_cos(torch.from_numpy(W))
        bound = -1 / (K - 1)
        if K <= d + 1 and c > bound + 0.02:
            raise Fail(f"for K={K}, d={d} your points have max cos {c:.3f}, but an ETF reaches "
                       f"{bound:.3f}. Hint: more steps, a sharper soft-max, or another start.")
    c = found[5, 3]
    if c > 0.1:
        raise Fail(f"for K=5, d=3 your max cos is {c:.3f}; much better configurations exist. "
                   "Hint: more steps, or several random starts.")
    return (f"reaches the simplex bound for K ≤ d+1; for K=5, d=3 max cos = {c:.3f} ≥ 0 > -1/4: "
            "no ETF there.")
