"""One-vs-rest distances ρ_k(W) = dist(w_k, conv{w_j : j ≠ k}) with certificates (lesson 02).

For every class k the nearest hull point p_k = Σ_j λ_j w_j (λ in the simplex) solves a small QP.
We solve it exactly and prove it, batched over all rows:

1. candidates: the m nearest other rows of each w_k (one chunked Gram product);
2. exact solve on the candidates: a batched Lawson–Hanson active-set method (:func:`_min_norm_point`)
   for the min-norm point of the shifted points v_j = w_j − w_k, every row of the batch in lockstep;
3. certificate against ALL rows (chunked matmul): p_k is optimal iff ⟨w_k − p_k, w_j − p_k⟩ ≤ 0 for
   every j ≠ k. Rows that fail get their worst violators added to the candidates and are solved
   again from their previous support, until every row certifies (last resort: all rows).
   Rows of (nearly) degenerate codes whose support is (almost) affinely dependent get a second
   solve with degenerate pivots; the better certified point is kept. Rows that still fail go to
   Wolfe's method with QR steps (:mod:`._solvers.wolfe`): the Cholesky factors above see a point δ off an
   affine hull as a δ² pivot, lost in rounding below δ ≈ 1e-8 (a cross-polytope moved by 1e-9 had
   gaps up to 1.3e-9 without it). A row that still fails raises a RuntimeWarning; its bounds stay
   valid (lower ≤ ρ_k ≤ upper), only wider.

On a CPU the plain solves of step 2 run compiled, one row at a time (numba, :mod:`._solvers.active_set`):
the lockstep loop is bound by per-op dispatch there. Small codes (K ≤ FUSED_MAX_K) skip the
candidate rounds: each row is solved over all rows at once, priced from the Gram matrix, and then
certified here as in step 3; if any row fails, the general rounds above run instead. The compiled
rows exchange an (almost) affinely dependent entering point like the simplex method, which settles
the near-coplanar faces of optimised codes; the second try with Bland's rule, and everything on a
GPU, stays in torch.

The result carries two-sided bounds: upper = ‖w_k − p_k‖ (p_k is feasible) and, by margin duality,
lower = min_{j≠k} ⟨w_k − w_j, h_k⟩ with h_k = (w_k − p_k)/‖w_k − p_k‖. Their gap is
max_j ⟨w_k − p_k, w_j − p_k⟩ / ‖w_k − p_k‖, driven to ≤ tol·scale (scale = largest row norm).
Memory is O(K·d + chunk·K); no (K, K, d) tensor is ever built.

ρ is positively homogeneous (ρ(cW) = c·ρ(W)), so a code far from unit size (largest entry outside
[2^-8, 2^8]) is divided by a power of two first (exact) and the answer scaled back: 1e160·W and
1e-200·W give 1e160·ρ(W) and 1e-200·ρ(W), not an overflowed or underflowed 0.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.functional import pad

from ._solvers import wolfe as _wolfe
from ._tensor import as_matrix, check_int, check_positive, compiled_kernels, one_cpu_thread, power_of_two_scale
from .geometry import max_cos

__all__ = ["OneVsRest", "one_vs_rest_distance", "rho", "rho_upper_bound", "rho_lower_bound",
           "known_rho_star", "margins"]

F64 = torch.float64
# Rows per chunk of the exact solve: at most ~2^21 entries of the (rows, m, m) tensors (16 MiB in float64).
# The per-step inverse updates sweep these tensors, so they should stay near the cache. Measured on 1 thread
# with random codes: going from 2^24 to 2^21 took K=2000, d=64 from 0.78 to 0.66 s and K=10,000, d=128
# from 11.8 to 9.6 s, with no change at K <= 1000.
SOLVE_BUDGET = 1 << 21
#: the last-resort Wolfe rows run one at a time in numpy, O(K d) per step: at most this many rows x K
WOLFE_BUDGET = 1 << 22
# Up to this K a CPU solves every row over all rows in one compiled pass (a (K, K) Gram matrix,
# 8 MB at 1000). Measured on 1 thread, random unit codes: K=200, d=10: 1.0 ms vs 2.8 ms by candidate
# rounds; K=1000, d=32: 45 vs 50 ms; K=2000, d=64: 0.41 vs 0.25 s (pricing all rows costs more there).
FUSED_MAX_K = 1000


@dataclass(frozen=True)
class OneVsRest:
    """Certified one-vs-rest distances of a code ``W`` ``(K, d)``; all tensors on W's device and dtype.

    rho (K,): ρ_k = ‖w_k − p_k‖ (set to exactly 0 when ≤ tol·scale: w_k lies in the hull of the others).
    p (K, d): nearest hull points p_k = Σ_i weights[k, i] · W[support[k, i]].
    support (K, m) long, −1 padded; weights (K, m): simplex weights (0 at padding).
    h (K, d): unit margin directions (w_k − p_k)/‖w_k − p_k‖ (zero row when ρ_k = 0).
    lower, upper, gap (K,): lower = min_{j≠k}⟨w_k − w_j, h_k⟩ ≤ ρ_k ≤ upper = ‖w_k − p_k‖, gap = upper − lower.
    certificate (K,): max_{j≠k}⟨w_k − p_k, w_j − p_k⟩, ≤ ~0 exactly when p_k is the nearest point.
    """
    rho: torch.Tensor
    p: torch.Tensor
    support: torch.Tensor
    weights: torch.Tensor
    h: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    gap: torch.Tensor
    certificate: torch.Tensor


def _compiled():
    """The compiled per-row solver (:mod:`._solvers.active_set`), or None: then the torch solver does all the work."""
    return compiled_kernels("_solvers.active_set")


def _validated(W) -> torch.Tensor:
    if isinstance(W, str) or (isinstance(W, (list, tuple)) and any(isinstance(x, str) for x in W)):
        raise TypeError("W must be a real (K, d) array of class vectors, got strings.")
    W = as_matrix(W, "W")
    if W.shape[0] < 2:
        raise ValueError(f"W must have at least K=2 rows (classes) for one-vs-rest distances, got shape "
                         f"{tuple(W.shape)}.")
    if W.shape[1] < 1:
        raise ValueError(f"W must have at least one column, got shape {tuple(W.shape)}.")
    return W


def _nearest(X: torch.Tensor, m: int, chunk: int) -> torch.Tensor:
    """Indices ``(K, m)`` of the m nearest other rows of each row (Euclidean), from a chunked Gram product.

    Only a heuristic for the candidate sets (the certificate decides), so large inputs use float32.
    """
    K = X.shape[0]
    if K * X.shape[1] > 1 << 18:
        X = X.float()
    sq = (X * X).sum(1)
    out = []
    for s in range(0, K, chunk):
        S = 2 * (X[s:s + chunk] @ X.T) - sq  # = ‖x_i‖² − ‖x_i − x_j‖²: larger is nearer
        r = torch.arange(s, min(s + chunk, K), device=X.device)
        S[r - s, r] = -math.inf
        out.append(S.topk(m, dim=1).indices)
    return torch.cat(out)


def _slot_inverse(Y: torch.Tensor, idx: torch.Tensor):
    """Exact (Q_FF)^{-1} in slots (identity on free slots) from the columns ``Y (n, m, s)`` of the
    passive sets ``idx (n, s)`` (−1 = free), and whether each inverse is usable (finite, non-singular)."""
    occ = idx >= 0
    QFF = torch.gather(Y, 1, idx.clamp_min(0).unsqueeze(2).expand(-1, -1, idx.shape[1]))
    eye = torch.eye(idx.shape[1], dtype=Y.dtype, device=Y.device)
    Mi, info = torch.linalg.inv_ex(torch.where(occ.unsqueeze(2) & occ.unsqueeze(1), QFF, eye))
    return Mi, (info == 0) & torch.isfinite(Mi).flatten(1).all(1)


def _min_norm_point(V: torch.Tensor, *, eps: float, init: torch.Tensor | None = None, pivot: bool = False,
                    verify: bool = False, max_steps: int | None = None) -> torch.Tensor:
    """Weights λ ``(B, m)`` in the simplex minimising ‖Σ_i λ_i v_i‖ for each batch of points V ``(B, m, d)``.

    Lawson–Hanson active set on the equivalent NNLS  min_{u ≥ 0} ½uᵀQu − 1ᵀu, Q = VVᵀ + 11ᵀ, λ = u/Σu
    (KKT: Σu·⟨w_k − p, w_j − p⟩ = 1 − (Qu)_j ≤ 0). The passive set F stays affinely independent
    (|F| ≤ d+1), so Q_FF is positive definite. Its inverse lives in s slots (growing with F) and is
    updated by rank-one bordering (add) or Schur downdating (drop): a lockstep step costs O(B·m·s),
    no factorisation. A row retires when no gradient entry exceeds ``eps``; its u is then re-solved
    exactly on F (no update drift). ``init`` ``(B, m)`` bool: a warm-start passive set (e.g. the
    support found on fewer candidates); by default each row starts at its nearest point.
    ``pivot``: exchange an entering point that is (almost) affinely dependent on F for a member
    (degenerate pivot, Bland's rule afterwards) instead of stopping there; used as a second try.
    ``verify``: before a row retires, re-price it with an exactly inverted Q_FF (the updated inverse
    can drift on near-degenerate faces); used when solving over all rows, and for the second try.
    """
    B, m, d = V.shape
    dev, dt = V.device, V.dtype
    s_max, s = min(m, d + 1), min(m, d + 1, 8)
    r = torch.arange(B, device=dev)
    Q = torch.baddbmm(torch.ones(1, 1, 1, dtype=dt, device=dev), V, V.transpose(1, 2))
    F = torch.full((B, s_max), -1, dtype=torch.long, device=dev)  # the final passive sets
    if init is None:  # start at the nearest point: exact on a singleton
        init = torch.zeros(B, m, dtype=torch.bool, device=dev)
        init[r, Q.diagonal(dim1=1, dim2=2).argmin(1)] = True
    s = min(s_max, max(s, int(init.sum(1).max()) + 8))
    pos = torch.sort((~init).to(torch.int8), dim=1, stable=True).indices[:, :s]
    idx = torch.where(torch.gather(init, 1, pos), pos, -1)  # candidate held by each slot, −1 = free
    occ = idx >= 0
    Y = torch.gather(Q, 2, idx.clamp_min(0).unsqueeze(1).expand(B, m, s)) * occ.unsqueeze(1)
    eye = torch.eye(s, dtype=dt, device=dev)                 # Y[:, :, t] = Q[:, :, idx[t]]: columns of F
    QFF = torch.where(occ.unsqueeze(2) & occ.unsqueeze(1), torch.gather(Y, 1, pos.unsqueeze(2).expand(B, s, s)), eye)
    Minv = torch.linalg.inv(QFF)                             # (Q_FF)^{-1} in slots, I on free slots
    u = torch.zeros(B, s, dtype=dt, device=dev)
    z = u
    rows, live = r, torch.ones(B, dtype=torch.bool, device=dev)
    bland = torch.zeros(B, dtype=torch.bool, device=dev)
    fresh = torch.zeros(B, dtype=torch.bool, device=dev)  # Minv recomputed exactly since F last changed
    for step in range(max_steps or 4 * m + 20):
        occ = idx >= 0
        if s < s_max and bool((occ.all(1) & live).any()):  # a row needs a free slot: grow the slots
            g = min(s_max, s + max(4, s // 2)) - s
            idx, u, z, Y = pad(idx, (0, g), value=-1), pad(u, (0, g)), pad(z, (0, g)), pad(Y, (0, g))
            Minv = pad(Minv, (0, g, 0, g))
            Minv[:, range(s, s + g), range(s, s + g)] = 1.0
            s, occ = s + g, idx >= 0
        n, a, slots = rows.numel(), torch.arange(rows.numel(), device=dev), torch.arange(s, device=dev)
        if step % 8 == 0:  # z = Q_FF^{-1} 1, the minimiser on F; updated in O(s) in between
            z = (Minv @ occ.to(dt).unsqueeze(2)).squeeze(2)
        neg = occ & (z <= 0)
        bad = neg.any(1) & live
        u = torch.where(bad.unsqueeze(1), u, z)
        # feasible rows: price every candidate, add the most violated one
        w = 1.0 - (Y @ u.unsqueeze(2)).squeeze(2)
        inF = torch.zeros(n, m + 1, dtype=torch.bool, device=dev).scatter(1, idx.where(occ, m), True)[:, :m]
        w = w.masked_fill(inF, -math.inf)
        wmax, j = w.max(1)
        if bland.any():  # after a degenerate pivot: Bland's rule (lowest violating index) against cycling
            j = torch.where(bland, (w > eps).to(torch.int8).argmax(1), j)
            wmax = w[a, j]
        b = Y[a, j] * occ                                # Q[j, F]
        y = (Minv @ b.unsqueeze(2)).squeeze(2)
        qjj = Q[rows, j, j]
        sigma = qjj - (b * y).sum(1)                     # Schur complement > 0 iff v_j ∉ aff(F)
        improve = live & ~bad & (wmax > eps)
        swap = improve & (sigma <= 1e-10 * qjj) & pivot  # v_j (almost) in aff(F): exchange it
        add = improve & ~swap & ~occ.all(1) & (sigma > 1e-12 * qjj)
        done = live & ~bad & ~add & ~swap
        # infeasible rows: step from u towards z until a passive weight hits 0, then drop that slot
        ratio = torch.where(neg, u / (u - z).clamp_min(1e-300), torch.full_like(u, math.inf))
        alpha, t_drop = ratio.min(1)
        u = torch.where(bad.unsqueeze(1), u + alpha.clamp(0, 1).unsqueeze(1) * (z - u), u)
        # one rank-one update per row: Schur downdate (drop slot t) or bordering (add j in free slot t)
        t_add = (~occ).to(torch.int8).argmax(1)
        col = Minv[a, :, t_drop]
        vec = torch.where(bad.unsqueeze(1), col, y - (slots == t_add.unsqueeze(1)).to(dt))
        coef = torch.where(bad, -1.0 / col[a, t_drop], 1.0 / sigma) * (bad | add)
        Minv = torch.addcmul(Minv, vec.unsqueeze(2), (coef.unsqueeze(1) * vec).unsqueeze(1))
        kz = torch.where(bad, z[a, t_drop] / col[a, t_drop], (1.0 - y.sum(1)) / sigma) * (bad | add)
        z = z - kz.unsqueeze(1) * vec
        db, ab = bad.nonzero().squeeze(1), add.nonzero().squeeze(1)
        td, ta = t_drop[db], t_add[ab]
        Minv[db, td, :], Minv[db, :, td] = 0.0, 0.0
        Minv[db, td, td] = 1.0
        Minv[ab, ta, ta] -= 1.0  # the bordered diagonal entry is 1/σ; the free slot held 1
        idx[db, td], u[db, td], z[db, td], Y[db, :, td] = -1, 0.0, 0.0, 0.0
        back = db[col[db, td].abs() > 1e6]  # downdating an ill-conditioned inverse (a near-dependent
        if back.numel():                    # point leaves) is inaccurate: invert exactly instead
            Mi, ok = _slot_inverse(Y[back], idx[back])
            back, Mi = back[ok], Mi[ok]
            Minv[back], z[back] = Mi, (Mi @ (idx[back] >= 0).to(dt).unsqueeze(2)).squeeze(2)
        idx[ab, ta] = j[ab]
        Y[ab, :, ta] = Q[rows[ab], :, j[ab]]
        if swap.any():  # degenerate pivot: [v_j; 1] ≈ Σ y_i [v_i; 1], so u − t·y + t·e_j keeps Eu
            sw = swap.nonzero().squeeze(1)
            ys, us = y[sw], u[sw]
            t, i = torch.where(occ[sw] & (ys > 0), us / ys.clamp_min(1e-300), math.inf).min(1)
            us = (us - t.unsqueeze(1) * ys).clamp_min(0)
            us[torch.arange(sw.numel(), device=dev), i] = t
            I = idx[sw].scatter(1, i.unsqueeze(1), j[sw].unsqueeze(1))
            o = I >= 0
            Ysw = Y[sw]
            Ysw[torch.arange(sw.numel(), device=dev), :, i] = Q[rows[sw], :, j[sw]]
            Mi, ok = _slot_inverse(Ysw, I)               # not ok: keep F, let the certificate judge
            sw, us, I, Ysw, Mi, o = sw[ok], us[ok], I[ok], Ysw[ok], Mi[ok], o[ok]
            u[sw], idx[sw], Y[sw], Minv[sw], bland[sw] = us, I, Ysw, Mi, True
            fresh[sw] = True                             # Mi was just inverted exactly
            z[sw] = (Mi @ o.to(dt).unsqueeze(2)).squeeze(2)
            done[swap.nonzero().squeeze(1)[~ok]] = True
        fresh &= ~(bad | add)                            # F changed by a rank-one update
        if verify and (done & ~fresh).any():  # confirm "optimal" with an exact inverse first
            re = (done & ~fresh).nonzero().squeeze(1)
            Mi, ok = _slot_inverse(Y[re], idx[re])       # singular F: nothing better to do
            re, Mi, o = re[ok], Mi[ok], idx[re[ok]] >= 0
            Minv[re], z[re], fresh[re] = Mi, (Mi @ o.to(dt).unsqueeze(2)).squeeze(2), True
            done[re] = False                             # one more step, priced with the exact inverse
        if done.any():  # retire finished rows: remember F, solved exactly below
            fin = done.nonzero().squeeze(1)
            F[rows[fin], :s] = idx[fin]
            live[fin] = False
            if not live.any():
                break
            if 4 * int(live.sum()) < 3 * n:  # drop retired rows from the batch now and then
                keep = live.nonzero().squeeze(1)
                rows, idx, Minv, u, z, Y = rows[keep], idx[keep], Minv[keep], u[keep], z[keep], Y[keep]
                live, bland, fresh = live[keep], bland[keep], fresh[keep]
    else:  # step limit (cycling under rounding; not seen in practice): keep the current F, the
        F[rows[live], :s] = idx[live]  # certificate in one_vs_rest_distance judges it
    # one exact solve of Q_FF u = 1 per row, free of the drift of the updated inverses
    F = F.sort(dim=1, descending=True).values[:, :int((F >= 0).sum(1).max())]  # passive first, trimmed
    occ, I, t = F >= 0, F.clamp_min(0), F.shape[1]
    QFF = torch.gather(torch.gather(Q, 1, I.unsqueeze(2).expand(B, t, m)), 2, I.unsqueeze(1).expand(B, t, t))
    QFF = torch.where(occ.unsqueeze(2) & occ.unsqueeze(1), QFF, torch.eye(t, dtype=dt, device=dev))
    uF = torch.linalg.solve(QFF, occ.to(dt).unsqueeze(2)).squeeze(2).clamp_min(0) * occ
    out = torch.zeros(B, m, dtype=dt, device=dev).scatter_add(1, I, uF)
    return out / out.sum(1, keepdim=True)


def _compact(C: torch.Tensor, lam: torch.Tensor):
    """Keep the positive weights only: (support (n, s) long −1 padded, weights (n, s) summing to 1)."""
    s = max(1, int((lam > 0).sum(1).max()))
    w, i = lam.topk(s, dim=1)
    w = w.clamp_min(0)
    return torch.where(w > 0, torch.gather(C, 1, i), -1), w / w.sum(1, keepdim=True)




def _solve_rows(X: torch.Tensor, rows: torch.Tensor, C: torch.Tensor, eps: float, budget: int,
                init: torch.Tensor | None = None, pivot: bool = False, verify: bool = False) -> torch.Tensor:
    """Simplex weights ``(n, m)`` of the nearest point to w_k in conv{w_j : j in C[k]}, k in ``rows``, in chunks."""
    n, m = C.shape
    if X.device.type == "cpu" and not (pivot or verify) and _compiled():
        # plain solves on a CPU: compiled rows, free of the lockstep's per-op dispatch cost
        lam = _compiled().min_norm_rows(X.numpy(), rows.numpy(), C.contiguous().numpy(),
                                        None if init is None else init.contiguous().numpy(), eps)
        return torch.from_numpy(lam)
    step = max(1, budget // (m * m + m * X.shape[1]))  # bounds the (step, m, m) and (step, m, d) tensors
    with one_cpu_thread(X.device.type == "cpu"):  # many small ops: threads only add overhead
        return torch.cat([_min_norm_point(X[C[s:s + step]] - X[rows[s:s + step]].unsqueeze(1), eps=eps,
                                          init=None if init is None else init[s:s + step], pivot=pivot,
                                          verify=verify)
                          for s in range(0, n, step)])


def _offsets(X: torch.Tensor, rows: torch.Tensor, sup: torch.Tensor, wts: torch.Tensor, *,
             precise: bool = False) -> torch.Tensor:
    """D = w_k − p_k ``(n, d)`` for ``rows``, p_k = Σ_j λ_j w_j. ``precise``: as −Σ_j λ_j (w_j − w_k), from the
    differences: p_k itself is only known to ~1e-16 absolute, which for ‖w_k − p_k‖ ~ 1e-9 (near-duplicate
    rows) tilts h_k by ~1e-7 (an extra (n, s, d) pass: ~8% of a whole call at K = 2000, so only for the
    rows whose certificate fails)."""
    if precise:
        return -torch.einsum("ns,nsd->nd", wts, X[sup.clamp_min(0)] - X[rows].unsqueeze(1))
    return X[rows] - torch.einsum("ns,nsd->nd", wts, X[sup.clamp_min(0)])


def _scores(X: torch.Tensor, D: torch.Tensor, rows: torch.Tensor, chunk: int):
    """Yield, per chunk of ``rows``, S = ⟨w_k − p_k, w_j⟩ ``(n, K)`` (S[k, k] = −inf) with ⟨w_k − p_k, w_k⟩ and
    ⟨w_k − p_k, p_k⟩ = ⟨w_k − p_k, w_k⟩ − ‖w_k − p_k‖² (``D (K, d)``: the offsets w_k − p_k by row)."""
    for s in range(0, rows.numel(), chunk):
        r = rows[s:s + chunk]
        Dr = D[r]
        S = Dr @ X.T
        S[torch.arange(r.numel(), device=X.device), r] = -math.inf
        dx = (Dr * X[r]).sum(1)
        yield s, S, dx, dx - (Dr * Dr).sum(1)


def one_vs_rest_distance(W, *, return_details: bool = False, tol: float = 1e-10,
                         candidates: int | None = None, chunk: int = 1024, max_rounds: int = 6):
    """ρ_k = dist(w_k, conv{w_j : j ≠ k}) for every row of ``W`` ``(K, d)``, K ≥ 2: a ``(K,)`` tensor.

    Exact QP per row (see the module docstring), certified against all rows: the returned
    ``OneVsRest`` (``return_details=True``) has lower ≤ ρ_k ≤ upper with gap ≤ tol·scale,
    scale = max_k ‖w_k‖ (up to ~1e-16 rounding, gap can be a hair below 0). Computed in float64 on
    W's device; results come back in W's dtype (float32 input: the float64 answer rounded to
    float32). ρ_k ≤ tol·scale (w_k in the hull of the others, or a duplicate row) is reported as
    exactly 0, with h_k = 0 and lower_k = 0.

    Limit of float64: h_k is known to an angle of ~eps·s/ρ_k at best (eps = 2.2e-16, s = the size of
    the face that holds p_k), so the gap can reach ~eps·s²/ρ_k. For unit rows that is harmless (a face of
    size s lies ~s²/8 inside the sphere, so ρ_k ≳ s²/8), near-duplicate rows included; off the sphere a
    row within ~1e-6·s of a large face but farther than tol can end above tol (measured up to 4e-7
    for ρ_k from 1e-10 to 7e-7). Such rows raise a RuntimeWarning; their bounds stay valid.

    ``candidates`` (default 20) nearest rows are tried first; each later round adds the m worst
    certificate violators (warm-started from the previous support); after ``max_rounds`` rounds the
    rows still failing are solved over all K−1 other rows (exact, but O(K²) memory for those rows:
    never needed in practice). ``chunk`` rows share one (chunk, K) score matrix. On a CPU with
    K ≤ ``FUSED_MAX_K`` every row is first solved over all rows at once (compiled; ``candidates``
    unused), and the rounds run only if some row fails its certificate.
    """
    W = _validated(W)
    tol = check_positive(tol, "tol")
    if candidates is not None:
        candidates = check_int(candidates, "candidates", minimum=1)
    chunk = check_int(chunk, "chunk", minimum=1)
    max_rounds = check_int(max_rounds, "max_rounds", minimum=0)
    K, d = W.shape
    c = power_of_two_scale(W)
    c = 1.0 if 2.0 ** -8 <= c <= 2.0 ** 8 else c   # unit-sized codes: exactly as given
    small = K * K * d < 1 << 30  # small problems: every op is small, run all of it on one thread
    with one_cpu_thread(small and W.device.type == "cpu"):
        return _one_vs_rest(W, return_details, tol, candidates, chunk, max_rounds, c)


def _one_vs_rest(W, return_details, tol, candidates, chunk, max_rounds, c=1.0):
    K, d = W.shape
    X = (W.to(F64) / c).contiguous()  # the compiled path reads it as a C-ordered numpy array
    dev = X.device
    scale = float(X.norm(dim=1).max()) or 1.0
    eps = 64 * torch.finfo(F64).eps * (1.0 + 4 * scale ** 2)
    m = min(K - 1, candidates or 20)
    if dev.type == "cpu" and K <= FUSED_MAX_K and _compiled():
        done = _fused(X, eps, tol * scale)
        if done is not None:
            return _result(W, X, *done, tol * scale, return_details, c)
    todo = torch.arange(K, device=dev)
    C = _nearest(X, m, chunk)
    support = torch.full((K, 1), -1, dtype=torch.long, device=dev)
    weights = torch.zeros(K, 1, dtype=F64, device=dev)
    D = torch.empty_like(X)
    smax, dx, dp = (torch.empty(K, dtype=F64, device=dev) for _ in range(3))
    init = None
    for rnd in itertools.count():  # ends at the latest after the all-rows round
        lam = _solve_rows(X, todo, C, eps, budget=SOLVE_BUDGET, init=init, verify=C.shape[1] == K - 1)
        sup, wts = _compact(C, lam)
        if sup.shape[1] > support.shape[1]:
            g = sup.shape[1] - support.shape[1]
            support, weights = pad(support, (0, g), value=-1), pad(weights, (0, g))
        support[todo], weights[todo] = pad(sup, (0, support.shape[1] - sup.shape[1]), value=-1), \
            pad(wts, (0, support.shape[1] - sup.shape[1]))
        D[todo] = _offsets(X, todo, sup, wts)
        r = D[todo].norm(dim=1)
        final = rnd >= max_rounds - 1 or sup.shape[1] + m >= K - 1  # next round: all rows are candidates
        fail, new = [], []
        for s, S, a, b in _scores(X, D, todo, chunk):  # certify against ALL rows
            k = todo[s:s + S.shape[0]]
            smax[k], dx[k], dp[k] = S.max(1).values, a, b
            rr = r[s:s + S.shape[0]]
            bad = ((rr > tol * scale) & (smax[k] - dp[k] > tol * scale * rr)).nonzero().squeeze(1)
            if bad.numel():  # new candidates: the support and the m worst violators
                fail.append(bad + s)
                if not final:  # (in place: S is a scratch matrix; copying its rows costs more than topk)
                    sc = sup[s:s + S.shape[0]]
                    S.scatter_(1, torch.where(sc >= 0, sc, k.unsqueeze(1)), -math.inf)
                    few = 4 * bad.numel() < S.shape[0]
                    top = (S[bad] if few else S).topk(m, dim=1).indices
                    new.append(top if few else top[bad])
        if not fail or C.shape[1] == K - 1:
            break
        fail = torch.cat(fail)
        todo, sup = todo[fail], sup[fail]
        if final:
            C = torch.arange(K - 1, device=dev).expand(todo.numel(), K - 1)
            C = C + (C >= todo.unsqueeze(1))  # all j != k
            held = torch.zeros(todo.numel(), K, dtype=torch.bool, device=dev)
            held[torch.arange(todo.numel(), device=dev).unsqueeze(1).expand_as(sup)[sup >= 0], sup[sup >= 0]] = True
            init = torch.gather(held, 1, C)
        else:  # warm start: keep the optimal support on the old candidates
            new = torch.cat(new)
            C = torch.cat([torch.where(sup >= 0, sup, new[:, :1]), new], dim=1)
            init = pad(sup >= 0, (0, m))
    rr = D.norm(dim=1)
    state = [support, weights, D, smax, dx, dp, rr]
    atol = tol * scale
    fail = _uncertified(state, atol)
    if fail.numel():  # first the same points, measured from the differences (near-duplicate rows)
        _adopt_better(X, state, fail, support[fail], weights[fail], chunk)
        fail = _uncertified(state, atol)
    if fail.numel() and K <= 4096:  # degenerate rows: second try with degenerate pivots, keep the better
        C = torch.arange(K - 1, device=dev).expand(fail.numel(), K - 1)
        C = C + (C >= fail.unsqueeze(1))
        _adopt_better(X, state, fail, *_compact(C, _solve_rows(X, fail, C, eps, budget=SOLVE_BUDGET, pivot=True,
                                                                 verify=True)), chunk)
        fail = _uncertified(state, atol)
    if fail.numel() and fail.numel() * K <= WOLFE_BUDGET:  # last resort: faces ~1e-8 from affine dependence
        _adopt_better(X, state, fail, *_wolfe_rows(X, fail, atol / 2), chunk)
        fail = _uncertified(state, atol)
    if fail.numel():
        warnings.warn("one_vs_rest_distance: some rows did not certify to tol; see OneVsRest.gap.",
                      RuntimeWarning, stacklevel=3)
    support, weights, D, smax, dx, dp, rr = state
    return _result(W, X, D, support, weights, smax, dx, dp, rr, tol * scale, return_details, c)


def _certified(state, atol) -> bool:
    """Whether every row's certificate holds (ρ_k ≤ atol counts as 0); a NaN row fails."""
    _, _, _, smax, _, dp, rr = state
    return bool(((rr <= atol) | (smax - dp <= atol * rr)).all())


def _uncertified(state, atol):
    """Rows whose certificate max_j ⟨w_k − p_k, w_j − p_k⟩ ≤ atol·‖w_k − p_k‖ fails (ρ_k ≤ atol is 0)."""
    _, _, _, smax, _, dp, rr = state
    return (((smax - dp) > atol * rr) & (rr > atol)).nonzero().squeeze(1)


def _adopt_better(X, state, rows, sup, wts, chunk):
    """Replace the nearest points of ``rows`` by ``(sup, wts)`` where its certificate is better (in place)."""
    support, weights, D, smax, dx, dp, rr = state
    D2 = _offsets(X, rows, sup, wts, precise=True)
    S2, dx2, dp2 = (torch.cat(v) for v in zip(*[(S.max(1).values, a, b) for _, S, a, b
                                                 in _scores(X, D.index_copy(0, rows, D2), rows, chunk)]))
    r2 = D2.norm(dim=1)
    better = (S2 - dp2) / r2.clamp_min(1e-300) < (smax[rows] - dp[rows]) / rr[rows]
    if not better.any():
        return
    k, b = rows[better], better.nonzero().squeeze(1)
    g = sup.shape[1] - support.shape[1]
    if g > 0:
        support, weights = pad(support, (0, g), value=-1), pad(weights, (0, g))
    support[k], weights[k] = -1, 0.0
    support[k, :sup.shape[1]], weights[k, :sup.shape[1]] = sup[b], wts[b]
    D[k], smax[k], dp[k], dx[k], rr[k] = D2[b], S2[b], dp2[b], dx2[b], r2[b]
    state[0], state[1] = support, weights


def _wolfe_rows(X, rows, atol):
    """``(support, weights)`` of each of ``rows`` over all other rows by :func:`._wolfe.min_norm_point` (CPU)."""
    Xc = X.cpu().numpy()
    K = Xc.shape[0]
    out = []
    for k in rows.tolist():
        others = np.delete(np.arange(K), k)
        V = Xc[others] - Xc[k]
        S, u = _wolfe.min_norm_point(V, start=int(np.argmin((V * V).sum(1))), atol=atol)
        out.append((others[S], u))
    s = max(len(S) for S, _ in out)
    sup = torch.full((len(out), s), -1, dtype=torch.long)
    wts = torch.zeros(len(out), s, dtype=F64)
    for i, (S, u) in enumerate(out):
        sup[i, :len(S)], wts[i, :len(S)] = torch.from_numpy(S), torch.from_numpy(u)
    return sup.to(X.device), wts.to(X.device)


def _fused(X: torch.Tensor, eps: float, atol: float):
    """Small codes on a CPU: every row solved over all rows in one compiled pass (each step prices
    every row from the Gram matrix), then certified here against all rows, as in the rounds. None if
    any row fails (degenerate faces), after re-measuring the failed rows from the differences: the
    caller then runs the general rounds, which have the degenerate-pivot machinery."""
    Xn = X.numpy()
    sup, wts = _compiled().nearest_hull_points(Xn, eps)
    s = max(1, int((sup >= 0).sum(1).max()))
    sup, wts = sup[:, :s], wts[:, :s]
    # the work of _offsets and _scores, compiled and as one (K, K) block (K <= FUSED_MAX_K): torch's
    # per-op dispatch was a quarter of a K = 200 call (~0.3 ms of ~1.2), numpy's still ~0.07 ms
    D, smax, dx, dd = _compiled().hull_certificates(Xn, sup, wts)
    state = [torch.from_numpy(a) for a in (sup, wts, D, smax, dx, dx - dd, np.sqrt(dd))]
    if not _certified(state, atol):
        fail = _uncertified(state, atol)
        if fail.numel():  # the same points, measured from the differences (near-duplicate rows)
            _adopt_better(X, state, fail, state[0][fail], state[1][fail], X.shape[0])
        if not _certified(state, atol):
            return None
    sup, wts, D, smax, dx, dp, rr = state
    return D, sup, wts, smax, dx, dp, rr


def _result(W, X, D, support, weights, smax, dx, dp, rr, atol, return_details, c=1.0):
    """ρ_k (or the full ``OneVsRest``) in W's dtype from the certified offsets D = w_k − p_k of the code
    X = W / c; lengths are scaled back by c (the certificate, an inner product, by c²)."""
    zero = rr <= atol
    rho_k = torch.where(zero, torch.zeros_like(rr), rr)
    if not return_details:
        return (rho_k * c).to(W.dtype)
    h = torch.where(zero.unsqueeze(1), torch.zeros_like(X), D / rr.clamp_min(1e-300).unsqueeze(1))
    lower = torch.where(zero, torch.zeros_like(rr), (dx - smax) / rr.clamp_min(1e-300))
    def t(A, k=1):
        for _ in range(k if c != 1.0 else 0):
            A = A * c
        return A.to(W.dtype)

    return OneVsRest(rho=t(rho_k), p=t(X - D), support=support, weights=t(weights, 0), h=t(h, 0),
                     lower=t(lower), upper=t(rr), gap=t(rr - lower), certificate=t(smax - dp, 2))


def rho(W, **kwargs) -> float:
    """ρ(W) = min_k ρ_k(W), the one-vs-rest distance of the code (a float; see one_vs_rest_distance)."""
    return float(one_vs_rest_distance(W, **kwargs).min())


def rho_upper_bound(K: int, d: int) -> float:
    """An upper bound on ρ(W) for every K unit vectors in R^d: K/(K−1) if K ≤ d+1, else 1 (Radon; lesson 02)."""
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=1)
    return K / (K - 1) if K <= d + 1 else 1.0


def rho_lower_bound(W, *, per_class: bool = False):
    """1 − max_{j≠k} cos(w_j, w_k): a lower bound on ρ(W) for unit rows (take h = w_k in margin duality).

    ``per_class=True`` returns the ``(K,)`` tensor of 1 − max_{j≠k} cos(w_j, w_k), a lower bound on each ρ_k(W);
    for ρ_k > 0 it equals ρ_k exactly when the margin direction of class k is w_k itself (lesson 04).
    """
    W = _validated(W)
    if not per_class:
        return 1.0 - max_cos(W)
    U = W / W.norm(dim=1, keepdim=True)
    G = U @ U.T
    G.fill_diagonal_(-math.inf)
    return 1.0 - G.max(dim=1).values


def known_rho_star(K: int, d: int):
    """The optimal ρ*(d, K) over K unit vectors in R^d where a closed form is known, else None.

    d = 2: 1 − cos(2π/K) (regular polygon); K ≤ d+1: K/(K−1) (simplex ETF); d+2 ≤ K ≤ 2d: 1
    (cross-polytope subsets); d = 1, K ≥ 3: 0. (For K ≤ 3, d = 2 the polygon and ETF values agree.)
    """
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=1)
    if K <= d + 1:
        return K / (K - 1)
    if d == 1:
        return 0.0  # three points of {-1, +1}: two coincide
    if d == 2:
        return 1.0 - math.cos(2 * math.pi / K)
    if K <= 2 * d:
        return 1.0
    return None


def margins(W, h, k: int) -> torch.Tensor:
    """One-vs-rest margins ⟨w_k − w_j, h⟩ for j ≠ k, in increasing j: a ``(K−1,)`` tensor.

    ``W`` ``(K, d)``, ``h`` ``(d,)`` (used as given: normalise it for unit-feature margins), 0 ≤ k < K.
    Their minimum is ≤ ρ_k(W) for every unit h, with equality at h = h_k (margin duality).
    """
    W = _validated(W)
    K, d = W.shape
    k = check_int(k, "k", minimum=0)
    if k >= K:
        raise ValueError(f"k={k} is not a class of W with K={K} rows; use 0 <= k < K.")
    h = torch.as_tensor(h, dtype=W.dtype, device=W.device).reshape(-1)
    if h.numel() != d or not torch.isfinite(h).all():
        raise ValueError(f"h must be a finite vector of length d={d}, got shape {tuple(h.shape)}.")
    others = torch.cat([W[:k], W[k + 1:]])
    return (W[k] - others) @ h
