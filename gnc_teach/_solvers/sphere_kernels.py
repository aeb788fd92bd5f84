"""Compiled CPU kernel of the smooth phase of :mod:`codes` for small codes (numba, float64).

:func:`gnc_teach._solvers.sphere_opt.riemannian_adam` on :func:`~gnc_teach._solvers.sphere_opt.softmin_margins` steps
all restarts as one batch of tensors. For a small code on a CPU (d = 3, K = 13: 16 restarts x 400
steps) each step is ~40 tensor ops of a few microseconds' dispatch each, far more than the
arithmetic. Here the same method runs restart by restart, compiled:

    f_tau(W, H) = -tau log sum_{k != j} exp(-m_kj / tau),   m_kj = <w_k - w_j, h_k>,

Riemannian Adam (tangent projection, Adam with bias correction, retraction x -> x/||x||), tau and the
step size annealed geometrically, one start temperature per restart. ``tied=True`` is the Tammes
surrogate (H = W, gradient dW + dH). Same formulas and order of operations as the torch path; the
results agree to rounding (about 1e-10 after 400 steps, measured), not bit for bit.
"""
from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["adam_softmin", "adam_softmin_threads", "set_threads", "threads"]

_jit = numba.njit(cache=True)   # compiled on first call, cached on disk (later processes load it)
_LOG_TINY = math.log(np.finfo(np.float64).tiny)
_LOG_HALF_ULP = math.log(np.finfo(np.float64).eps / 2)


@_jit
def _softmin_grad(W, H, tau, E, G, tied, cut):
    """Soft-min of the margins of one restart: weights into ``E (K, K)``, ascent gradient into
    ``G`` (``(2K, d)``: W part then H part; tied: ``(K, d)``, their sum). Returns ``(f, min margin)``.
    Weights below e^cut (relative to the largest, 1) are set to 0 without calling exp."""
    K, d = W.shape
    mx, mmin = -np.inf, np.inf
    for k in range(K):
        hk = H[k]
        dk = 0.0
        for c in range(d):
            dk += hk[c] * W[k, c]
        for j in range(K):
            if j == k:
                continue
            acc = 0.0
            for c in range(d):
                acc += hk[c] * W[j, c]
            m = dk - acc
            mmin = min(mmin, m)
            E[k, j] = -m / tau
            mx = max(mx, E[k, j])
    s = 0.0
    for k in range(K):
        for j in range(K):
            if j == k:
                E[k, j] = 0.0
                continue
            x = E[k, j] - mx
            E[k, j] = 0.0 if x < cut else math.exp(x)
            s += E[k, j]
    G[:] = 0.0
    off = 0 if tied else K              # where d/dH goes
    for k in range(K):
        rk = 0.0
        for j in range(K):
            e = E[k, j]
            if e == 0.0:
                continue
            rk += e
            for c in range(d):
                G[j, c] -= e * H[k, c]          # -P^T H
                G[off + k, c] -= e * W[j, c]    # -P W
        for c in range(d):
            G[k, c] += rk * H[k, c]             # r * H
            G[off + k, c] += rk * W[k, c]       # r * W
    G /= s
    return -tau * (mx + math.log(s)), mmin


@_jit
def _adam_steps(Xr, m1, m2, t_a, t_b, steps, lr0, lr1, tau0, tau1, tied, cut, E, G, beta1, beta2, eps):
    """Steps ``t_a .. t_b - 1`` (of ``steps``) of Riemannian Adam on f_tau for one restart ``Xr``, in
    place, with its Adam moments ``m1, m2``. Returns the min margin at the result."""
    n, d = Xr.shape
    K = n if tied else n // 2
    W = Xr[:K]
    H = Xr if tied else Xr[K:]
    for t in range(t_a, t_b):
        f = t / max(steps - 1, 1)
        tau = tau0 * (tau1 / tau0) ** f
        lr = lr0 * (lr1 / lr0) ** f
        _softmin_grad(W, H, tau, E, G, tied, cut)
        c1 = 1.0 - beta1 ** (t + 1)
        c2 = 1.0 - beta2 ** (t + 1)
        for i in range(n):
            dot = 0.0
            for c in range(d):
                dot += G[i, c] * Xr[i, c]
            nrm = 0.0
            for c in range(d):
                g = G[i, c] - dot * Xr[i, c]          # tangent projection
                m1[i, c] = beta1 * m1[i, c] + (1 - beta1) * g
                m2[i, c] = beta2 * m2[i, c] + (1 - beta2) * g * g
                Xr[i, c] += lr * ((m1[i, c] / c1) / (math.sqrt(m2[i, c] / c2) + eps))
                nrm += Xr[i, c] * Xr[i, c]
            nrm = max(math.sqrt(nrm), np.finfo(np.float64).tiny)
            for c in range(d):
                Xr[i, c] /= nrm
    return _softmin_grad(W, H, tau1, E, G, tied, cut)[1]


@_jit
def _prepared(X0, K, all_weights):
    """The retracted copy of the starts (as in riemannian_adam) and the exp cut-off (see adam_softmin)."""
    X = X0.copy()
    for r in range(X.shape[0]):
        for i in range(X.shape[1]):
            X[r, i] /= max(math.sqrt((X[r, i] ** 2).sum()), np.finfo(np.float64).tiny)
    return X, (_LOG_TINY if all_weights else _LOG_HALF_ULP - 2.0 * math.log(K))


@_jit
def adam_softmin(X0, steps, lr0, lr1, tau0s, tau1, tied, all_weights=False, prune_at=0, prune_c=2.0,
                 beta1=0.9, beta2=0.999, eps=1e-12):
    """Riemannian Adam maximising f_tau for every restart of ``X0``: ``(R, 2K, d)`` rows W then H, or
    ``(R, K, d)`` with ``tied`` (H = W). ``tau`` goes from ``tau0s[r]`` to ``tau1`` and the step size from
    ``lr0`` to ``lr1``, geometrically over ``steps``. Returns ``(X, min margin at X)``, like
    ``riemannian_adam`` followed by ``softmin_margins`` in :mod:`gnc_teach._solvers.sphere_opt`.

    ``prune_at > 0`` (successive pruning): after that many steps, only the restarts whose min margin
    m_r satisfies m_r + prune_c * tau_r >= max_r' m_r' (tau_r: their temperature then) run on; the
    others stop there (returned as they are, with their min margin then). A restart's min margin
    still rises by O(tau_r) as tau_r -> tau1, so the rule drops those that are far behind.

    The softmax weights that together stay below half an ulp of their sum (each < eps/(2K^2) of the
    largest) are set to 0 without calling exp: 14% faster at d = 3, K = 13, where exp is a quarter of
    the time. They change f by less than rounding; they only move rows whose whole gradient is that
    small (no near-binding margin), by ~1e-7 over a run. ``all_weights=True`` drops only the subnormal
    ones (whose exp is ~30x slower), as the torch path does: for comparing the two."""
    R, n, d = X0.shape
    K = n if tied else n // 2
    X, cut = _prepared(X0, K, all_weights)
    mmin = np.empty(R)
    E = np.empty((K, K))
    G = np.empty((n, d))
    M1 = np.zeros((R, n, d))
    M2 = np.zeros((R, n, d))
    t_a = prune_at if 0 < prune_at < steps else steps
    for r in range(R):
        mmin[r] = _adam_steps(X[r], M1[r], M2[r], 0, t_a, steps, lr0, lr1, tau0s[r], tau1, tied, cut, E, G,
                              beta1, beta2, eps)
    if t_a < steps:
        best = mmin.max()
        f = t_a / max(steps - 1, 1)
        for r in range(R):
            if mmin[r] + prune_c * tau0s[r] * (tau1 / tau0s[r]) ** f >= best:
                mmin[r] = _adam_steps(X[r], M1[r], M2[r], t_a, steps, steps, lr0, lr1, tau0s[r], tau1, tied,
                                      cut, E, G, beta1, beta2, eps)
    return X, mmin


@numba.njit(cache=True, parallel=True)
def adam_softmin_threads(X0, steps, lr0, lr1, tau0s, tau1, tied, all_weights=False, beta1=0.9, beta2=0.999,
                         eps=1e-12):
    """:func:`adam_softmin` without pruning, its restarts spread over numba's threads (``numba.prange``):
    each restart runs on one thread exactly as in :func:`adam_softmin`, so the results are the same
    numbers, only sooner on several cores. For the anytime searches of :mod:`gnc_teach.codes`, which
    use the whole machine; the one-shot solvers stay on one thread."""
    R, n, d = X0.shape
    K = n if tied else n // 2
    X, cut = _prepared(X0, K, all_weights)
    mmin = np.empty(R)
    M1 = np.zeros((R, n, d))
    M2 = np.zeros((R, n, d))
    for r in numba.prange(R):
        E = np.empty((K, K))                     # scratch per restart: restarts run at once
        G = np.empty((n, d))
        mmin[r] = _adam_steps(X[r], M1[r], M2[r], 0, steps, steps, lr0, lr1, tau0s[r], tau1, tied, cut, E, G,
                              beta1, beta2, eps)
    return X, mmin


def threads() -> int:
    """Threads that :func:`adam_softmin_threads` spreads its restarts over (numba's setting: the cores)."""
    return numba.get_num_threads()


def set_threads(n: int) -> None:
    """Let :func:`adam_softmin_threads` use ``n`` threads (at most the cores; set per calling thread), e.g.
    in worker processes that share the cores."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
