"""Exact float64 polishing of numerical codes (the second phase of :mod:`gnc_teach.codes`).

* softmax codes: the max-min program ``max t  s.t.  <w_k - w_j, h_k> >= t,  ||w_k|| = 1, ||h_k|| <= 1``
  restricted to the near-binding pairs (k, j), solved with SLSQP and re-evaluated exactly
  (its optimal value is rho*(K, d), by margin duality);
* Tammes codes: ``min s  s.t.  <x_i, x_j> <= s,  ||x_i|| = 1`` on the near-binding pairs;
* Thomson/Riesz: L-BFGS on ``E_s(Y / ||Y||)`` with unconstrained ``Y``.

Certificates: :func:`kkt_residual` returns ``min_{mu >= 0, sum mu = 1} ||P_T sum_a mu_a grad c_a||`` over the
binding constraints ``a`` (first-order stationarity of a max-min problem on spheres; 0 at a KKT point).
Everything here is numpy float64 on the CPU: polishing is small dense linear algebra.
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, minimize, nnls

__all__ = ["polish_softmax", "polish_tammes", "hop_tammes", "polish_riesz", "kkt_residual", "riesz_energy_np",
           "max_pairs"]

#: constraints beyond which SLSQP (dense, O(n^3)) is not attempted
max_pairs = 4000


def _unit(X):
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def _tangent(G, X):
    return G - (G * X).sum(-1, keepdims=True) * X


def kkt_residual(grads, points):
    """First-order stationarity residual of ``max min_a c_a`` on products of spheres.

    ``grads (A, m, d)``: gradient of each binding constraint w.r.t. the unit rows ``points (m, d)``.
    Returns ``(residual, mu)`` with ``residual = min ||sum_a mu_a P_T grad_a||`` over the simplex.
    """
    A = len(grads)
    if A == 0:
        return float("inf"), np.zeros(0)
    T = np.stack([_tangent(g, points).ravel() for g in grads], axis=1)   # (m d, A)
    big = 1e3 * max(1.0, np.abs(T).max())
    lam, _ = nnls(np.vstack([T, big * np.ones((1, A))]), np.concatenate([np.zeros(T.shape[0]), [big]]),
                  maxiter=50 * A + 100)
    lam = lam / lam.sum()
    return float(np.linalg.norm(T @ lam)), lam


# ----------------------------------------------------------------------------- softmax codes
def margin_matrix(W, H):
    """``M[k, j] = <w_k - w_j, h_k>``, diagonal set to +inf."""
    S = H @ W.T
    M = np.diag(S)[:, None] - S
    np.fill_diagonal(M, np.inf)
    return M


def _pairs(M, level, cap):
    k, j = np.nonzero(M <= level)
    if len(k) > cap:
        order = np.argsort(M[k, j])[:cap]
        k, j = k[order], j[order]
    return k, j


def slsqp_softmax(W, H, *, delta=0.2, maxiter=400, cap=max_pairs):
    """One SLSQP solve of the max-min margin program on the pairs with margin <= min + delta."""
    K, d = W.shape
    M = margin_matrix(W, H)
    t0 = M.min()
    k, j = _pairs(M, t0 + delta, cap)
    A, n = len(k), 2 * K * d + 1
    rows = np.arange(A)

    def split(z):
        return z[:K * d].reshape(K, d), z[K * d:2 * K * d].reshape(K, d), z[-1]

    def cons(z):
        Wz, Hz, t = split(z)
        return ((Wz[k] - Wz[j]) * Hz[k]).sum(1) - t

    def cons_jac(z):
        Wz, Hz, _ = split(z)
        J = np.zeros((A, n))
        Jw = J[:, :K * d].reshape(A, K, d)
        Jh = J[:, K * d:2 * K * d].reshape(A, K, d)
        Jw[rows, k] += Hz[k]
        Jw[rows, j] -= Hz[k]
        Jh[rows, k] = Wz[k] - Wz[j]
        J[:, -1] = -1.0
        return J

    def wnorm(z):
        return (split(z)[0] ** 2).sum(1) - 1.0

    def wnorm_jac(z):
        Wz = split(z)[0]
        J = np.zeros((K, n))
        J[:, :K * d].reshape(K, K, d)[np.arange(K), np.arange(K)] = 2 * Wz
        return J

    def hnorm(z):
        return 1.0 - (split(z)[1] ** 2).sum(1)

    def hnorm_jac(z):
        Hz = split(z)[1]
        J = np.zeros((K, n))
        J[:, K * d:2 * K * d].reshape(K, K, d)[np.arange(K), np.arange(K)] = -2 * Hz
        return J

    obj_grad = np.zeros(n)
    obj_grad[-1] = -1.0
    z0 = np.concatenate([W.ravel(), H.ravel(), [t0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
        res = minimize(lambda z: -z[-1], z0, jac=lambda z: obj_grad, method="SLSQP",
                       constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac},
                                    {"type": "eq", "fun": wnorm, "jac": wnorm_jac},
                                    {"type": "ineq", "fun": hnorm, "jac": hnorm_jac}],
                       options={"maxiter": maxiter, "ftol": 1e-16})
    Wn, Hn, _ = split(res.x)
    return _unit(Wn), A


#: KKT residual at which the softmax polish stops without a confirming round
KKT_STOP = 1e-9
MAX_SLSQP_VARIABLES = 451   # keeps every default softmax/Tammes run with K <= 250 well under a minute


def polish_softmax(W, evaluate, *, rounds=4, delta=0.2, start=None):
    """Alternate exact evaluation and SLSQP until rho stops improving.

    ``evaluate(W) -> (rho, H)`` returns the exact rho and the margin directions (``start``: their
    values at ``W``, if the caller has them). Returns ``(W, rho, H, info)``; a round is kept only if
    the exactly re-evaluated rho does not decrease.
    """
    rho, H = evaluate(W) if start is None else start
    info = {"polish_rounds": 0, "polish_constraints": 0}
    # dense SLSQP costs O(n^3) per step; measured on 2 cores: 37-49 s at n = 601 (K=100, d=3; K=75,
    # d=4), 117 s at n = 769 (K=128, d=3). Larger codes keep the smooth optimum.
    if 2 * W.size + 1 > MAX_SLSQP_VARIABLES:
        info["polish"] = "skipped (too many variables for dense SLSQP)"
        return W, rho, H, info
    for _ in range(rounds):
        Wn, A = slsqp_softmax(W, H, delta=delta)
        if not np.all(np.isfinite(Wn)):
            break
        rn, Hn = evaluate(Wn)          # -inf if the exact evaluation failed: the round is rejected
        info["polish_rounds"] += 1
        info["polish_constraints"] = A
        if rn < rho - 1e-15:
            delta *= 2                   # a constraint left out bit: widen the active set
            continue
        improved = rn - rho
        W, rho, H = Wn, rn, Hn
        if improved < 1e-14:
            break
        # stationary to 1e-9 at the exact rho and H: another round gains only ~residual^2 (measured
        # < 1e-14 at d = 3, K = 13..30), and at K = 30 it costs as much as the first (~35 ms)
        kkt, nb = softmax_kkt(W, H, rho)
        if kkt <= KKT_STOP:
            info.update(kkt_residual=kkt, binding_pairs=nb)
            break
    info["polish"] = "slsqp"
    return W, rho, H, info


def softmax_kkt(W, H, rho, *, tol=1e-7):
    """KKT residual of the max-min margin program at ``(W, H)``, binding pairs: margin <= rho + tol."""
    K, d = W.shape
    M = margin_matrix(W, H)
    k, j = np.nonzero(M <= rho + tol)
    if len(k) > 2000:
        return float("nan"), len(k)
    grads = np.zeros((len(k), 2 * K, d))
    a = np.arange(len(k))
    grads[a, k] += H[k]
    grads[a, j] -= H[k]
    grads[a, K + k] = W[k] - W[j]
    res, _ = kkt_residual(grads, np.vstack([W, H]))
    return res, len(k)


# ----------------------------------------------------------------------------- Tammes codes
def polish_tammes(X, *, rounds=4, delta=0.2, maxiter=400, cap=max_pairs):
    """SLSQP on ``min s s.t. <x_i, x_j> <= s`` over the pairs with cosine >= max cos - delta."""
    K, d = X.shape
    n = K * d + 1
    info = {"polish_rounds": 0}
    if n > MAX_SLSQP_VARIABLES:
        info["polish"] = "skipped (too many variables for dense SLSQP)"
        return X, info
    best = _max_cos(X)
    for _ in range(rounds):
        G = X @ X.T
        iu, ju = np.triu_indices(K, 1)
        keep = G[iu, ju] >= best - delta
        i, j = iu[keep], ju[keep]
        if len(i) > cap:
            order = np.argsort(-G[i, j])[:cap]
            i, j = i[order], j[order]
        A, rows = len(i), np.arange(len(i))

        def cons(z):
            Xz = z[:-1].reshape(K, d)
            return z[-1] - (Xz[i] * Xz[j]).sum(1)

        def cons_jac(z):
            Xz = z[:-1].reshape(K, d)
            J = np.zeros((A, n))
            Jx = J[:, :-1].reshape(A, K, d)
            Jx[rows, i] = -Xz[j]
            Jx[rows, j] = -Xz[i]
            J[:, -1] = 1.0
            return J

        def eq(z):
            return (z[:-1].reshape(K, d) ** 2).sum(1) - 1.0

        def eq_jac(z):
            Xz = z[:-1].reshape(K, d)
            J = np.zeros((K, n))
            J[:, :-1].reshape(K, K, d)[np.arange(K), np.arange(K)] = 2 * Xz
            return J

        g = np.zeros(n)
        g[-1] = 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (OptimizeWarning, RuntimeWarning))
            res = minimize(lambda z: z[-1], np.concatenate([X.ravel(), [best]]), jac=lambda z: g,
                           method="SLSQP", constraints=[{"type": "ineq", "fun": cons, "jac": cons_jac},
                                                        {"type": "eq", "fun": eq, "jac": eq_jac}],
                           options={"maxiter": maxiter, "ftol": 1e-16})
        Xn = _unit(res.x[:-1].reshape(K, d))
        info["polish_rounds"] += 1
        if not np.all(np.isfinite(Xn)):
            break
        new = _max_cos(Xn)
        if new > best + 1e-15:
            delta *= 2
            continue
        improved = best - new
        X, best = Xn, new
        if improved < 1e-15:
            break
    info["polish"] = "slsqp"
    return X, info


def hop_tammes(X, *, hops, seed=0, scales=(0.03, 0.1, 0.2)):
    """Monotonic basin hopping (Leary 2000) on a polished Tammes code: move every row by Gaussian noise
    of scale ``scales[t % len(scales)]``, re-normalise, polish again, and keep the result only if its
    max cosine drops. It escapes the near-optimal basins that the batched phase 1 can settle in (d = 3,
    N = 28, 29). Returns ``(X, accepted hops)``."""
    rng = np.random.default_rng(seed)
    best, accepted = _max_cos(X), 0
    for t in range(hops):
        Y, _ = polish_tammes(_unit(X + scales[t % len(scales)] * rng.standard_normal(X.shape)))
        mc = _max_cos(Y)
        if mc < best - 1e-12:
            X, best, accepted = Y, mc, accepted + 1
    return X, accepted


def _max_cos(X):
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    return G.max()


def tammes_kkt(X, *, tol=1e-9):
    """KKT residual of ``max min_{i<j} (1 - <x_i, x_j>)`` at ``X`` over the pairs within ``tol`` of max cos."""
    K, d = X.shape
    G = X @ X.T
    np.fill_diagonal(G, -np.inf)
    i, j = np.nonzero(np.triu(G >= G.max() - tol, 1))
    grads = np.zeros((len(i), K, d))
    a = np.arange(len(i))
    grads[a, i] = -X[j]
    grads[a, j] = -X[i]
    res, _ = kkt_residual(grads, X)
    return res, len(i)


# ----------------------------------------------------------------------------- Riesz energy
def riesz_energy_np(X, s=1.0, *, chunk=2048):
    """``sum_{i<j} ||x_i - x_j||^{-s}`` in float64 (``s = 0``: the logarithmic energy ``-sum log||.||``),
    in row blocks (memory O(chunk K)); distances from differences, not from Gram entries, for accuracy."""
    K = len(X)
    total = 0.0
    for i0 in range(0, K, chunk):
        Xi = X[i0:i0 + chunk]
        for a in range(len(Xi)):
            i = i0 + a
            D = np.linalg.norm(X[i + 1:] - Xi[a], axis=1) if K <= chunk else None
            if D is None:
                break
            total += float(-np.log(D).sum()) if s == 0 else float((D ** -s).sum())
        else:
            continue
        # large K: blockwise Gram distances ||x_i - x_j||^2 = |x_i|^2 + |x_j|^2 - 2<x_i, x_j>
        sq = (X ** 2).sum(1)
        D2 = np.maximum(sq[i0:i0 + chunk, None] + sq[None, :] - 2 * Xi @ X.T, 0.0)
        mask = np.arange(K)[None, :] > np.arange(i0, i0 + len(Xi))[:, None]
        D = np.sqrt(D2[mask])
        total += float(-np.log(D).sum()) if s == 0 else float((D ** -s).sum())
    return total


def max_cos_blocks(X, *, chunk=2048):
    """``max_{i != j} <x_i, x_j>`` in row blocks (memory O(chunk K))."""
    best = -np.inf
    for i0 in range(0, len(X), chunk):
        G = X[i0:i0 + chunk] @ X.T
        G[np.arange(G.shape[0]), np.arange(i0, i0 + G.shape[0])] = -np.inf
        best = max(best, float(G.max()))
    return best


def _riesz_value_grad(Xu, s):
    """E_s and its Euclidean gradient at unit rows ``Xu (K, d)``, dense: distances from the differences
    (accurate for close points), gradient sum_j c_ij (x_i - x_j) = x_i sum_j c_ij - (C X)_i with
    c_ij = -s ||x_i - x_j||^(-s-2) (s = 0: -||x_i - x_j||^-2). O(K^2 d) time and memory."""
    K = len(Xu)
    Dv = Xu[:, None, :] - Xu[None, :, :]
    D2 = np.einsum("ijd,ijd->ij", Dv, Dv)
    np.fill_diagonal(D2, 1.0)
    if s == 0:
        E, C = -0.25 * np.log(D2).sum(), -1.0 / D2
    else:
        P = D2 ** (-s / 2)
        E, C = 0.5 * (P.sum() - K), -s * P / D2
    np.fill_diagonal(C, 0.0)
    return E, Xu * C.sum(1, keepdims=True) - C @ Xu


#: polish_riesz evaluates densely (O(K^2 d) memory) up to this K, by pairs in row blocks above
RIESZ_DENSE_MAX_K = 1024


def polish_riesz(X, s=1.0, *, gtol=1e-13, maxiter=5000):
    """L-BFGS on ``Y -> E_s(Y/||Y||)``; returns ``(X, info)`` with the final tangent-gradient norm."""
    K, d = X.shape
    if K > RIESZ_DENSE_MAX_K:
        i, j = np.triu_indices(K, 1)

    def f(y):
        Y = y.reshape(K, d)
        nrm = np.linalg.norm(Y, axis=1, keepdims=True)
        Xu = Y / nrm
        if K <= RIESZ_DENSE_MAX_K:
            E, Gx = _riesz_value_grad(Xu, s)
        else:
            Dv = Xu[i] - Xu[j]
            D = np.linalg.norm(Dv, axis=1)
            if s == 0:
                E, c = -np.log(D).sum(), -1.0 / D ** 2
            else:
                E, c = (D ** -s).sum(), -s * D ** (-s - 2)
            Gx = np.zeros((K, d))
            np.add.at(Gx, i, c[:, None] * Dv)
            np.add.at(Gx, j, -c[:, None] * Dv)
        Gy = (Gx - (Gx * Xu).sum(1, keepdims=True) * Xu) / nrm
        return E, Gy.ravel()

    res = minimize(f, X.ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter, "gtol": gtol, "ftol": 1e-16, "maxcor": 30})
    Xn = _unit(res.x.reshape(K, d))
    gnorm = float(np.linalg.norm(f(Xn.ravel())[1]))
    return Xn, {"polish": "l-bfgs", "grad_norm": gnorm, "polish_iterations": int(res.nit)}
