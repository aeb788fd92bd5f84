"""One-vs-rest distances ρ_k(W) = dist(w_k, conv{w_j : j ≠ k}) with certificates (MATH.md §3).

For every class k the nearest hull point p_k = Σ_j λ_j w_j (λ in the simplex) solves a small QP.
We solve it exactly and prove it, batched over all rows:

1. candidates: the m nearest other rows of each w_k (one chunked Gram product);
2. exact solve on the candidates: a batched Lawson–Hanson active-set method (:func:`_min_norm_point`)
   for the min-norm point of the shifted points v_j = w_j − w_k;
3. certificate against ALL rows (chunked matmul): p_k is optimal iff ⟨w_k − p_k, w_j − p_k⟩ ≤ 0 for
   every j ≠ k. Rows that fail get their violators added to the candidates and are solved again.

The result carries two-sided bounds: upper = ‖w_k − p_k‖ (p_k is feasible) and, by margin duality,
lower = min_{j≠k} ⟨w_k − w_j, h_k⟩ with h_k = (w_k − p_k)/‖w_k − p_k‖. Their gap is
max_j ⟨w_k − p_k, w_j − p_k⟩ / ‖w_k − p_k‖, driven to ≤ tol·scale (scale = largest row norm).
Memory is O(K·d + chunk·K); no (K, K, d) tensor is ever built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._tensor import as_matrix, check_int, check_positive
from .geometry import max_cos

__all__ = ["OneVsRest", "one_vs_rest_distance", "rho", "rho_upper_bound", "rho_lower_bound",
           "known_rho_star", "margins"]

F64 = torch.float64


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
    """Indices ``(K, m)`` of the m nearest other rows of each row (Euclidean), from a chunked Gram product."""
    K = X.shape[0]
    sq = (X * X).sum(1)
    out = []
    for s in range(0, K, chunk):
        S = 2 * (X[s:s + chunk] @ X.T) - sq  # = ‖x_i‖² − ‖x_i − x_j‖²: larger is nearer
        r = torch.arange(s, min(s + chunk, K), device=X.device)
        S[r - s, r] = -math.inf
        out.append(S.topk(m, dim=1).indices)
    return torch.cat(out)


def _min_norm_point(V: torch.Tensor, *, eps: float, max_steps: int | None = None) -> torch.Tensor:
    """Weights λ ``(B, m)`` in the simplex minimising ‖Σ_i λ_i v_i‖ for each batch of points V ``(B, m, d)``.

    Lawson–Hanson active set on the equivalent NNLS  min_{u ≥ 0} ½uᵀQu − 1ᵀu with Q = VVᵀ + 11ᵀ
    (then λ = u / Σu). Passive sets stay affinely independent, so Q_FF is positive definite and each
    step solves it exactly. Stops when every gradient entry 1 − (Qu)_j ≤ eps (= Σu·certificate_j).
    """
    B, m, _ = V.shape
    Q = V @ V.transpose(1, 2) + 1.0
    diag = Q.diagonal(dim1=1, dim2=2)
    rows = torch.arange(B, device=V.device)
    F = torch.zeros(B, m, dtype=torch.bool, device=V.device)
    u = torch.zeros(B, m, dtype=V.dtype, device=V.device)
    j0 = diag.argmin(1)  # start at the nearest point: exact on a singleton
    F[rows, j0] = True
    u[rows, j0] = 1.0 / diag[rows, j0]
    max_steps = max_steps or 3 * m + 20
    for _ in range(max_steps):
        w = 1.0 - (Q @ u.unsqueeze(2)).squeeze(2)
        wmax, j = w.masked_fill(F, -math.inf).max(1)
        act = (wmax > eps).nonzero().squeeze(1)
        if act.numel() == 0:
            break
        Fa, ua, Qa = F[act], u[act], Q[act]
        Fa[torch.arange(act.numel(), device=V.device), j[act]] = True
        for _ in range(m + 1):  # inner loop: back off until the passive solution is positive
            z = _solve_passive(Qa, Fa)
            neg = Fa & (z <= 0)
            bad = neg.any(1)
            if not bad.any():
                ua = z
                break
            # step from u towards z until the first passive weight hits zero, drop it
            ratio = torch.where(neg, ua / (ua - z).clamp_min(1e-300), torch.full_like(ua, math.inf))
            alpha, i = ratio.min(1)
            alpha = torch.where(bad, alpha, torch.ones_like(alpha)).clamp(0, 1)
            ua = ua + alpha.unsqueeze(1) * (z - ua)
            b = bad.nonzero().squeeze(1)
            Fa[b, i[b]] = False
            Fa &= ua > 0
            ua = torch.where(Fa, ua, torch.zeros_like(ua))
        F[act], u[act] = Fa, ua
    return u / u.sum(1, keepdim=True)


def _solve_passive(Q: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """z with Q_FF z_F = 1 and z = 0 off F, for each batch row; solves only on the |F| passive slots."""
    B, m = F.shape
    s = int(F.sum(1).max())
    slots = torch.sort((~F).to(torch.int8), dim=1, stable=True).indices[:, :s]  # passive indices first
    ok = torch.gather(F, 1, slots)
    A = torch.gather(torch.gather(Q, 1, slots.unsqueeze(2).expand(B, s, m)), 2,
                     slots.unsqueeze(1).expand(B, s, s))
    eye = torch.eye(s, dtype=Q.dtype, device=Q.device)
    A = torch.where(ok.unsqueeze(2) & ok.unsqueeze(1), A, eye)
    zs = torch.linalg.solve(A, ok.to(Q.dtype).unsqueeze(2)).squeeze(2)
    return torch.zeros(B, m, dtype=Q.dtype, device=Q.device).scatter(1, slots, zs * ok)


def _compact(C: torch.Tensor, lam: torch.Tensor):
    """Keep the positive weights only: (support (n, s) long −1 padded, weights (n, s)), s = widest support."""
    s = max(1, int((lam > 0).sum(1).max()))
    w, i = lam.topk(s, dim=1)
    idx = torch.gather(C, 1, i)
    return torch.where(w > 0, idx, -1), w.clamp_min(0)


def _solve_rows(X: torch.Tensor, rows: torch.Tensor, C: torch.Tensor, eps: float, budget: int):
    """Exact nearest hull points of w_k over conv{w_j : j in C[k]} for each k in ``rows``, in row chunks."""
    n, m = C.shape
    step = max(1, budget // (m * m + m * X.shape[1]))  # bounds the (step, m, m) and (step, m, d) tensors
    sup, wts = [], []
    for s in range(0, n, step):
        r, c = rows[s:s + step], C[s:s + step]
        lam = _min_norm_point(X[c] - X[r].unsqueeze(1), eps=eps)
        sup.append(c), wts.append(lam)
    return _compact(torch.cat(sup), torch.cat(wts))


def _scores(X: torch.Tensor, P: torch.Tensor, rows: torch.Tensor, chunk: int):
    """Yield, per chunk of ``rows``, S = ⟨w_k − p_k, w_j⟩ ``(n, K)`` (S[k, k] = −inf) with ⟨w_k − p_k, w_k⟩, ⟨w_k − p_k, p_k⟩."""
    for s in range(0, rows.numel(), chunk):
        r = rows[s:s + chunk]
        D = X[r] - P[r]
        S = D @ X.T
        S[torch.arange(r.numel(), device=X.device), r] = -math.inf
        yield s, S, (D * X[r]).sum(1), (D * P[r]).sum(1)


def one_vs_rest_distance(W, *, return_details: bool = False, tol: float = 1e-10,
                         candidates: int | None = None, chunk: int = 1024, max_rounds: int = 6):
    """ρ_k = dist(w_k, conv{w_j : j ≠ k}) for every row of ``W`` ``(K, d)``, K ≥ 2: a ``(K,)`` tensor.

    Exact QP per row (see the module docstring), certified against all rows: the returned
    ``OneVsRest`` (``return_details=True``) has lower ≤ ρ_k ≤ upper with gap ≤ tol·scale,
    scale = max_k ‖w_k‖. Computed in float64 on W's device; results come back in W's dtype
    (float32 input: the float64 answer rounded to float32). ρ_k ≤ tol·scale is reported as 0.
    ``candidates`` (default max(2d+2, 24)) is the initial number of nearest rows tried per class.
    """
    W = _validated(W)
    tol = check_positive(tol, "tol")
    chunk = check_int(chunk, "chunk", minimum=1)
    K, d = W.shape
    X = W.to(F64)
    dev = X.device
    scale = float(X.norm(dim=1).max()) or 1.0
    eps = 64 * torch.finfo(F64).eps * (1.0 + 4 * scale ** 2)
    m = min(K - 1, check_int(candidates, "candidates", minimum=1) if candidates else max(2 * d + 2, 24))
    todo = torch.arange(K, device=dev)
    C = _nearest(X, m, chunk)
    parts = []                                   # (rows, support, weights) of every round, later wins
    P = torch.empty_like(X)
    for rnd in range(max_rounds + 1):
        sup, wts = _solve_rows(X, todo, C, eps, budget=1 << 22)
        parts.append((todo, sup, wts))
        P[todo] = torch.einsum("ns,nsd->nd", wts, X[sup.clamp_min(0)])
        r = (X[todo] - P[todo]).norm(dim=1)
        last = rnd >= max_rounds - 1
        q = min(K - 1 - C.shape[1], K if last else C.shape[1])  # finally: all rows are candidates
        fail, new = [], []
        for s, S, dx, dp in _scores(X, P, todo, chunk):
            cert = S.max(1).values - dp
            rr = r[s:s + S.shape[0]]
            bad = ((rr > tol * scale) & (cert > tol * scale * rr)).nonzero().squeeze(1)
            if bad.numel() and q > 0:  # enlarge with the worst violators, never a tried candidate
                fail.append(bad + s)
                new.append(S[bad].scatter(1, C[bad + s], -math.inf).topk(q, dim=1).indices)
        if not fail:
            break
        fail = torch.cat(fail)
        todo, C = todo[fail], torch.cat([C[fail], torch.cat(new)], dim=1)
    return _finish(W, X, parts, tol * scale, chunk, return_details)


def _finish(W, X, parts, zero_tol, chunk, return_details):
    """Assemble supports, weights and the certificates (bounds against all rows) in float64."""
    K, dev = X.shape[0], X.device
    s = max(sup.shape[1] for _, sup, _ in parts)
    support = torch.full((K, s), -1, dtype=torch.long, device=dev)
    weights = torch.zeros(K, s, dtype=F64, device=dev)
    for rows, sup, wts in parts:
        support[rows], weights[rows] = -1, 0.0
        support[rows, :sup.shape[1]], weights[rows, :sup.shape[1]] = sup, wts
    weights = weights / weights.sum(1, keepdim=True)
    P = torch.einsum("ns,nsd->nd", weights, X[support.clamp_min(0)])
    r = (X - P).norm(dim=1)
    zero = r <= zero_tol
    smax, dx, dp = (torch.cat(t) for t in zip(*((S.max(1).values, a, b)
                                                 for _, S, a, b in _scores(X, P, torch.arange(K, device=dev), chunk))))
    certificate = smax - dp
    h = torch.where(zero.unsqueeze(1), torch.zeros_like(X), (X - P) / r.clamp_min(1e-300).unsqueeze(1))
    lower = torch.where(zero, torch.zeros_like(r), (dx - smax) / r.clamp_min(1e-300))
    rho_k = torch.where(zero, torch.zeros_like(r), r)
    if not return_details:
        return rho_k.to(W.dtype)
    t = lambda A: A.to(W.dtype)
    return OneVsRest(rho=t(rho_k), p=t(P), support=support, weights=t(weights), h=t(h), lower=t(lower),
                     upper=t(r), gap=t(r - lower), certificate=t(certificate))


def rho(W, **kwargs) -> float:
    """ρ(W) = min_k ρ_k(W), the one-vs-rest distance of the code (a float; see one_vs_rest_distance)."""
    return float(one_vs_rest_distance(W, **kwargs).min())


def rho_upper_bound(K: int, d: int) -> float:
    """An upper bound on ρ(W) for every K unit vectors in R^d: K/(K−1) if K ≤ d+1, else 1 (Radon; MATH.md §3)."""
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=1)
    return K / (K - 1) if K <= d + 1 else 1.0


def rho_lower_bound(W) -> float:
    """1 − max_{j≠k} cos(w_j, w_k): a lower bound on ρ(W) for unit rows (take h = w_k in margin duality)."""
    return 1.0 - max_cos(_validated(W))


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
