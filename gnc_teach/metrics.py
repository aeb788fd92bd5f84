"""Neural-collapse (NC1-NC4) and generalized-neural-collapse (GNC1-GNC3) metrics.

Shapes: features ``H`` ``(N, d)``, integer labels ``y`` ``(N,)`` in 0..K-1, classifier ``W`` ``(K, d)``
with row ``w_k`` = class k. Every metric is computed in float64 on the input's device and returned as a
Python float (``nc2`` returns a small dataclass of floats).

NC (Papyan, Han & Donoho 2020), on raw features:
    nc1  = tr(Σ_W Σ_B^†) / K
    nc2  = equinorm / equiangularity / max-angle of the centred class means and of the rows of W
    nc3  = || W/||W||_F - M̄/||M̄||_F ||_F^2,  M̄ rows μ_k - μ_G
    nc4  = fraction of samples where argmax_k <w_k, h> (+ b_k) != nearest class mean
GNC (Jiang et al. 2024), on ℓ2-normalised features h/||h||; μ_k are their class means:
    gnc1 = nc1 of the normalised features
    gnc2 = ρ(Ŵ) = min_k dist(ŵ_k, conv{ŵ_j : j != k}) of the row-normalised classifier (larger is better)
    gnc3 = (1/K) Σ_k (1 - cos(w_k, μ_k - μ_G))       CENTRED: the metric of the paper's experiments
    gnc3_uncentred = (1/K) Σ_k (1 - cos(w_k, μ_k))   the bias-free theory: means along the classifier rows
    gnc3_margin = (1/K) Σ_k (1 - cos(μ_k, h*_k))     the theory's GNC3: means along the margin directions
                  h*_k = (w_k - p_k)/||w_k - p_k||, p_k the nearest point of conv{w_j : j != k}
The centring by μ_G mirrors NC3 for networks with a bias. The spherical UFM has no bias and μ_G need not
vanish: for the optimal code {±e1, ±e2, e3} with every feature equal to its row, gnc3 ≈ 0.0155 while
gnc3_uncentred = gnc3_margin = 0.

Memory: the pairwise statistics of NC2 are accumulated over blocks of rows (O(K) memory per row of a
block, never a K x K matrix); :func:`code_distance`, which sorts all K(K-1)/2 cosines, checks that they
fit in memory first.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from ._memory import check_memory
from ._tensor import as_labels, as_matrix, as_vector, check_bool, check_int, check_positive, unit_rows
from .geometry import _check_square

__all__ = [
    "class_means", "within_class_spread", "nc1", "nc2", "NC2", "nc2_equinorm", "nc2_equiangle",
    "nc2_maxangle", "nc3", "nc4", "gnc1", "gnc2", "gnc3", "gnc3_uncentred", "gnc3_margin",
    "code_distance",
]


# ----------------------------------------------------------------------------- validation helpers
def _features(H, y, *, K=None):
    """Validate ``H (N,d)``, ``y (N,)`` and ``K``; return float64 ``H``, long ``y``, int ``K``."""
    H = as_matrix(H, "H").to(torch.float64)
    y = as_labels(y, "y", n=H.shape[0], device=H.device)
    top = int(y.max()) + 1
    if K is None:
        K = top
    K = check_int(K, "K", minimum=1)
    if top > K:
        raise ValueError(f"y has label {top - 1} but K={K}; labels must lie in 0..K-1.")
    counts = torch.bincount(y, minlength=K)
    if (counts == 0).any():
        empty = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f"class(es) {empty} have no samples in y (K={K}); every class 0..K-1 needs "
                         "at least one feature, or pass a smaller K.")
    return H, y, K


def _classifier(W, K, d, H):
    """Validate ``W (K,d)`` against the features and return it in float64 on H's device."""
    W = as_matrix(W, "W").to(device=H.device, dtype=torch.float64)
    if W.shape[1] != d:
        raise ValueError(f"W has {W.shape[1]} columns but the features H have d={d}; W must be (K, d).")
    if W.shape[0] < K:
        raise ValueError(f"W has {W.shape[0]} rows but y has labels up to {K - 1}; W must be (K, d) "
                         "with one row per class.")
    return W


_unit_rows = unit_rows      # GNC metrics need nonzero vectors: a zero row is a ValueError naming the input


# ----------------------------------------------------------------------------- class statistics
def class_means(H, y, *, K=None) -> torch.Tensor:
    """Class means μ_k = mean of the rows of ``H`` with label k: ``(K, d)`` float64.

    ``K`` defaults to max(y)+1; every class 0..K-1 must occur (else ValueError).
    """
    H, y, K = _features(H, y, K=K)
    return _means(H, y, K)


def _means(H, y, K):
    S = torch.zeros(K, H.shape[1], dtype=H.dtype, device=H.device).index_add_(0, y, H)
    return S / torch.bincount(y, minlength=K).unsqueeze(1).to(H.dtype)


def within_class_spread(H, y, *, K=None) -> float:
    """max_k mean_{i: y_i = k} ||h_i - μ_k||: the worst class's average distance to its mean (0 = NC1)."""
    H, y, K = _features(H, y, K=K)
    dist = (H - _means(H, y, K)[y]).norm(dim=1)
    per_class = torch.zeros(K, dtype=H.dtype, device=H.device).index_add_(0, y, dist)
    return float((per_class / torch.bincount(y, minlength=K).to(H.dtype)).max())


def _pinv_psd(S, rtol, scale):
    """Moore-Penrose pseudo-inverse of a symmetric PSD matrix by a full eigendecomposition.

    Keeps every eigenvalue above rtol·λ_max, so it works for any rank, including K > d+1 where Σ_B has
    full rank d (a truncated SVD with a fixed k = K-1 components would fail there, since k must be < d).
    ``scale`` is the size of the entries S was computed from (mean ||h||²): a λ_max at rounding level of
    it (class means that coincide up to rounding) counts as 0, not as a tiny spread to divide by.
    """
    lam, V = torch.linalg.eigh(S)
    top = lam.max()
    if top <= 64 * torch.finfo(S.dtype).eps * scale:
        raise ValueError("all class means coincide (Σ_B = 0), so NC1 = tr(Σ_W Σ_B^†)/K is undefined.")
    keep = lam > rtol * top
    return (V[:, keep] / lam[keep]) @ V[:, keep].T


def nc1(H, y, *, K=None, rtol: float = 1e-10) -> float:
    """NC1 = tr(Σ_W Σ_B^†) / K (0 = every feature sits on its class mean).

    Σ_W = (1/N) Σ_i (h_i - μ_{y_i})(h_i - μ_{y_i})ᵀ,  Σ_B = (1/K) Σ_k (μ_k - μ_G)(μ_k - μ_G)ᵀ with μ_G the
    mean of all features. The pseudo-inverse keeps eigenvalues of Σ_B above ``rtol``·λ_max; any K and d.
    """
    H, y, K = _features(H, y, K=K)
    rtol = check_positive(rtol, "rtol")
    if K < 2:
        raise ValueError(f"NC1 compares within-class with between-class spread, so it needs K >= 2 classes; "
                         f"got K={K} (y has a single class).")
    M = _means(H, y, K)
    Mc = M - H.mean(dim=0)
    D = H - M[y]
    Sw = D.T @ D / H.shape[0]
    Sb = Mc.T @ Mc / K
    return float(torch.trace(Sw @ _pinv_psd(Sb, rtol, float(H.pow(2).sum(1).mean()))) / K)


# ----------------------------------------------------------------------------- NC2
def nc2_equinorm(M) -> float:
    """std/mean of the row norms ||m_k|| of ``M`` ``(K, d)`` (0 = equal norms). Rows used as given."""
    M = as_matrix(M, "M", min_rows=2).to(torch.float64)
    r = M.norm(dim=1)
    if float(r.mean()) == 0:
        raise ValueError("every row of M is zero, so the equinorm ratio std/mean is undefined.")
    return float(r.std(unbiased=False) / r.mean())


#: entries of one (rows, K) block of pairwise cosines (32 MB in float64)
PAIR_BLOCK = 1 << 22


def _pair_cos_blocks(M):
    """The unit rows of ``M`` and a generator of blocks of cos(m_j, m_k) over the pairs j < k (1-D
    tensors; together every pair once), a few rows at a time: memory O(PAIR_BLOCK), not K²."""
    U = _unit_rows(as_matrix(M, "M", min_rows=2).to(torch.float64), "M")
    K = U.shape[0]
    rows = max(1, min(K, PAIR_BLOCK // K))

    def blocks():
        for s in range(0, K - 1, rows):
            C = U[s:s + rows] @ U.T
            r = torch.arange(s, min(s + rows, K), device=U.device)
            yield C[torch.arange(K, device=U.device)[None, :] > r[:, None]]   # the pairs j > k of rows k
    return U, blocks


def nc2_equiangle(M) -> float:
    """std of cos(m_j, m_k) over the distinct pairs j < k of the rows of ``M`` (0 = equiangular).

    Two passes over blocks of pairs (mean, then mean squared deviation): O(K) memory per block row."""
    U, blocks = _pair_cos_blocks(M)
    K = U.shape[0]
    n = K * (K - 1) // 2
    mean = sum(float(c.sum()) for c in blocks()) / n
    return (sum(float((c - mean).pow(2).sum()) for c in blocks()) / n) ** 0.5


def nc2_maxangle(M) -> float:
    """mean over pairs j < k of |cos(m_j, m_k) + 1/(K-1)| (0 = simplex-ETF angles)."""
    U, blocks = _pair_cos_blocks(M)
    K = U.shape[0]
    return sum(float((c + 1.0 / (K - 1)).abs().sum()) for c in blocks()) / (K * (K - 1) // 2)


@dataclass(frozen=True)
class NC2:
    """NC2 numbers of the centred class means (``*_M``) and of the classifier rows (``*_W``).

    A field is ``None`` when its input was not given. All are 0 for a simplex ETF.
    """
    equinorm_M: float | None = None
    equiangle_M: float | None = None
    maxangle_M: float | None = None
    equinorm_W: float | None = None
    equiangle_W: float | None = None
    maxangle_W: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def nc2(W=None, H=None, y=None, *, K=None) -> NC2:
    """NC2 (simplex-ETF structure) of the centred class means μ_k - μ_G (needs ``H`` and ``y``) and/or
    of the rows of ``W`` ``(K, d)``, as an :class:`NC2` dataclass.

    equinorm = std/mean of the norms; equiangle = std of the pairwise cosines; maxangle = mean
    |cos + 1/(K-1)|. Example: ``nc2(H=H, y=y).maxangle_M``; ``nc2(W).equinorm_W``.
    For a plain matrix use :func:`nc2_equinorm`, :func:`nc2_equiangle`, :func:`nc2_maxangle`.
    """
    if W is None and H is None:
        raise ValueError("nc2 needs W (K, d), or H (N, d) with labels y, or both.")
    if (H is None) != (y is None):
        raise ValueError("nc2 needs H and y together (the class means come from both).")
    out = {}
    if H is not None:
        H, y, K = _features(H, y, K=K)
        Mc = _means(H, y, K) - H.mean(dim=0)
        out.update(equinorm_M=nc2_equinorm(Mc), equiangle_M=nc2_equiangle(Mc), maxangle_M=nc2_maxangle(Mc))
    if W is not None:
        W = as_matrix(W, "W", min_rows=2)
        out.update(equinorm_W=nc2_equinorm(W), equiangle_W=nc2_equiangle(W), maxangle_W=nc2_maxangle(W))
    return NC2(**out)


# ----------------------------------------------------------------------------- NC3, NC4
def nc3(W, H, y) -> float:
    """NC3 = || W/||W||_F - M̄/||M̄||_F ||_F^2 with M̄ rows μ_k - μ_G (0 = self-duality; at most 4)."""
    W = as_matrix(W, "W")
    H, y, K = _features(H, y, K=W.shape[0])
    W = _classifier(W, K, H.shape[1], H)
    Mc = _means(H, y, K) - H.mean(dim=0)
    nW, nM = W.norm(), Mc.norm()
    if nW == 0 or nM == 0:
        raise ValueError("nc3 needs a nonzero W and class means that do not all coincide.")
    return float((W / nW - Mc / nM).pow(2).sum())


def nc4(W, H, y, *, b=None) -> float:
    """NC4 = fraction of samples where argmax_k (<w_k, h> + b_k) != argmin_k ||h - μ_k|| (0 = NCC).

    ``b`` is an optional bias ``(K,)``. Ties go to the lowest index in both rules.
    """
    W = as_matrix(W, "W")
    H, y, K = _features(H, y, K=W.shape[0])
    W = _classifier(W, K, H.shape[1], H)
    N = H.shape[0]   # the (N, K) logits and distances to the class means
    check_memory(3 * 8 * N * W.shape[0], what=f"nc4 for N={N} features and K={W.shape[0]} classes",
                 fix="Use a subset of the features.", device=H.device)
    logits = H @ W.T
    if b is not None:  # one finite bias per row of W
        logits = logits + as_vector(b, "b", n=W.shape[0], device=H.device, dtype=torch.float64)
    ncc = torch.cdist(H, _means(H, y, K)).argmin(dim=1)
    return float((logits.argmax(dim=1) != ncc).to(torch.float64).mean())


# ----------------------------------------------------------------------------- GNC
def _normalised_features(H, y, K=None):
    H, y, K = _features(H, y, K=K)
    return _unit_rows(H, "H"), y, K


def gnc1(H, y, *, K=None, rtol: float = 1e-10) -> float:
    """GNC1 = tr(Σ_W Σ_B^†)/K of the ℓ2-normalised features h/||h|| (works for K > d+1)."""
    Hn, y, K = _normalised_features(H, y, K)
    return nc1(Hn, y, K=K, rtol=rtol)


def gnc2(W) -> float:
    """GNC2 = ρ(Ŵ) = min_k dist(ŵ_k, conv{ŵ_j : j != k}) of the row-normalised ``W`` ``(K, d)``.

    Larger is better; ρ(Ŵ) <= K/(K-1) with equality iff simplex ETF (lesson 02). Exact via
    :func:`gnc_teach.margins.one_vs_rest_distance`.
    """
    from .margins import one_vs_rest_distance  # lazy: margins is optional at import time

    W = _unit_rows(as_matrix(W, "W", min_rows=2).to(torch.float64), "W")
    return float(torch.as_tensor(one_vs_rest_distance(W)).min())


def _gnc3_parts(W, H, y):
    W = as_matrix(W, "W")
    Hn, y, K = _normalised_features(H, y, K=W.shape[0])
    W = _unit_rows(_classifier(W, K, Hn.shape[1], Hn)[:K], "W")
    return W, Hn, y, K, _means(Hn, y, K)


def _one_minus_cos(A, B, name, per_class):
    per_class = check_bool(per_class, "per_class")
    out = 1 - (A * _unit_rows(B, name)).sum(dim=1)
    return out if per_class else float(out.mean())


def gnc3(W, H, y) -> float:
    """GNC3 as in the paper's experiments, CENTRED: (1/K) Σ_k (1 - cos(w_k, μ_k - μ_G)), μ from the
    ℓ2-normalised features (0 = aligned). Compare :func:`gnc3_uncentred` and :func:`gnc3_margin`, the
    quantities of the bias-free theory: with μ_G != 0 this one is positive even at an exact optimum."""
    W, Hn, y, K, M = _gnc3_parts(W, H, y)
    return _one_minus_cos(W, M - Hn.mean(dim=0), "the centred class means", False)


def gnc3_uncentred(W, H, y, *, per_class: bool = False):
    """(1/K) Σ_k (1 - cos(w_k, μ_k)) with UNcentred means μ_k of the ℓ2-normalised features: 0 iff every
    class mean points along its classifier row. ``per_class=True`` returns the ``(K,)`` terms."""
    W, Hn, y, K, M = _gnc3_parts(W, H, y)
    return _one_minus_cos(W, M, "the class means", per_class)


def gnc3_margin(W, H, y, *, per_class: bool = False):
    """(1/K) Σ_k (1 - cos(μ_k, h*_k)): alignment of the uncentred class means with the margin directions
    h*_k = (w_k - p_k)/||w_k - p_k|| of the row-normalised W (p_k the nearest point of the hull of the
    other rows; exact via :func:`gnc_teach.margins.one_vs_rest_distance`). The GNC3 of the τ → 0 theory:
    0 at a HardMax optimum except for rattler classes. ``per_class=True`` returns the ``(K,)`` terms."""
    from .margins import one_vs_rest_distance  # lazy, as in gnc2

    W, Hn, y, K, M = _gnc3_parts(W, H, y)
    hstar = torch.as_tensor(one_vs_rest_distance(W, return_details=True).h, dtype=torch.float64,
                            device=W.device)
    return _one_minus_cos(_unit_rows(hstar, "a margin direction"), M, "the class means", per_class)


# ----------------------------------------------------------------------------- comparing codes
def code_distance(A, B) -> float:
    """How far two codes ``A``, ``B`` ``(K, d)`` are from being the same up to rotation/reflection and
    relabelling: max |difference| of their sorted off-diagonal cosines (rows normalised first).

    Invariant under both symmetries, so equal codes give 0 (to rounding). Zero is necessary, not
    sufficient, for congruence (it compares the multiset of angles), but it tells apart e.g. the cube
    from the square antiprism. Codes in different dimensions may be compared (same K needed).
    """
    A = _unit_rows(as_matrix(A, "A", min_rows=2).to(torch.float64), "A")
    B = _unit_rows(as_matrix(B, "B", min_rows=2).to(device=A.device, dtype=torch.float64), "B")
    if A.shape[0] != B.shape[0]:
        raise ValueError(f"A has K={A.shape[0]} rows but B has K={B.shape[0]}; codes must have the same K.")
    K = A.shape[0]
    # per code: the K x K Gram matrix, the pair indices (2 x 8 bytes per pair), the cosines and their sort
    check_memory(2 * 8 * (K * K + 2 * K * K), what=f"code_distance (K={K}: all K(K-1)/2 pairwise cosines, sorted)",
                 fix="Use a smaller K (compare a subset of the rows, or compare one_vs_rest_distance instead).",
                 device=A.device)
    iu = torch.triu_indices(K, K, offset=1, device=A.device)
    a = torch.sort((A @ A.T)[iu[0], iu[1]]).values
    b = torch.sort((B @ B.T)[iu[0], iu[1]]).values
    return float((a - b).abs().max())


# =============================================================================================
# Deep linear UFM and imbalanced classes (lesson 07): the three target geometries of the class
# means / classifier rows, per-class lengths, and NC1 at every layer.
#   orthogonal frame          A Aᵀ ∝ I_K                      (balanced, bias-free MSE)
#   simplex ETF               A Aᵀ ∝ I_K - 11ᵀ/K              (balanced, with an unpenalised bias)
#   general orthogonal frame  A Aᵀ = diag(ℓ_1², ..., ℓ_K²)    (imbalanced, bias-free: predicted ℓ_k)
# =============================================================================================
__all__ += ["gram_error", "orthogonal_frame_error", "simplex_etf_error", "class_lengths", "class_alignment",
            "nc1_layers"]


def _gram(A, name):
    A = as_matrix(A, name, min_rows=2).to(torch.float64)
    _check_square(A.shape[0], f"the Gram matrix of {name}", copies=3, device=A.device)
    return A @ A.T


def _scale_free_distance(G, T):
    nG = G.norm()
    if nG == 0:
        raise ValueError("every row of A is zero, so the shape of the frame is undefined.")
    return float((G / nG - T / T.norm()).norm())


def gram_error(A, target) -> float:
    """||A Aᵀ - G||_F / ||G||_F: relative distance of the Gram of the rows of ``A`` ``(K, d)`` to a target
    Gram ``G`` ``(K, K)`` (e.g. diag of the predicted squared lengths: the general orthogonal frame)."""
    G = _gram(A, "A")
    T = as_matrix(target, "target").to(device=G.device, dtype=torch.float64)
    if T.shape != G.shape:
        raise ValueError(f"target must be ({G.shape[0]}, {G.shape[0]}) to match the {G.shape[0]} rows of A, "
                         f"got {tuple(T.shape)}.")
    nT = T.norm()
    if nT == 0:
        raise ValueError("target is the zero matrix; use the absolute ||A Aᵀ||_F instead.")
    return float((G - T).norm() / nT)


def orthogonal_frame_error(A) -> float:
    """|| A Aᵀ/||A Aᵀ||_F - I_K/√K ||_F: 0 iff the rows of ``A`` are orthogonal with equal norms
    (scale-free, at most 2)."""
    G = _gram(A, "A")
    return _scale_free_distance(G, torch.eye(G.shape[0], dtype=G.dtype, device=G.device))


def simplex_etf_error(A) -> float:
    """|| A Aᵀ/||A Aᵀ||_F - P/||P||_F ||_F with P = I_K - 11ᵀ/K: 0 iff the rows of ``A`` form a simplex ETF
    up to scale (equal norms, cosines -1/(K-1), zero sum). Scale-free, at most 2."""
    G = _gram(A, "A")
    K = G.shape[0]
    P = torch.eye(K, dtype=G.dtype, device=G.device) - 1.0 / K
    return _scale_free_distance(G, P)


def class_lengths(W, H, y):
    """Per class k: ``(||w_k||², ||h̄_k||², <w_k, h̄_k>)``, three ``(K,)`` float64 tensors, with h̄_k the
    (uncentred) mean of the features of class k and ``W`` ``(K, d)``."""
    W = as_matrix(W, "W")
    H, y, K = _features(H, y, K=W.shape[0])
    W = _classifier(W, K, H.shape[1], H)
    Hbar = _means(H, y, K)
    return W.pow(2).sum(1), Hbar.pow(2).sum(1), (W * Hbar).sum(1)


def class_alignment(W, H, y) -> torch.Tensor:
    """cos(w_k, h̄_k) per class ``(K,)`` with uncentred class means (1 = self-dual class); NaN for a class
    whose w_k or h̄_k is exactly 0 (a collapsed class has no direction)."""
    w2, h2, inner = class_lengths(W, H, y)
    den = (w2 * h2).sqrt()
    return torch.where(den > 0, inner / den.clamp_min(torch.finfo(den.dtype).tiny),
                       torch.full_like(den, float("nan")))


def nc1_layers(layers, H, y, *, K=None, rtol: float = 1e-10) -> list:
    """NC1 of the features entering every layer: ``[nc1(H), nc1(H W_1ᵀ), ..., nc1(H W_1ᵀ⋯W_{M-1}ᵀ)]``.

    ``layers`` = ``[W_1, ..., W_M]`` with ``W_m`` ``(d_{m+1}, d_m)`` (torch.nn.Linear layout), ``H`` ``(N, d_1)``.
    A layer whose class means all coincide (e.g. every feature 0) has no NC1: NaN there.
    """
    if isinstance(layers, torch.Tensor) or not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list [W_1, ..., W_M] of (d_out, d_in) matrices.")
    rtol = check_positive(rtol, "rtol")
    Z = as_matrix(H, "H").to(torch.float64)
    out = []
    for m, Wm in enumerate(layers):
        Wm = as_matrix(Wm, f"layers[{m}]").to(device=Z.device, dtype=torch.float64)
        if Wm.shape[1] != Z.shape[1]:
            raise ValueError(f"layers[{m}] has shape {tuple(Wm.shape)} but its input has width {Z.shape[1]}; "
                             "W_m must be (d_out, d_in).")
        try:
            out.append(nc1(Z, y, K=K, rtol=rtol))
        except ValueError as exc:
            if "undefined" not in str(exc):
                raise
            out.append(float("nan"))
        Z = Z @ Wm.T
    return out
