"""Compiled per-row active set for the nearest hull points of :mod:`margins` (CPU, numba).

The batched torch solver in :mod:`margins` steps every row in lockstep; on a CPU each of its ~80 tensor
ops per step costs a few microseconds of dispatch, whatever the size. For K up to a few thousand that
overhead is most of the run time. Here each row runs the same Lawson–Hanson method on its own, compiled:

    min_{u ≥ 0} ½uᵀQu − 1ᵀu,  Q = VVᵀ + 11ᵀ,  V: rows v_j = w_j − w_k (j in the candidates),  λ = u / Σu,

with a Cholesky factor of Q_FF grown by bordering (O(s·d + s²) per added point) and rebuilt when a point
leaves. Two entry points: :func:`min_norm_rows` solves over given candidate sets (the widening rounds
of :mod:`margins`); :func:`nearest_hull_points` solves every row over all other rows, pricing all of
them from the Gram matrix at each step (small K). An entering point that is (almost) affinely dependent
on the passive set (faces with more than d coplanar points, common in optimised codes) is exchanged for
a passive point, as in the simplex method (:func:`_exchange`). It proves nothing itself: the caller
certifies every row against all K rows and re-solves failures with the torch solver's degenerate
machinery, and then with Wolfe's method (:mod:`.wolfe`). :mod:`margins` imports this module on first use; without numba (or off the CPU)
the torch path runs.
"""
from __future__ import annotations

import numba
import numpy as np

# Compiled on the first call and cached on disk by numba, so later processes only load it (~0.2 s).
# error_model="numpy": no zero-division checks (every division here is by a pivot or sum kept > 0);
# the small helpers are inlined into the row loops. Together -7 to -12% at K = 200, d = 10, where a
# row takes ~9 steps of ~0.5 µs and call and check overheads were a visible part of each step.
_jit = numba.njit(cache=True, error_model="numpy")
_inline = numba.njit(cache=True, error_model="numpy", inline="always")

__all__ = ["hull_certificates", "min_norm_rows", "nearest_hull_points"]


@_inline
def _chol(QF, L, s):
    """Cholesky L Lᵀ = QF[:s, :s] in place of L; False if not positive definite."""
    for i in range(s):
        for j in range(i + 1):
            acc = QF[i, j]
            for t in range(j):
                acc -= L[i, t] * L[j, t]
            if i == j:
                if acc <= 0.0:
                    return False
                L[i, i] = np.sqrt(acc)
            else:
                L[i, j] = acc / L[j, j]
    return True


@_inline
def _solve_ones(L, s, z):
    """z[:s] = (L Lᵀ)^{-1} 1."""
    for i in range(s):
        acc = 1.0
        for t in range(i):
            acc -= L[i, t] * z[t]
        z[i] = acc / L[i, i]
    for i in range(s - 1, -1, -1):
        acc = z[i]
        for t in range(i + 1, s):
            acc -= L[t, i] * z[t]
        z[i] = acc / L[i, i]


@_inline
def _drop(F, QF, u, s, t):
    """Remove slot t from the passive set (F, QF, u hold s entries); returns the new size."""
    for i in range(t, s - 1):
        F[i] = F[i + 1]
        u[i] = u[i + 1]
    for i in range(t, s - 1):
        for j in range(s):
            QF[i, j] = QF[i + 1, j]
    for j in range(t, s - 1):
        for i in range(s - 1):
            QF[i, j] = QF[i, j + 1]
    return s - 1


@_inline
def _feasible(F, QF, L, u, z, s):
    """Lawson–Hanson inner loop: move u (feasible on F) towards z = argmin on F, dropping the passive
    points whose weight reaches 0, until z > 0; then u = z. Returns the size of F (factor L is current)."""
    while True:
        _solve_ones(L, s, z)
        t, alpha = -1, np.inf
        for i in range(s):
            if z[i] <= 0.0:
                den = u[i] - z[i]
                ratio = u[i] / den if den > 0.0 else 0.0
                if ratio < alpha:
                    t, alpha = i, ratio
        if t < 0:
            for i in range(s):
                u[i] = z[i]
            return s
        alpha = min(max(alpha, 0.0), 1.0)
        for i in range(s):
            u[i] += alpha * (z[i] - u[i])
        s = _drop(F, QF, u, s, t)
        _chol(QF, L, s)  # a principal submatrix of a positive definite matrix: cannot fail


@_inline
def _qf(X, k, a, b):
    """Q_ab = 1 + ⟨x_a − x_k, x_b − x_k⟩ (differences first: no cancellation for close points)."""
    acc = 1.0
    for c in range(X.shape[1]):
        acc += (X[a, c] - X[k, c]) * (X[b, c] - X[k, c])
    return acc


@_inline
def _start(X, k, j, QF, L, F, u):
    """The singleton passive set {j} (exact: its minimiser is u = 1/Q_jj); returns its size 1."""
    F[0], QF[0, 0], u[0] = j, _qf(X, k, j, j), 0.0
    L[0, 0] = np.sqrt(QF[0, 0])
    return 1


@_inline
def _border(X, k, j, QF, L, F, u, s):
    """Add x_j to the passive set F[:s] by bordering the Cholesky factor: L l = Q[F, j],
    σ = Q_jj − ‖l‖². Returns False, changing nothing, if x_j is (almost) in aff(F) (σ ≤ 1e-12·Q_jj)."""
    qjj = _qf(X, k, j, j)
    sig = qjj
    for a in range(s):
        acc = _qf(X, k, F[a], j)
        QF[a, s] = QF[s, a] = acc
        for t in range(a):
            acc -= L[a, t] * L[s, t]
        L[s, a] = acc / L[a, a]
        sig -= L[s, a] * L[s, a]
    if sig <= 1e-12 * qjj:
        return False
    QF[s, s], L[s, s], F[s], u[s] = qjj, np.sqrt(sig), j, 0.0
    return True


@_jit
def _exchange(X, k, j, QF, L, F, u, z, s):
    """Degenerate step: x_j priced in but (almost) in aff(F), so ``_border`` refused it (it left
    ``Q[F, j]`` in QF[:s, s] and l = L⁻¹Q[F, j] in L[s, :s]). Write x_j ≈ Σ a_i x_{F_i} with Σa = 1
    (a = Q_FF⁻¹ Q[F, j]), move weight θ from the a_i > 0 to j until the first u_i reaches 0 (p moves by at
    most θ·dist(x_j, aff F)), and swap that point for j: the simplex method's exchange. It happens at
    faces with more than d coplanar points, as in optimised codes (d = 3, K = 13: near-square faces).
    Returns the new size, or -1 with F, u unchanged when no point can leave."""
    for i in range(s - 1, -1, -1):            # a = L⁻ᵀ l
        acc = L[s, i]
        for t in range(i + 1, s):
            acc -= L[t, i] * z[t]
        z[i] = acc / L[i, i]
    t, theta = -1, np.inf
    for i in range(s):
        if z[i] > 1e-9 and u[i] / z[i] < theta:
            t, theta = i, u[i] / z[i]
    if t < 0:
        return -1
    for i in range(s):
        u[i] = max(u[i] - theta * z[i], 0.0)
    s = _drop(F, QF, u, s, t)
    _chol(QF, L, s)                           # a principal submatrix: cannot fail
    if not _border(X, k, j, QF, L, F, u, s):  # rounding: j still dependent on the rest (a_t tiny)
        return s
    u[s] = theta
    return s + 1


@_inline
def _final_weights(QF, L, u, z, s):
    """u[:s] = the simplex weights of the minimiser on F, from a fresh factor (free of update drift).
    If rounding broke the factorisation, the vertex F[0] (weight 1): still a feasible point, which
    the caller's certificate then rejects."""
    tot = 0.0
    if _chol(QF, L, s):
        _solve_ones(L, s, z)
        for i in range(s):
            u[i] = max(z[i], 0.0)
            tot += u[i]
    if not (0.0 < tot < np.inf):
        u[:s] = 0.0
        u[0] = tot = 1.0
    for i in range(s):
        u[i] /= tot


@_jit
def _on_candidates_row(X, k, cand, init, eps, max_steps, QF, L, F, u, z, y, mark):
    """Lawson–Hanson for row k over the rows cand (global indices), from the passive set ``init``
    (booleans over cand; empty or infeasible: the nearest candidate). Pricing: the gradient entry of
    candidate j is 1 − Σu − ⟨x_j − x_k, y⟩, y = Σ_i u_i (x_{F_i} − x_k). Returns s; F[:s], u[:s] hold
    the passive set (global indices) and its simplex weights."""
    d = X.shape[1]
    s_max = F.shape[0] - 1
    s = 0
    for j in range(init.shape[0]):
        if init[j] and s < s_max:
            F[s], u[s] = cand[j], 0.0
            s += 1
    for a in range(s):
        for b in range(a + 1):
            QF[a, b] = QF[b, a] = _qf(X, k, F[a], F[b])
    if s == 0 or not _chol(QF, L, s):
        best, jb = np.inf, 0
        for j in cand:
            q = _qf(X, k, j, j)
            if q < best:
                best, jb = q, j
        s = _start(X, k, jb, QF, L, F, u)
    s = _feasible(F, QF, L, u, z, s)
    for _ in range(max_steps):
        su, xky = 0.0, 0.0
        y[:] = 0.0
        for i in range(s):
            su += u[i]
            mark[F[i]] = True
            for c in range(d):
                y[c] += u[i] * (X[F[i], c] - X[k, c])
        for c in range(d):
            xky += X[k, c] * y[c]
        wmax, j = -np.inf, -1
        for g in cand:
            if not mark[g]:
                acc = 1.0 - su + xky
                for c in range(d):
                    acc -= X[g, c] * y[c]
                if acc > wmax:
                    wmax, j = acc, g
        for i in range(s):
            mark[F[i]] = False
        if wmax <= eps or s >= s_max:
            break  # optimal or full: the caller's certificate judges
        if _border(X, k, j, QF, L, F, u, s):
            s += 1
        else:
            s2 = _exchange(X, k, j, QF, L, F, u, z, s)
            if s2 < 0:
                break
            s = s2
        s = _feasible(F, QF, L, u, z, s)
    _final_weights(QF, L, u, z, s)
    return s


@_inline
def _max(w):
    """max(w) for finite or ±inf entries over four independent running maxima (a vectorisable reduction)."""
    n = w.shape[0]
    m0 = m1 = m2 = m3 = -np.inf
    i = 0
    while i + 4 <= n:
        a0, a1, a2, a3 = w[i], w[i + 1], w[i + 2], w[i + 3]
        m0, m1 = (a0 if a0 > m0 else m0), (a1 if a1 > m1 else m1)
        m2, m3 = (a2 if a2 > m2 else m2), (a3 if a3 > m3 else m3)
        i += 4
    m = max(max(m0, m1), max(m2, m3))
    for t in range(i, n):
        m = max(m, w[t])
    return m


@_inline
def _argmax(w):
    """np.argmax for finite or ±inf entries, ~2x faster here: the first index of :func:`_max`."""
    m = _max(w)
    for t in range(w.shape[0]):
        if w[t] == m:
            return t
    return 0


@_jit
def _top(w, cand, cv):
    """The len(cand) largest entries of w: indices into ``cand``, values into ``cv`` (in no order). Returns
    how many were filled (fewer only when w is shorter)."""
    nT, nc, lo, ilo = cand.shape[0], 0, np.inf, 0
    for g in range(w.shape[0]):
        x = w[g]
        if nc < nT:
            cand[nc], cv[nc] = g, x
            nc += 1
            if nc < nT:
                continue
        elif x > lo:
            cand[ilo], cv[ilo] = g, x
        else:
            continue
        lo, ilo = cv[0], 0                      # the smallest kept entry: the one to replace next
        for t in range(1, nT):
            if cv[t] < lo:
                lo, ilo = cv[t], t
    return nc


# The same Lawson–Hanson loop as _on_candidates_row with its own pricing. One loop taking either
# pricing (a branch, or the pricing function as an argument, even inlined) measured 4-7% slower here;
# so did moving the shared "border, else exchange" step into a helper (~5% at K = 200).
@_jit
def _on_all_row(X, G, k, eps, max_steps, QF, L, F, u, z, w, cand, cv, inF):
    """Lawson–Hanson for row k over all other rows, priced from the Gram matrix G = XXᵀ:
    w_g = 1 − Σu + Σ_i u_i (G[k, F_i] − G[k, k]) + Σu·G[k, g] − Σ_i u_i G[F_i, g] (a few ulps off the
    exact gradient, far below eps; Q_FF itself is formed from differences). Starts at the nearest row.

    Multiple pricing (len(cand) > 0): a pass over all rows keeps the len(cand) most violating ones; the
    next steps re-price only those (a gather each) and enter the best that still violates, until none
    does; then all rows are priced again, so the optimality test is always over all rows. At K = 600,
    d = 32 a row takes ~16 steps with ~8 passive points, and the passes over all rows were most of the
    time (measured: K = 600, d = 32: -22%; K = 2000, d = 64: -39%; at K = 200, d = 10 it costs +30%, so
    :func:`nearest_hull_points` uses it from K = MULTIPLE_PRICING_MIN_K on)."""
    K = X.shape[0]
    s_max = F.shape[0] - 1
    for g in range(K):  # ‖x_g − x_k‖² − ‖x_k‖²
        w[g] = G[g, g] - 2.0 * G[k, g]
    w[k] = np.inf
    s = _start(X, k, np.argmin(w), QF, L, F, u)
    s = _feasible(F, QF, L, u, z, s)
    nc = 0
    for _ in range(max_steps):
        su, xky = 0.0, 0.0
        for i in range(s):
            su += u[i]
            xky += u[i] * (G[k, F[i]] - G[k, k])
        j, wj = -1, -np.inf
        if nc > 0:  # re-price the candidates of the last pass over all rows
            for i in range(s):
                inF[F[i]] = True
            for t in range(nc):
                g = cand[t]
                if g == k or inF[g]:
                    continue
                acc, Gg = su * G[k, g], G[g]
                for i in range(s):
                    acc -= u[i] * Gg[F[i]]          # G is symmetric: row g, gathered
                if acc > wj:
                    wj, j = acc, g
            for i in range(s):
                inF[F[i]] = False
            if 1.0 - su + xky + wj <= eps:
                j = -1
        if j < 0:  # price all rows
            for g in range(K):
                w[g] = su * G[k, g]
            for i in range(s):
                ui, Gi = u[i], G[F[i]]
                for g in range(K):
                    w[g] -= ui * Gi[g]
            w[k] = -np.inf
            for i in range(s):
                w[F[i]] = -np.inf
            j = _argmax(w)
            wj = w[j]
            if 1.0 - su + xky + wj > eps:
                nc = _top(w, cand, cv)
        if 1.0 - su + xky + wj <= eps or s >= s_max:
            break
        if _border(X, k, j, QF, L, F, u, s):
            s += 1
        else:
            s2 = _exchange(X, k, j, QF, L, F, u, z, s)
            if s2 < 0:
                break
            s = s2
        s = _feasible(F, QF, L, u, z, s)
    _final_weights(QF, L, u, z, s)
    return s


@_jit
def _workspace(K, d, s_max):
    return (np.empty((s_max + 1, s_max + 1)), np.zeros((s_max + 1, s_max + 1)),
            np.empty(s_max + 1, dtype=np.int64), np.empty(s_max + 1), np.empty(s_max + 1))


@_jit
def _on_candidates(X, rows, C, init, eps, out):
    n, m = C.shape
    K, d = X.shape
    QF, L, F, u, z = _workspace(K, d, min(m, d + 1))
    y, mark = np.empty(d), np.zeros(K, dtype=np.bool_)
    for r in range(n):
        s = _on_candidates_row(X, rows[r], C[r], init[r], eps, 4 * m + 20, QF, L, F, u, z, y, mark)
        for i in range(s):
            for j in range(m):
                if C[r, j] == F[i]:  # the first slot only: C may repeat a row
                    out[r, j] = u[i]
                    break


#: nearest_hull_points re-prices the MULTIPLE_PRICING most violating rows of a pass over all rows first,
#: from K = MULTIPLE_PRICING_MIN_K on (see _on_all_row)
MULTIPLE_PRICING, MULTIPLE_PRICING_MIN_K = 4, 400


@_jit
def _on_all_rows(X, G, eps, sup, wts, n_cand):
    K, d = X.shape
    QF, L, F, u, z = _workspace(K, d, min(K - 1, d + 1))
    w, cand, cv, inF = np.empty(K), np.empty(n_cand, dtype=np.int64), np.empty(n_cand), np.zeros(K, dtype=np.bool_)
    for k in range(K):
        s = _on_all_row(X, G, k, eps, 4 * K + 20, QF, L, F, u, z, w, cand, cv, inF)
        sup[k, :s] = F[:s]
        wts[k, :s] = u[:s]


def min_norm_rows(X: np.ndarray, rows: np.ndarray, C: np.ndarray, init: np.ndarray | None, eps: float) -> np.ndarray:
    """Simplex weights ``(n, m)`` of the nearest point to X[rows[i]] in conv{X[C[i, j]] : j < m}.

    X (K, d) float64; rows (n,) and C (n, m) int64 (a repeated candidate gets its weight in its first
    slot); init (n, m) bool warm-start passive sets or None.
    """
    n, m = C.shape
    out = np.zeros((n, m))
    _on_candidates(X, rows, C, np.zeros((n, 0), dtype=np.bool_) if init is None else init, eps, out)
    return out


def nearest_hull_points(X: np.ndarray, eps: float):
    """Support ``(K, s)`` (global row indices, −1 padded) and simplex weights ``(K, s)`` of the nearest
    point to each row in the hull of all the other rows, s = min(K − 1, d + 1). X (K, d) float64, K ≥ 2.
    Needs the (K, K) Gram matrix: for small K."""
    K, d = X.shape
    s = min(K - 1, d + 1)
    sup, wts = np.full((K, s), -1, dtype=np.int64), np.zeros((K, s))
    _on_all_rows(X, X @ X.T, eps, sup, wts, MULTIPLE_PRICING if K >= MULTIPLE_PRICING_MIN_K else 0)
    return sup, wts


@_jit
def _offsets(X, sup, wts, D, dx, dd):
    K, d = X.shape
    for k in range(K):  # (explicit loops: numba's slice arithmetic allocates)
        for c in range(d):
            D[k, c] = X[k, c]
        for i in range(sup.shape[1]):
            j, wi = sup[k, i], wts[k, i]
            if j >= 0:
                for c in range(d):
                    D[k, c] -= wi * X[j, c]
        a = b = 0.0
        for c in range(d):
            a += D[k, c] * X[k, c]
            b += D[k, c] * D[k, c]
        dx[k], dd[k] = a, b


@_jit
def _off_diagonal_max(S, out):
    for k in range(S.shape[0]):
        S[k, k] = -np.inf
        out[k] = _max(S[k])


def hull_certificates(X: np.ndarray, sup: np.ndarray, wts: np.ndarray):
    """For the points p_k = Σ_i wts[k, i] x_{sup[k, i]} (slot −1: unused) of :func:`nearest_hull_points`:
    the offsets D = x_k − p_k ``(K, d)``, max_{j≠k} ⟨D_k, x_j⟩, ⟨D_k, x_k⟩ and ‖D_k‖² (each ``(K,)``),
    what :mod:`margins` certifies every row with (about half the time of the same in numpy at K = 200)."""
    K = X.shape[0]
    D, smax, dx, dd = np.empty_like(X), np.empty(K), np.empty(K), np.empty(K)
    _offsets(X, sup, wts, D, dx, dd)
    _off_diagonal_max(D @ X.T, smax)
    return D, smax, dx, dd
