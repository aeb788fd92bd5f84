"""Certificates for the claims of lesson 04: numbers that *bound* an error, not bare numbers.

Everything here runs in float64 and is a pure function of its inputs.

Optimality on the product of spheres (the spherical UFM: unit rows of ``W (K,d)`` and of ``H (N,d)``),
for a smooth ``f`` of the stacked points ``X = [W; H]`` of shape ``(m, d)``:

    grad f(X)   = P_X ∇f(X),                 P_X acts row-wise: g_i - <x_i, g_i> x_i
    Hess f(X)   = P_X ∇²f(X) P_X - diag(<x_i, ∇_i f>) P_X      (an (m d, m d) symmetric matrix)

Second-order check: the eigenvalues of ``Hess f`` on the tangent space. The objective is invariant under
the rotations ``X -> X Qᵀ``, so a critical point has d(d-1)/2 zero eigenvalues along ``X Aᵀ`` (A skew);
:func:`hessian_min_eig_tangent` names them and reports the smallest eigenvalue on their complement.

One-vs-rest certificates (margin duality, lesson 02): a unit ``h`` gives the lower bound
``min_{j≠k} <w_k - w_j, h> <= ρ_k`` and simplex weights ``λ`` give the upper bound
``ρ_k <= ||w_k - Σ_j λ_j w_j||``; :func:`duality_gap` recomputes both from
:func:`gnc_teach.margins.one_vs_rest_distance` instead of trusting its numbers.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ._io import read_table, table_row, write_atomic
from ._memory import check_memory
from ._solvers.sphere_opt import tangent
from ._tensor import as_labels, as_matrix, check_int, check_positive, compiled_kernels, require_unit_rows

__all__ = [
    "spherical_ce", "ufm_objective", "stack", "unstack", "project_tangent", "riemannian_gradient",
    "riemannian_hessian", "tangent_basis", "rotation_directions", "HessianReport",
    "hessian_min_eig_tangent", "riemannian_newton", "margin_lower_bound", "hull_upper_bound",
    "Certificate", "duality_gap", "rattlers", "class_spread", "gnc1_except_rattlers",
    "self_duality_residual", "softmax_vs_tammes", "H_STARTS", "tau_log_ce_bound", "square_antiprism",
    "PathPoint", "certified_ufm_path", "run_search", "load_search",
]

F64 = torch.float64


# ----------------------------------------------------------------------------- the objective
def spherical_ce(W, H, y, tau, *, log: bool = False) -> torch.Tensor:
    """Mean CE of the spherical UFM: (1/N) Σ_i log(1 + Σ_{j≠y_i} exp(<w_j - w_{y_i}, h_i>/τ)).

    ``W (K,d)``, ``H (N,d)``, ``y (N,)``; rows are used as given (the caller keeps them unit), so this is
    differentiable in ``W`` and ``H`` for autograd. ``log=True`` returns τ·log(CE) instead: the same
    critical points, Hessian scaled by τ/CE there (so the same signs), and O(1) values at small τ where
    CE itself is ~exp(-ρ/τ). Computed as softplus of a log-sum-exp over j ≠ y_i, stable at any τ.
    Returns a 0-d tensor. (Same value as :func:`gnc_teach.hardmax.ce_loss`, which detaches its inputs.)
    """
    W, H, y, tau = _ce_inputs(W, H, y, tau)
    N, K = H.shape[0], W.shape[0]   # (N, K) logits, their gaps and the autograd buffers
    check_memory(6 * W.element_size() * N * K, what=f"spherical_ce for N={N} features and K={K} classes",
                 fix="Use fewer features or classes.", device=W.device)
    if log:  # the training objective of the spherical UFM, one restart
        from .models.ufm import _tau_log_ce
        return _tau_log_ce(W[None], H[None], y, tau)[0][0]
    logits = H @ W.T
    A = (logits - logits.gather(1, y[:, None])) / tau
    s = torch.logsumexp(A.scatter(1, y[:, None], float("-inf")), dim=1)   # log Σ_{j≠y} exp(a_j/τ)
    return torch.nn.functional.softplus(s).mean()


def _ce_inputs(W, H, y, tau):
    """Validate the spherical CE's inputs without detaching them (autograd flows through W and H):
    matrices with the same d, one label in 0..K-1 per row of H, and τ > 0."""
    W = W if isinstance(W, torch.Tensor) and W.is_floating_point() else as_matrix(W, "W")
    H = H if isinstance(H, torch.Tensor) and H.is_floating_point() else as_matrix(H, "H")
    as_matrix(W, "W", min_rows=2)
    as_matrix(H, "H", cols=W.shape[1])
    y = as_labels(y, "y", n=H.shape[0], K=W.shape[0], device=H.device)
    return W, H, y, check_positive(tau, "tau")


def stack(W, H) -> torch.Tensor:
    """``X = [W; H]`` of shape ``(K + N, d)``: the point of the product of spheres."""
    if as_matrix(W, "W").shape[1] != as_matrix(H, "H").shape[1]:
        raise ValueError(f"W and H must have the same number of columns d, got W {tuple(W.shape)} and "
                         f"H {tuple(H.shape)}.")
    return torch.cat([torch.as_tensor(W), torch.as_tensor(H)], dim=0)


def unstack(X, K: int):
    """Inverse of :func:`stack`: ``(W, H) = (X[:K], X[K:])``."""
    K = check_int(K, "K", minimum=1, maximum=as_matrix(X, "X").shape[0])
    return X[:K], X[K:]


def ufm_objective(K: int, y, tau, *, log: bool = False):
    """``f(X)`` = :func:`spherical_ce` (``log``: τ·log CE) of ``(W, H) = unstack(X, K)``; a closure for the
    Riemannian functions below."""
    K = check_int(K, "K", minimum=2)
    tau = check_positive(tau, "tau")
    y = as_labels(y, "y", n=None, K=K)

    def f(X):
        W, H = unstack(X, K)
        return spherical_ce(W, H, y.to(X.device), tau, log=log)

    return f


# ----------------------------------------------------------------------------- Riemannian calculus
def _points(X, name="X", *, unit_tol=1e-8):
    X = as_matrix(X, name).to(F64)
    if X.shape[1] < 2:
        raise ValueError(f"{name} must have d >= 2 columns (points on S^(d-1)), got shape {tuple(X.shape)}.")
    return require_unit_rows(X, name, tol=unit_tol)


def project_tangent(X, G) -> torch.Tensor:
    """Row-wise projection onto the tangent spaces: ``g_i - <x_i, g_i> x_i`` (rows of X unit)."""
    if as_matrix(X, "X").shape != as_matrix(G, "G").shape:
        raise ValueError(f"G must have the shape of X {tuple(X.shape)}, got {tuple(G.shape)}.")
    return tangent(X, G)


def _objective(f):
    if not callable(f):
        raise TypeError(f"f must be a function of an (m, d) tensor returning a scalar tensor, got "
                        f"{type(f).__name__}.")
    return f


def _euclidean_grad(f, X):
    Xr = X.detach().clone().requires_grad_(True)
    value = f(Xr)
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise TypeError("f must return a scalar tensor (0-d) built from its input with torch operations.")
    (G,) = torch.autograd.grad(value, Xr)
    return G.detach()


def riemannian_gradient(f, X) -> torch.Tensor:
    """grad f(X) = P_X ∇f(X), shape ``(m, d)``: the Euclidean gradient projected row-wise onto the
    tangent space of each sphere. ``f`` maps an ``(m, d)`` tensor to a scalar (autograd, float64)."""
    f, X = _objective(f), _points(X)
    return project_tangent(X, _euclidean_grad(f, X))


def riemannian_hessian(f, X) -> torch.Tensor:
    """The Riemannian Hessian of ``f`` on the product of spheres as an ``(m d, m d)`` symmetric matrix
    (row-major flattening of X): ``P ∇²f P - diag(<x_i, ∇_i f>) P``. Acts on tangent vectors."""
    f, X = _objective(f), _points(X)
    m, d = X.shape
    _check_hessian_memory(m, d)
    G = _euclidean_grad(f, X)
    E = torch.autograd.functional.hessian(lambda v: f(v.reshape(m, d)), X.reshape(-1)).detach()
    P = torch.block_diag(*[torch.eye(d, dtype=F64, device=X.device) - torch.outer(x, x) for x in X])
    c = (X * G).sum(dim=1).repeat_interleave(d)
    Hs = P @ E @ P - c[:, None] * P
    return (Hs + Hs.T) / 2  # exact symmetry; the two halves agree to rounding


def _check_hessian_memory(m, d):
    """A dense (m d) x (m d) Hessian (autograd's, the projector, their products: about 5 copies)."""
    check_memory(5 * 8 * (m * d) ** 2, what=f"the Riemannian Hessian of m={m} points in R^{d} (a dense "
                 f"(m d) x (m d) matrix)", fix="Use fewer points (a smaller K or n).")


def tangent_basis(X) -> torch.Tensor:
    """Orthonormal basis of the tangent space at X as the columns of an ``(m d, m (d-1))`` matrix."""
    X = _points(X)
    m, d = X.shape
    P = torch.eye(d, dtype=F64, device=X.device) - X[:, :, None] * X[:, None, :]
    _, V = torch.linalg.eigh(P)            # eigenvalues 0 (along x_i) then 1 (d-1 times)
    return torch.block_diag(*V[:, :, 1:])


def rotation_directions(X) -> torch.Tensor:
    """Tangent vectors ``X Aᵀ`` for the basis ``A = e_a e_bᵀ - e_b e_aᵀ`` of so(d), flattened, as the
    columns of an ``(m d, d(d-1)/2)`` matrix. f(X Qᵀ) = f(X) for rotations Q makes them Hessian null
    directions at a critical point."""
    X = _points(X)
    m, d = X.shape
    cols = []
    for a in range(d):
        for b in range(a + 1, d):
            A = torch.zeros(d, d, dtype=F64, device=X.device)
            A[a, b], A[b, a] = 1.0, -1.0
            cols.append((X @ A.T).reshape(-1))
    return torch.stack(cols, dim=1)


@dataclass(frozen=True)
class HessianReport:
    """Second-order certificate at X (all numbers are float64 Python floats / lists).

    grad_norm: ||grad f(X)||_F.  eigenvalues: all Hess eigenvalues on the tangent space (ascending).
    n_symmetry: dimension of the rotation directions (d(d-1)/2 when the rows span R^d).
    symmetry_residual: ||Hess · R||_2 on the orthonormalised rotation directions R (0 at a critical point).
    transverse: eigenvalues on the tangent directions orthogonal to the rotations (ascending);
    min_eig = transverse[0] (the number that must be > 0 for a strict local minimum modulo rotations).
    """
    grad_norm: float
    eigenvalues: list = field(repr=False)
    n_symmetry: int
    symmetry_residual: float
    transverse: list = field(repr=False)
    min_eig: float
    n_variables: int


def hessian_min_eig_tangent(f, X, *, rank_tol: float = 1e-9) -> HessianReport:
    """Eigenvalues of the Riemannian Hessian of ``f`` at ``X`` on the tangent space, with the d(d-1)/2
    rotation directions identified and excluded for ``min_eig`` (see :class:`HessianReport`)."""
    f, X = _objective(f), _points(X)
    rank_tol = check_positive(rank_tol, "rank_tol")
    _check_hessian_memory(*X.shape)
    B = tangent_basis(X)
    Ht = B.T @ riemannian_hessian(f, X) @ B
    eig_all = torch.linalg.eigvalsh(Ht)
    R = B.T @ rotation_directions(X)                   # rotations in tangent coordinates
    U, s, _ = torch.linalg.svd(R, full_matrices=True)
    r = int((s > rank_tol * max(float(s.max()), 1.0)).sum()) if s.numel() else 0
    Rq, C = U[:, :r], U[:, r:]                          # rotations, and their orthogonal complement
    sym_res = float(torch.linalg.matrix_norm(Ht @ Rq, ord=2)) if r else 0.0
    eig_t = torch.linalg.eigvalsh(C.T @ Ht @ C)
    return HessianReport(
        grad_norm=float(riemannian_gradient(f, X).norm()), eigenvalues=eig_all.tolist(), n_symmetry=r,
        symmetry_residual=sym_res, transverse=eig_t.tolist(), min_eig=float(eig_t[0]),
        n_variables=int(X.numel()))


def riemannian_newton(f, X, *, steps: int = 20, tol: float = 1e-13):
    """Polish a point towards a local minimum with saddle-free Riemannian Newton steps.

    In tangent coordinates with Hess = V Λ Vᵀ the step is -V |Λ|⁻¹ Vᵀ grad (eigenvalues below 1e-10·max|λ|,
    e.g. the rotation null directions, are skipped), so it always descends and escapes saddles; a
    backtracking line search on f and the retraction x -> x/||x|| follow. Near a nondegenerate minimum
    this is plain Newton (quadratic convergence). Returns ``(X, grad_norms)``; certify the result with
    :func:`hessian_min_eig_tangent`.
    """
    f, X = _objective(f), _points(X).clone()
    steps = check_int(steps, "steps", minimum=0)
    tol = check_positive(tol, "tol", allow_zero=True)
    m, d = X.shape
    norms = []
    for _ in range(steps):
        g = riemannian_gradient(f, X)
        norms.append(float(g.norm()))
        if norms[-1] < tol:
            break
        B = tangent_basis(X)
        lam, V = torch.linalg.eigh(B.T @ riemannian_hessian(f, X) @ B)
        keep = lam.abs() > 1e-10 * float(lam.abs().max())
        gt = V.T @ (B.T @ g.reshape(-1))
        step = -(B @ (V[:, keep] @ (gt[keep] / lam[keep].abs()))).reshape(m, d)
        f0, slope, t = float(f(X)), float((g * step).sum()), 1.0
        while t > 1e-8:                      # Armijo backtracking
            Xn = X + t * step
            Xn = Xn / Xn.norm(dim=1, keepdim=True)
            if float(f(Xn)) <= f0 + 1e-4 * t * slope:
                break
            t /= 2
        X = Xn
    else:
        norms.append(float(riemannian_gradient(f, X).norm()))
    return X, norms


# ----------------------------------------------------------------------------- one-vs-rest certificates
def margin_lower_bound(W, k: int, h) -> float:
    """min_{j≠k} <w_k - w_j, h/||h||>: a lower bound on ρ_k(W) for any nonzero ``h`` (margin duality)."""
    W = as_matrix(W, "W", min_rows=2).to(F64)
    k = check_int(k, "k", minimum=0)
    if k >= W.shape[0]:
        raise ValueError(f"k must be a class index 0..{W.shape[0] - 1}, got k={k}.")
    h = torch.as_tensor(h, dtype=F64, device=W.device).reshape(-1)
    if h.shape[0] != W.shape[1] or float(h.norm()) == 0:
        raise ValueError(f"h must be a nonzero vector of length d={W.shape[1]}, got shape {tuple(h.shape)}.")
    m = (W[k] - W) @ (h / h.norm())
    return float(torch.cat([m[:k], m[k + 1:]]).min())


def hull_upper_bound(W, k: int, lam) -> float:
    """||w_k - Σ_{j≠k} λ_j w_j||: an upper bound on ρ_k(W) for any ``lam`` ``(K,)`` in the simplex with
    λ_k = 0 (a point of the hull of the others). Raises if ``lam`` is not such a weight vector."""
    W = as_matrix(W, "W", min_rows=2).to(F64)
    k = check_int(k, "k", minimum=0)
    if k >= W.shape[0]:
        raise ValueError(f"k must be a class index 0..{W.shape[0] - 1}, got k={k}.")
    lam = torch.as_tensor(lam, dtype=F64, device=W.device).reshape(-1)
    if lam.shape[0] != W.shape[0]:
        raise ValueError(f"lam must have K={W.shape[0]} entries (one per class), got {lam.shape[0]}.")
    if float(lam.min()) < -1e-12 or abs(float(lam.sum()) - 1) > 1e-9 or abs(float(lam[k])) > 1e-12:
        raise ValueError("lam must be simplex weights (>= 0, sum 1) with lam[k] = 0.")
    return float((W[k] - lam @ W).norm())


@dataclass(frozen=True)
class Certificate:
    """Per-class one-vs-rest certificate (tensors of shape ``(K,)``, float64).

    lower = min_j <w_k - w_j, h_k> (h_k unit), upper = ||w_k - p_k|| with p_k = Σ λ_j w_j recomputed from
    the simplex weights, gap = upper - lower >= 0, kkt = max_{j≠k} <w_k - p_k, w_j - p_k> (<= 0 iff p_k is
    the nearest hull point, up to rounding), rho = lower/upper midpoint.
    """
    lower: torch.Tensor
    upper: torch.Tensor
    gap: torch.Tensor
    kkt: torch.Tensor
    rho: torch.Tensor

    @property
    def max_gap(self) -> float:
        return float(self.gap.max())


def duality_gap(W) -> Certificate:
    """Certify ρ_k(W) for every class from :func:`gnc_teach.margins.one_vs_rest_distance` details:
    recompute the lower bound from ``h`` and the upper bound from the hull weights (max-min duality).
    ``W (K,d)`` with unit rows. See :class:`Certificate`."""
    from .margins import one_vs_rest_distance

    W = _points(W, "W")
    K = W.shape[0]
    det = one_vs_rest_distance(W, return_details=True)
    lower, upper, kkt = [], [], []
    for k in range(K):
        h = torch.as_tensor(det.h[k], dtype=F64, device=W.device)
        lower.append(margin_lower_bound(W, k, h))
        lam = torch.zeros(K, dtype=F64, device=W.device)
        sup = torch.as_tensor(det.support[k]).long()
        wts = torch.as_tensor(det.weights[k], dtype=F64, device=W.device)
        keep = sup >= 0
        lam[sup[keep].to(W.device)] = wts[keep].clamp_min(0)
        lam[k] = 0.0
        lam = lam / lam.sum()
        p = lam @ W
        upper.append(float((W[k] - p).norm()))
        others = torch.cat([W[:k], W[k + 1:]])
        kkt.append(float(((others - p) @ (W[k] - p)).max()))
    lower, upper = torch.tensor(lower, dtype=F64), torch.tensor(upper, dtype=F64)
    return Certificate(lower=lower, upper=upper, gap=upper - lower, kkt=torch.tensor(kkt, dtype=F64),
                       rho=(lower + upper) / 2)


def rattlers(W, tol: float = 1e-6) -> list[int]:
    """Classes whose one-vs-rest constraint is not binding: ρ_k(W) > ρ(W) + tol (certified: a class is
    listed only if its certified lower bound exceeds the smallest certified upper bound by ``tol``)."""
    tol = check_positive(tol, "tol", allow_zero=True)
    c = duality_gap(W)
    rho_up = float(c.upper.min())
    return [k for k in range(len(c.lower)) if float(c.lower[k]) > rho_up + tol]


# ----------------------------------------------------------------------------- GNC1 and GNC3 residuals
def _labelled(H, y, K):
    H = as_matrix(H, "H").to(F64)
    y = as_labels(y, "y", n=H.shape[0], device=H.device)
    K = int(y.max()) + 1 if K is None else check_int(K, "K", minimum=1)
    counts = torch.bincount(y, minlength=K)
    if len(counts) > K or (counts == 0).any():
        raise ValueError(f"every class 0..K-1 (K={K}) needs at least one feature in y.")
    Hn = H / H.norm(dim=1, keepdim=True).clamp_min(1e-300)
    return Hn, y, K, counts


def class_spread(H, y, *, K=None) -> torch.Tensor:
    """Per-class spread ``(K,)``: max_{i: y_i = k} ||h̃_i - h̃_{i0(k)}|| of the ℓ2-normalised features,
    the largest distance to the first feature of the class (0 iff the class has collapsed)."""
    Hn, y, K, _ = _labelled(H, y, K)
    first = torch.stack([Hn[y == k][0] for k in range(K)])
    d = (Hn - first[y]).norm(dim=1)
    return torch.zeros(K, dtype=F64, device=Hn.device).scatter_reduce(0, y, d, reduce="amax")


def gnc1_except_rattlers(H, y, rattler_classes=(), *, K=None) -> dict:
    """GNC1 with the rattlers set aside: ``{"spread": (K,), "max_non_rattler": float,
    "max_rattler": float or None}`` from :func:`class_spread`."""
    s = class_spread(H, y, K=K)
    R = sorted({int(k) for k in rattler_classes})
    keep = torch.ones(len(s), dtype=torch.bool)
    if R and (min(R) < 0 or max(R) >= len(s)):
        raise ValueError(f"rattler_classes must be class indices 0..{len(s) - 1}, got {R}.")
    keep[R] = False
    return {"spread": s, "max_non_rattler": float(s[keep].max()) if keep.any() else 0.0,
            "max_rattler": float(s[~keep].max()) if R else None}


def self_duality_residual(W, H, y) -> dict:
    """GNC3 residuals per class ``(K,)``: ``to_margin`` = ||h̄_k - h*_k|| with h̄_k the normalised mean of
    the normalised class-k features and h*_k = (w_k - p_k)/||w_k - p_k|| the margin direction;
    ``to_classifier`` = ||h̄_k - w_k||. The two agree for class k iff h*_k = w_k, i.e. iff
    ρ_k(W) = 1 - max_{j≠k} <w_j, w_k> (self-duality, class by class; lesson 04)."""
    from .margins import one_vs_rest_distance

    W = _points(W, "W")
    Hn, y, K, counts = _labelled(H, y, W.shape[0])
    M = torch.zeros(K, W.shape[1], dtype=F64, device=Hn.device).index_add_(0, y, Hn)
    Hbar = M / M.norm(dim=1, keepdim=True).clamp_min(1e-300)
    hstar = torch.as_tensor(one_vs_rest_distance(W, return_details=True).h, dtype=F64, device=W.device)
    hstar = hstar / hstar.norm(dim=1, keepdim=True)
    return {"to_margin": (Hbar - hstar).norm(dim=1), "to_classifier": (Hbar - W).norm(dim=1)}


# ----------------------------------------------------------------------------- the τ -> 0 sandwich
def tau_log_ce_bound(hardmax_value: float, tau: float, K: int, N: int):
    """[proved] If the HardMax value m = max_{k,i,j≠k} <w_j - w_k, h_{k,i}> is < 0 then
    m - τ log(2N) <= τ log CE_τ(W, H) <= m + τ log(K-1). Returns the interval (lo, hi)."""
    tau = check_positive(tau, "tau")
    K, N = check_int(K, "K", minimum=2), check_int(N, "N", minimum=1)
    return hardmax_value - tau * math.log(2 * N), hardmax_value + tau * math.log(max(K - 1, 1))


# ----------------------------------------------------------------------------- certified τ path
def square_antiprism(*, device=None, dtype=None) -> torch.Tensor:
    """The 8-point Tammes optimum in R^3 ``(8, 3)``: squares at heights ±z, turned by 45°, z² = 1/(1+2√2).

    Its max cos is z², and ρ = 1 - z² ≈ 0.7387961 (the best known softmax code for d=3, K=8)."""
    from ._tensor import resolve

    device, dtype = resolve(device, dtype)
    z2 = 1 / (1 + 2 * math.sqrt(2))
    z, s = math.sqrt(z2), math.sqrt(1 - z2)
    rows = [[s * math.cos(k * math.pi / 2 + o), s * math.sin(k * math.pi / 2 + o), h]
            for h, o in ((z, 0.0), (-z, math.pi / 4)) for k in range(4)]
    return torch.tensor(rows, dtype=F64).to(device=device, dtype=dtype)


@dataclass(frozen=True)
class PathPoint:
    """One temperature of :func:`certified_ufm_path`: the polished optimum and its certificates.

    ``W (K,d)``, ``H (K n, d)``, ``y``; ``grad_norm`` of τ·log CE; ``hessian`` (a :class:`HessianReport` of
    τ·log CE, same critical points and Hessian signs as CE); ``rho_lower`` <= ρ(W) <= ``rho_upper``.
    """
    tau: float
    W: torch.Tensor = field(repr=False)
    H: torch.Tensor = field(repr=False)
    y: torch.Tensor = field(repr=False)
    grad_norm: float
    hessian: HessianReport = field(repr=False)
    rho_lower: float
    rho_upper: float
    newton_steps: int


def certified_ufm_path(K: int, d: int, n: int, taus, *, seed: int = 0, warm_steps: int = 300,
                       newton_steps: int = 12) -> list[PathPoint]:
    """Spherical-UFM optima along decreasing temperatures, each certified to first and second order.

    Warm start: :func:`gnc_teach.ufm.train_spherical_ufm` at ``taus[0]`` (``warm_steps`` Adam steps, n
    features per class); then, for every τ in order, Riemannian Newton on τ·log CE from the previous
    optimum (continuation), the gradient norm, the Hessian on the tangent space (rotations excluded)
    and the certified bracket of ρ(W). A local certificate: it does not prove the optimum is global.
    """
    from .models.ufm import train_spherical_ufm

    K, d, n = check_int(K, "K", minimum=2), check_int(d, "d", minimum=2), check_int(n, "n", minimum=1)
    taus = [check_positive(t, "tau") for t in taus]
    if not taus:
        raise ValueError("taus is empty; pass temperatures such as [0.3, 0.1, 0.03].")
    warm = train_spherical_ufm(K, d, n, taus[0], steps=check_int(warm_steps, "warm_steps", minimum=1),
                               seed=seed, device="cpu", dtype=F64, record_every=10**9)
    W, H = warm.W.detach().to(F64).cpu(), warm.H.detach().to(F64).cpu()
    y = warm.y.cpu()
    X = stack(W / W.norm(dim=1, keepdim=True), H / H.norm(dim=1, keepdim=True))
    out = []
    for tau in taus:
        f = ufm_objective(K, y, tau, log=True)
        X, norms = riemannian_newton(f, X, steps=newton_steps)
        rep = hessian_min_eig_tangent(f, X)
        Wt, Ht = unstack(X, K)
        cert = duality_gap(Wt)
        out.append(PathPoint(tau=tau, W=Wt.clone(), H=Ht.clone(), y=y, grad_norm=rep.grad_norm, hessian=rep,
                             rho_lower=float(cert.lower.min()), rho_upper=float(cert.upper.min()),
                             newton_steps=len(norms) - 1))
    return out


# ----------------------------------------------------------------------------- softmax vs Tammes
SEARCH_PATH = Path(__file__).parent / "data" / "softmax_vs_tammes.csv"
SEARCH_GRID = {3: range(5, 61), 4: range(6, 31)}
SEARCH_TAUS = (0.3, 0.1, 0.05, 0.025, 0.0125, 0.006, 0.004)
#: rounds of the anytime search per solver and configuration in :func:`run_search` (rounds, not seconds:
#: the result does not depend on the machine's load)
SEARCH_EFFORT = 12
#: the UFM route of :func:`run_search` runs for K up to this (its continuation takes minutes above)
SEARCH_UFM_MAX_K = 20
H_STARTS = ("w", "random", "both")


def sloane_angle(K: int, d: int):
    """Sloane's best-known Tammes angle (degrees) for K points in R^3 from the shipped table, else None."""
    from .references import tammes_d3

    row = tammes_d3().get(K) if d == 3 else None
    return None if row is None else row["min_angle_deg"]


def softmax_vs_tammes(d: int, K: int, *, restarts: int | None = 32, seed: int = 0, ufm: bool = True,
                      taus=SEARCH_TAUS, tol: float = 1e-6, h_start: str = "both", effort: int | None = None,
                      budget: float | None = None) -> dict:
    """Compare softmax codes (max ρ) with Tammes codes (max min angle) in dimension d with K classes
    (dimension first, like the search grid {d: Ks}); numerical evidence only.

    Searches: ``tammes`` = :func:`gnc_teach.codes.tammes_code`; ``softmax`` =
    :func:`gnc_teach.codes.softmax_code` with ``h_start`` = "w" (its smooth phase starts from H = W, so it
    first follows the Tammes ascent: NOT independent of the Tammes search), "random" (H drawn independently
    of W: independent evidence) or "both" (both runs; ``rho_softmax`` is the better one and
    ``rho_softmax_w``, ``rho_softmax_random`` report each); ``ufm`` = the spherical UFM from random W and H
    followed by the certified Newton continuation of :func:`certified_ufm_path` down to ``taus[-1]`` (it
    reaches ρ only up to O(τ²), about 1e-6 here; ``ufm_min_eig`` < 0 says it ended at a saddle).
    ``effort`` / ``budget``: the solvers' anytime search (rounds after the first / seconds each); else their
    one-shot defaults with ``restarts``. Every ρ is certified (duality gap); the KKT residuals of the
    polished codes are reported.

    ``verdict``: "tammes code is not a softmax code" when some ρ_S > ρ_T + tol (a certified improvement:
    the Tammes code found is beaten) while that softmax code's min angle is not larger; "tammes search below
    softmax angle" when it is larger as well (the softmax code is a better Tammes code: the Tammes search
    fell short, which says nothing about the conjecture); "softmax search below tammes" when
    ρ_T > ρ_S + tol; else "agree".
    Also: angles (deg), 1 - cos θ_T, rattler counts (certified, tol 1e-6) of both codes. "agree" proves
    nothing: all searches are local.
    """
    from .codes import softmax_code, tammes_code

    d = check_int(d, "d", minimum=2)
    K = check_int(K, "K", minimum=2)
    if h_start not in H_STARTS:
        raise ValueError(f"h_start must be one of {H_STARTS} ('w': H starts at W, 'random': H independent "
                         f"of W, 'both': run both), got {h_start!r}.")
    t0 = time.perf_counter()
    kw = dict(restarts=restarts, seed=seed, device="cpu", dtype=F64, effort=effort, budget=budget)
    T = tammes_code(K, d, **kw)
    WT = T.W.detach().cpu().to(F64)
    cT = duality_gap(WT)
    rho_T = float(cT.lower.min())
    runs = {start: softmax_code(K, d, h_start=start, **kw)
            for start in (("w", "random") if h_start == "both" else (h_start,))}
    certs = {k: duality_gap(S.W.detach().cpu().to(F64)) for k, S in runs.items()}
    rho_S = {k: float(c.lower.min()) for k, c in certs.items()}
    key = max(rho_S, key=rho_S.get)
    best_W, best = runs[key].W.detach().cpu().to(F64), rho_S[key]
    rho_U, eig_U = float("nan"), float("nan")
    if ufm:
        WU, rho_U, eig_U = _ufm_route(K, d, seed, taus)
        if rho_U > best:
            best_W, best = WU, rho_U
    out = {"d": d, "K": K, "rho_tammes": rho_T, "rho_softmax": max(rho_S.values()), "rho_ufm": rho_U,
           "one_minus_cos_tammes": 1 - float(_max_cos(WT)), "angle_tammes": _angle(WT),
           "angle_softmax_best": _angle(best_W), "angle_sloane": sloane_angle(K, d),
           "rattlers_softmax_best": len(rattlers(best_W)), "rattlers_tammes": len(rattlers(WT)),
           "max_gap": max([cT.max_gap] + [c.max_gap for c in certs.values()]), "verdict": None,
           "seconds": time.perf_counter() - t0, "h_start": h_start, "ufm_min_eig": eig_U,
           "rho_softmax_w": rho_S.get("w", float("nan")), "rho_softmax_random": rho_S.get("random", float("nan")),
           "kkt_tammes": T.certificate.get("kkt_residual"), "kkt_softmax": runs[key].certificate.get("kkt_residual"),
           "rounds": T.rounds + sum(S.rounds for S in runs.values()), "effort": effort, "budget": budget}
    out["verdict"] = _verdict(out, tol)
    return out


SEARCH_FIELDS = ("d", "K", "rho_tammes", "rho_softmax", "rho_ufm", "one_minus_cos_tammes", "angle_tammes",
                 "angle_softmax_best", "angle_sloane", "rattlers_softmax_best", "rattlers_tammes", "max_gap",
                 "verdict", "seconds", "rho_softmax_w", "rho_softmax_random", "kkt_tammes", "kkt_softmax",
                 "ufm_min_eig", "rounds", "effort")
_INT_FIELDS = ("d", "K", "rattlers_softmax_best", "rattlers_tammes", "rounds", "effort")


VERDICTS = ("agree", "tammes code is not a softmax code", "tammes search below softmax angle",
            "softmax search below tammes")


def _verdict(row: dict, tol: float = 1e-6) -> str:
    """The verdict of a search row (see :func:`softmax_vs_tammes`) from its certified numbers."""
    rho_T = row["rho_tammes"]
    best = max(v for v in (row["rho_softmax"], row.get("rho_ufm")) if v is not None and not math.isnan(v))
    if best > rho_T + tol:
        # a larger min angle too: the softmax code is a better Tammes code, the Tammes search fell short
        return VERDICTS[2] if row["angle_softmax_best"] > row["angle_tammes"] + 1e-7 else VERDICTS[1]
    return VERDICTS[3] if rho_T > best + tol else VERDICTS[0]


def _angle(W) -> float:
    return math.degrees(math.acos(min(1.0, float(_max_cos(W)))))


def _ufm_route(K, d, seed, taus):
    """``(W, certified rho, smallest tangent Hessian eigenvalue)`` at the end of the UFM route."""
    last = certified_ufm_path(K, d, 1, taus, seed=seed, warm_steps=1500)[-1]
    return last.W, float(duality_gap(last.W).lower.min()), last.hessian.min_eig


def add_ufm_route(row: dict, *, seed: int = 0, taus=SEARCH_TAUS, tol: float = 1e-6) -> dict:
    """A search row (a :func:`softmax_vs_tammes` result made without the UFM route) completed with it:
    ``rho_ufm``, ``ufm_min_eig``, and the verdict, best angle and rattlers when the UFM code is the best."""
    row = dict(row)
    t0 = time.perf_counter()
    WU, rho_U, eig_U = _ufm_route(row["K"], row["d"], seed, taus)
    row.update(rho_ufm=rho_U, ufm_min_eig=eig_U, seconds=row["seconds"] + time.perf_counter() - t0)
    if rho_U > row["rho_softmax"]:
        row.update(angle_softmax_best=_angle(WU), rattlers_softmax_best=len(rattlers(WU)))
    row["verdict"] = _verdict(row, tol)
    return row


def _search_row(args):
    """One task in a worker process (one thread: the workers share the cores): see :func:`_run_task`."""
    torch.set_num_threads(1)
    kernels = compiled_kernels("_solvers.sphere_kernels")
    if kernels is not None:       # the anytime searches spread their restarts over numba's threads
        kernels.set_threads(1)
    return _run_task(args)


def _run_task(args):
    """A configuration ``softmax_vs_tammes(d, K, **kw)``, or (``kw`` holding a ``row``) the UFM route added
    to a row searched without it."""
    d, K, kw = args
    if "row" in kw:
        return add_ufm_route(kw["row"], seed=kw["seed"])
    return softmax_vs_tammes(d, K, **kw)


def _read_results(path) -> dict:
    rows = {}
    if Path(path).exists():
        for ln in Path(path).read_text().splitlines():
            if ln.strip():
                r = json.loads(ln)
                rows[(r["d"], r["K"])] = r
    return rows


def write_search_csv(rows, path=SEARCH_PATH, *, header=()):
    """Write the search CSV (:data:`SEARCH_FIELDS`, rows sorted by (d, K)) from result dicts, atomically."""
    lines = ["# Softmax code vs Tammes code, numerical search (gnc_teach.certify.softmax_vs_tammes).", *header,
             "# rho values are certified (duality gaps <= max_gap); kkt_*: first-order KKT residuals of the polished",
             "# codes; angle_sloane: best-known Tammes angle in R^3 from Sloane et al., Tables of Spherical Codes",
             "# (the table shipped in gnc_teach/data/tammes_d3.csv, N <= 30); rho_ufm = nan: the UFM route was not run.",
             ",".join(SEARCH_FIELDS)]
    # the verdict is derived again from each row's numbers: rows kept from earlier runs may carry an older rule
    lines += [table_row(dict({f: r.get(f) for f in SEARCH_FIELDS}, verdict=_verdict(r)), SEARCH_FIELDS)
              for r in sorted(rows, key=lambda r: (r["d"], r["K"]))]
    write_atomic(path, "\n".join(lines) + "\n")
    return Path(path)


def run_search(path=SEARCH_PATH, *, grid=None, restarts: int | None = None, seed: int = 0, resume: bool = False,
               verbose: bool = True, effort: int | None = SEARCH_EFFORT, budget: float | None = None,
               jobs: int = 1, results=None, ufm_max_K: int = SEARCH_UFM_MAX_K, redo=()):
    """Run :func:`softmax_vs_tammes` (both softmax starts) over ``grid`` ({d: Ks}, default
    :data:`SEARCH_GRID`), ``jobs`` configurations at a time (one thread each), and write the CSV ``path``.
    The UFM route runs for K <= ``ufm_max_K`` (0: never).

    Every finished configuration is appended at once to ``results`` (JSON lines; default ``path`` with the
    suffix .jsonl), so a run can be stopped and resumed: ``resume=True`` keeps the configurations already
    there (except those in ``redo``, a list of (d, K)) and computes only the others; kept rows with
    K <= ``ufm_max_K`` that were searched without the UFM route get it added. The CSV is rewritten from the
    results file after every task.
    """
    grid = SEARCH_GRID if grid is None else grid
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict {{d: [K, ...]}}, got {type(grid).__name__}.")
    jobs = check_int(jobs, "jobs", minimum=1)
    if restarts is not None:
        restarts = check_int(restarts, "restarts", minimum=1)
    if effort is not None:
        effort = check_int(effort, "effort", minimum=0)
    if budget is not None:
        budget = check_positive(budget, "budget")
    ufm_max_K = check_int(ufm_max_K, "ufm_max_K", minimum=0)
    path = Path(path)
    results = path.with_suffix(".jsonl") if results is None else Path(results)
    done = _read_results(results) if resume else {}
    for key in redo:
        done.pop(tuple(key), None)
    todo = [(d, K) for d, Ks in grid.items() for K in Ks if (d, K) not in done]
    kw = dict(restarts=restarts, seed=seed, effort=effort, budget=budget)
    how = (f"effort={effort} rounds per solver" if effort is not None else f"restarts={restarts}") + \
        (f", budget={budget} s" if budget is not None else "")
    header = [f"# Regenerate: python -m gnc_teach.certify --search ({how}, seed={seed}, UFM route for "
              f"K <= {ufm_max_K}; torch {torch.__version__}); results file {results.name}."]
    write_atomic(results, "".join(json.dumps(r) + "\n" for r in done.values()))
    rows = list(done.values())

    def keep(r):
        rows[:] = [x for x in rows if (x["d"], x["K"]) != (r["d"], r["K"])] + [r]
        with results.open("a") as fh:        # a later line for the same (d, K) replaces an earlier one
            fh.write(json.dumps(r) + "\n")
        write_search_csv(rows, path, header=header)
        if verbose:
            print(table_row({f: r.get(f) for f in SEARCH_FIELDS}, SEARCH_FIELDS), flush=True)

    tasks = [(r["d"], r["K"], {"row": r, "seed": seed}) for r in rows
             if r["K"] <= ufm_max_K and (r.get("rho_ufm") is None or math.isnan(r["rho_ufm"]))]
    tasks += [(d, K, dict(kw, ufm=K <= ufm_max_K)) for d, K in todo]
    if jobs > 1 and len(tasks) > 1:
        import multiprocessing as mp
        with mp.get_context("spawn").Pool(jobs) as pool:
            for r in pool.imap_unordered(_search_row, tasks):
                keep(r)
    else:
        for task in tasks:
            keep(_run_task(task))
    return write_search_csv(rows, path, header=header)


def load_search(path=SEARCH_PATH) -> list[dict]:
    """Rows of the cached search (see :func:`run_search`) as dicts with numbers parsed (empty cells: None)."""
    def parse(key, text):
        if key == "verdict":
            return text
        if key in _INT_FIELDS:
            return int(text) if text else None
        return float(text) if text else None
    return read_table(path, parse)


def main(argv=None) -> int:
    """``python -m gnc_teach.certify --search [--effort N] [--jobs J] [--resume]``: run the softmax-vs-Tammes
    search and rebuild its CSV."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m gnc_teach.certify", description=main.__doc__)
    ap.add_argument("--search", action="store_true", help="run the softmax-vs-Tammes search")
    ap.add_argument("--effort", type=int, default=SEARCH_EFFORT,
                    help="anytime rounds per solver and configuration (default %(default)s; 0: first round only; "
                         "-1: the solvers' one-shot defaults with --restarts)")
    ap.add_argument("--budget", type=float, default=None, help="also stop each solver after this many seconds")
    ap.add_argument("--restarts", type=int, default=None, help="restarts per batch (default: the solvers' own)")
    ap.add_argument("--grid", default="", help="d:Kmin-Kmax[;d:...], e.g. '3:5-60;4:6-30' (default: SEARCH_GRID)")
    ap.add_argument("--jobs", type=int, default=1, help="configurations run at once (one thread each)")
    ap.add_argument("--ufm-max-k", type=int, default=SEARCH_UFM_MAX_K,
                    help="run the UFM route for K up to this (default %(default)s; 0: never)")
    ap.add_argument("--out", default=str(SEARCH_PATH))
    ap.add_argument("--results", default=None, help="JSON-lines results file (default: --out with suffix .jsonl)")
    ap.add_argument("--resume", action="store_true", help="keep the configurations already in --results")
    ap.add_argument("--redo", default="", help="with --resume, recompute these, e.g. '3:13,15'")
    args = ap.parse_args(argv)
    if not args.search:
        ap.print_help()
        return 0
    grid, redo = None, []
    try:
        if args.grid:
            grid = {}
            for part in args.grid.split(";"):
                d, _, ks = part.partition(":")
                lo, _, hi = ks.partition("-")
                grid[int(d)] = range(int(lo), int(hi or lo) + 1)
        if args.redo:
            d, Ks = args.redo.split(":")
            redo = [(int(d), int(K)) for K in Ks.split(",")]
    except ValueError:
        ap.error("--grid takes 'd:Kmin-Kmax[;d:...]' and --redo 'd:K[,K...]', e.g. --grid '3:5-60' --redo 3:13,15")
    torch.set_num_threads(1)
    run_search(args.out, grid=grid, restarts=args.restarts, effort=None if args.effort < 0 else args.effort,
               budget=args.budget, jobs=args.jobs, results=args.results, resume=args.resume or bool(redo),
               ufm_max_K=args.ufm_max_k, redo=redo)
    return 0


def _max_cos(W):
    G = W @ W.T
    G.fill_diagonal_(-2.0)
    return G.max()


if __name__ == "__main__":
    raise SystemExit(main())
