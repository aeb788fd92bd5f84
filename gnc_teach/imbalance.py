"""Closed-form global minimisers of the deep linear unconstrained-features model with MSE, for any
class sizes (Dang et al., ICML 2023; lesson 07).

Model (rows are classes, as everywhere in the package): free features ``H`` ``(N, d)``, layers
``W_1 .. W_M`` with product ``W = W_M ⋯ W_1`` of shape ``(K, d)``, class k has n_k samples, N = Σ n_k:

    F = 1/(2N) Σ_i ||W h_i (+ b) - e_{y_i}||² + λ_W/2 Σ_m ||W_m||_F² + λ_H/2 ||H||_F²,

with an optional unpenalised bias b. Every width must be >= K (>= K-1 with the bias).

Reduction (proved in lesson 07 for M = 1; for M >= 2 it uses the product lemma
min{Σ_m λ_m ||F_m||²/2 : F_L ⋯ F_1 = A} = (L/2)(Π_m λ_m)^{1/L} Σ_i σ_i(A)^{2/L}): at a global minimiser the
features collapse to their class means h̄_k (rows of ``H̄`` ``(K, d)``), and F depends only on the
singular values a_i of A = W H̄ᵀ D^{1/2}, D = diag(n_k). With s_i the singular values of the target
T (T = D^{1/2} without bias, T = (I - π 1ᵀ) D^{1/2} with it, π = n/N), F* = Σ_i min_{a>=0} ψ(a; s_i),

    ψ(a; s) = (a - s)²/(2N) + (M+1)/2 · c · a^{2/(M+1)},   c = (λ_W^M λ_H)^{1/(M+1)}.

Writing a = z s, z in [0, 1] is the fit of the mode (z_k = <w_k, h̄_k> without bias); its stationary
points in (0, 1) solve (1 - z) z^{(M-1)/(M+1)} = ε with ε = N c s^{-2M/(M+1)}. For M = 1 the only root
is z = 1 - ε (when ε < 1). For M >= 2, z = 0 is always a local minimum, the equation has 0 or 2 roots,
the larger one is a local minimum, and the global minimiser is whichever of 0 and that root has the
smaller ψ: never simply the largest root. A mode collapses (z = 0) iff s² <= n*, with

    n*(1) = N² λ_W λ_H,   n*(M) = M² / (M-1)^{(M-1)/M} · N^{(M+1)/M} (λ_W^M λ_H)^{1/M}  (M >= 2),

and for M >= 2 the fit jumps at n* from 0 to (M-1)/M. The balanced factorisation gives the rest: with
T = U diag(s) Vᵀ and t_i = c a_i^{2/(M+1)} (the value of λ_W σ² for every layer and of λ_H σ² for the
weighted means), W Wᵀ = U diag((t_i/λ_W)^M) Uᵀ, D^{1/2} H̄ H̄ᵀ D^{1/2} = V diag(t_i/λ_H) Vᵀ and
W H̄ᵀ = U diag(a_i) Vᵀ D^{-1/2}. Without bias U = V = I (up to the order of the modes), so per class

    ||w_k||² = (t_k/λ_W)^M,  ||h̄_k||² = t_k/(λ_H n_k),  <w_k, h̄_k> = z_k,  t_k = c (n_k z_k²)^{1/(M+1)},

which for M = 1 is ||w_k||² = sqrt(n_k λ_H/λ_W) - N λ_H, ||h̄_k||² = sqrt(λ_W/(n_k λ_H)) - N λ_W/n_k,
<w_k, h̄_k> = 1 - N sqrt(λ_W λ_H/n_k) (all clipped at 0). With the bias, the optimal bias is b = π.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._memory import check_memory
from ._tensor import check_bool, check_int, check_positive

__all__ = ["DeepLinearOptimum", "deep_linear_optimum", "collapse_threshold", "class_fit",
           "class_objective", "stationary_fits", "predicted_lengths", "local_minima", "check_class_sizes"]


# ----------------------------------------------------------------------------- validation
def check_class_sizes(n, name: str = "n") -> np.ndarray:
    """``n`` as an int64 array of K >= 2 positive class sizes, or a ValueError/TypeError naming ``name``."""
    if isinstance(n, (str, bytes)) or isinstance(n, numbers.Number):
        raise TypeError(f"{name} must be a sequence of class sizes such as (200, 100, 50, 50), "
                        f"got {type(n).__name__} {n!r}.")
    try:
        items = list(n.tolist() if hasattr(n, "tolist") else n)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of class sizes such as (200, 100, 50, 50), "
                        f"got {type(n).__name__}.") from None
    if len(items) < 2:
        raise ValueError(f"{name} must list at least 2 class sizes, got {len(items)}.")
    out = []
    for k, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
            if isinstance(v, (float, np.floating)) and float(v).is_integer():
                v = int(v)
            else:
                raise TypeError(f"{name}[{k}] = {v!r}: class sizes must be positive integers.")
        if int(v) < 1:
            raise ValueError(f"{name}[{k}] = {int(v)}: class sizes must be positive integers (>= 1).")
        out.append(int(v))
    return np.asarray(out, dtype=np.int64)


def _check_model(lam_W, lam_H, M):
    return (check_positive(lam_W, "lam_W"), check_positive(lam_H, "lam_H"), check_int(M, "M", minimum=1))


def _reals(values, name: str, *, positive: bool = False) -> np.ndarray:
    """``values`` (a number or an array-like) as a float64 array of finite numbers (> 0 with ``positive``)."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {values!r}.")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(values).__name__}.") from None
    if not np.all(np.isfinite(arr)) or (positive and np.any(arr <= 0)):
        raise ValueError(f"{name} must hold finite{' positive' if positive else ''} numbers"
                         f"{' (class sizes)' if positive else ''}, got {values!r:.80}.")
    return arr


# ----------------------------------------------------------------------------- one mode
def _c(lam_W, lam_H, M):
    return (lam_W ** M * lam_H) ** (1.0 / (M + 1))


def _eps(s2, N, lam_W, lam_H, M):
    """ε = N c s^{-2M/(M+1)} for squared target singular values s2 (> 0)."""
    return N * _c(lam_W, lam_H, M) * s2 ** (-M / (M + 1))


def _psi_gain(z, eps, M):
    """(ψ(z s) - ψ(0)) · 2N/s² = z² - 2z + (M+1) ε z^{2/(M+1)}: negative iff z beats collapse."""
    return z * z - 2 * z + (M + 1) * eps * z ** (2.0 / (M + 1))


def _largest_root(eps, M, iters=200):
    """Largest z in (z*, 1) with (1 - z) z^q = ε, q = (M-1)/(M+1), by bisection (g decreasing there);
    NaN where no root exists (ε > max g). Vectorised over ``eps``."""
    q = (M - 1) / (M + 1)
    z_star = q / (1 + q)                       # = (M-1)/(2M), where g = (1 - z) z^q peaks
    g_max = (1 - z_star) * z_star ** q
    lo = np.full_like(eps, z_star)
    hi = np.ones_like(eps)
    for _ in range(iters):                     # 200 halvings: the bracket is below one ulp long before
        mid = 0.5 * (lo + hi)
        above = (1 - mid) * mid ** q > eps
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.where(eps <= g_max, 0.5 * (lo + hi), np.nan)


def _mode_fit(s2, N, lam_W, lam_H, M):
    """Global minimiser z in [0, 1] of the mode with squared target singular value ``s2`` (array)."""
    s2 = np.asarray(s2, dtype=np.float64)
    z = np.zeros_like(s2)
    pos = s2 > 0
    eps = _eps(s2[pos], N, lam_W, lam_H, M)
    if M == 1:
        z[pos] = np.clip(1.0 - eps, 0.0, None)
        return z
    root = _largest_root(eps, M)
    ok = np.isfinite(root)
    beats_zero = np.zeros_like(ok)
    beats_zero[ok] = _psi_gain(root[ok], eps[ok], M) < 0   # compare objective values, not roots
    z[pos] = np.where(beats_zero, root, 0.0)
    return z


# ----------------------------------------------------------------------------- per class (bias-free)
def collapse_threshold(N, lam_W, lam_H, M: int = 1) -> float:
    """n*(M): in the bias-free model a class of size n_k collapses (w_k = 0, h̄_k = 0) iff n_k <= n*.

    M = 1: N² λ_W λ_H. M >= 2: M²/(M-1)^{(M-1)/M} · N^{(M+1)/M} (λ_W^M λ_H)^{1/M}; at n_k = n* both the
    collapsed and the fitted class are global minimisers, and the fit jumps from 0 to (M-1)/M.
    """
    N = check_int(N, "N", minimum=1)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    if M == 1:
        return N * N * lam_W * lam_H
    return M * M / (M - 1) ** ((M - 1) / M) * N ** ((M + 1) / M) * (lam_W ** M * lam_H) ** (1 / M)


def class_fit(n_k, N, lam_W, lam_H, M: int = 1) -> np.ndarray:
    """z_k = <w_k, h̄_k> at the global minimum of the bias-free model, for class size(s) ``n_k`` (array).

    M = 1: max(0, 1 - N sqrt(λ_W λ_H / n_k)). M >= 2: 0, or the largest root of
    (1 - z) z^{(M-1)/(M+1)} = N c n_k^{-M/(M+1)}, whichever has the smaller objective.
    """
    N = check_int(N, "N", minimum=1)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    return _mode_fit(_reals(n_k, "n_k", positive=True), N, lam_W, lam_H, M)


def predicted_lengths(n_k, N, lam_W, lam_H, M: int = 1):
    """``(||w_k||², ||h̄_k||², <w_k, h̄_k>)`` at the global minimum of the bias-free model for class size(s)
    ``n_k`` (arrays; the other classes only enter through N): (t/λ_W)^M, t/(λ_H n_k) and the fit z,
    with t = c (n_k z²)^{1/(M+1)}. For M = 1: (sqrt(n_k λ_H/λ_W) - N λ_H)_+, (sqrt(λ_W/(n_k λ_H)) - N λ_W/n_k)_+,
    (1 - N sqrt(λ_W λ_H/n_k))_+."""
    z = class_fit(n_k, N, lam_W, lam_H, M)
    n_k = np.asarray(n_k, dtype=np.float64)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    t = _c(lam_W, lam_H, M) * (n_k * z * z) ** (1 / (M + 1))
    return (t / lam_W) ** M, t / (lam_H * n_k), z


def class_objective(z, n_k, N, lam_W, lam_H, M: int = 1) -> np.ndarray:
    """The objective of one class as a function of its fit z in [0, 1] (the rest at their optimum):
    φ_k(z) = n_k (1 - z)²/(2N) + (M+1)/2 · c · (n_k z²)^{1/(M+1)}. Vectorised over ``z``."""
    N = check_int(N, "N", minimum=1)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    n_k = check_positive(n_k, "n_k")
    z = _reals(z, "z")
    return n_k * (1 - z) ** 2 / (2 * N) + (M + 1) / 2 * _c(lam_W, lam_H, M) * (n_k * z * z) ** (1 / (M + 1))


def stationary_fits(n_k, N, lam_W, lam_H, M: int = 1) -> list:
    """All stationary fits z in (0, 1) of :func:`class_objective` (0, 1 or 2 of them), ascending.

    For M >= 2 the smaller of two roots is a local maximum and the larger a local minimum, which need
    not beat z = 0: this is the list to compare, not to take the largest of.
    """
    N = check_int(N, "N", minimum=1)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    n_k = check_positive(n_k, "n_k")
    eps = float(_eps(np.float64(n_k), N, lam_W, lam_H, M))
    if M == 1:
        return [1 - eps] if eps < 1 else []
    big = float(_largest_root(np.array([eps]), M)[0])
    if not math.isfinite(big):
        return []
    q = (M - 1) / (M + 1)
    lo, hi = 0.0, q / (1 + q)                   # g increases on (0, z*): bisection for the small root
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if (1 - mid) * mid ** q < eps else (lo, mid)
    small = 0.5 * (lo + hi)
    return [small, big] if big - small > 1e-12 else [big]


# ----------------------------------------------------------------------------- the whole model
@dataclass(frozen=True)
class DeepLinearOptimum:
    """The global minimum of the MSE deep linear UFM (see the module docstring). Arrays are float64.

    Per class: ``w_norm2`` ||w_k||² (rows of W = W_M⋯W_1), ``h_norm2`` ||h̄_k||² (class means of H),
    ``inner`` <w_k, h̄_k>, ``collapsed`` (w_k = 0 and h̄_k = 0), ``feature_norm2`` ``(M, K)``: row m the
    squared norm of the class means entering layer m+1 (row 0 = ``h_norm2``). Matrices: ``W_gram``
    W Wᵀ, ``H_gram`` H̄ᵀ H̄ (Gram of the class means), ``WH`` W H̄ ``(K, K)``. ``bias`` the optimal b
    (None without bias), ``objective`` F*, ``threshold`` n*(M) (bias-free; None with the bias),
    ``modes`` the fits z_i of the modes, ``unique`` False where equal target singular values make the
    per-class numbers depend on a choice (only with ``width`` < rank).
    """
    n: tuple
    lam_W: float
    lam_H: float
    M: int
    has_bias: bool
    N: int
    w_norm2: np.ndarray
    h_norm2: np.ndarray
    inner: np.ndarray
    collapsed: np.ndarray
    feature_norm2: np.ndarray
    W_gram: np.ndarray
    H_gram: np.ndarray
    WH: np.ndarray
    bias: np.ndarray | None
    objective: float
    threshold: float | None
    modes: np.ndarray
    unique: bool = True

    @property
    def K(self) -> int:
        return len(self.n)


def _target(n, bias):
    """T and its SVD (U, s, Vᵀ), singular values descending: T = D^{1/2}, or (I - π1ᵀ) D^{1/2}."""
    K = len(n)
    # T, U, Vᵀ and the (K, K) matrices of the optimum built from them, with the SVD's workspace
    check_memory(12 * 8 * K * K, what=f"the closed form for K={K} classes (K x K matrices)",
                 fix="Use fewer classes.")
    if not bias:  # diagonal: no SVD, keeps the class order exact (stable sort: ties in index order)
        order = np.argsort(-n, kind="stable")
        I = np.eye(K)[:, order]
        return np.diag(np.sqrt(n)), I, np.sqrt(n[order]), I.T
    pi = n / n.sum()
    T = (np.eye(K) - np.outer(pi, np.ones(K))) * np.sqrt(n)[None, :]
    U, s, Vt = np.linalg.svd(T)
    s[-1] = 0.0  # T 1-left-null: exactly rank K-1 (rounding leaves ~1e-16)
    return T, U, s, Vt


def deep_linear_optimum(n, lam_W, lam_H, M: int = 1, *, bias: bool = False,
                        width: int | None = None) -> DeepLinearOptimum:
    """The global minimum of the deep linear UFM with MSE for class sizes ``n`` (see module docstring).

    ``n``: K >= 2 positive integers; ``lam_W``, ``lam_H`` > 0; ``M`` >= 1 layers; ``bias``: an
    unpenalised last-layer bias. ``width`` (default: unlimited, i.e. every width >= K) caps the rank
    of W H̄: only the ``width`` largest modes can be fitted, the others are forced to 0.
    """
    n = check_class_sizes(n)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    bias = check_bool(bias, "bias")
    K, N = len(n), int(n.sum())
    if width is not None:
        width = check_int(width, "width", minimum=1)
    nf = n.astype(np.float64)
    _, U, s, Vt = _target(nf, bool(bias))
    z = _mode_fit(s * s, N, lam_W, lam_H, M)
    unique = True
    if width is not None and width < K:
        kept = z[:width]
        unique = not (width < K and s[width - 1] == s[width] and kept[-1] > 0)
        z = np.concatenate([kept, np.zeros(K - width)])
    a = z * s
    c = _c(lam_W, lam_H, M)
    t = c * a ** (2 / (M + 1))
    V = Vt.T
    W_gram = (U * (t / lam_W) ** M) @ U.T
    Hhat_gram = (V * (t / lam_H)) @ V.T                     # Gram of H̄ D^{1/2}
    inv_sqrt_n = 1 / np.sqrt(nf)
    H_gram = Hhat_gram * inv_sqrt_n[:, None] * inv_sqrt_n[None, :]
    WH = (U * a) @ Vt * inv_sqrt_n[None, :]
    feature_norm2 = np.stack([np.diag((V * (t ** (m + 1) / (lam_H * lam_W ** m))) @ V.T) / nf
                              for m in range(M)])
    objective = float(np.sum((a - s) ** 2) / (2 * N) + (M + 1) / 2 * np.sum(t))
    w2 = np.diag(W_gram).copy()
    h2 = np.diag(H_gram).copy()
    tol = 1e-12 * max(1.0, float(w2.max()))
    return DeepLinearOptimum(
        n=tuple(int(v) for v in n), lam_W=lam_W, lam_H=lam_H, M=M, has_bias=bool(bias), N=N,
        w_norm2=w2, h_norm2=h2, inner=np.diag(WH).copy(), collapsed=w2 <= tol,
        feature_norm2=feature_norm2, W_gram=W_gram, H_gram=H_gram, WH=WH,
        bias=nf / N if bias else None, objective=objective,
        threshold=None if bias else collapse_threshold(N, lam_W, lam_H, M), modes=z, unique=unique)


def local_minima(n, lam_W, lam_H, M: int = 1, *, bias: bool = False) -> list:
    """The local minima of the reduced problem that training can end in, as ``(rank, objective)`` pairs,
    lowest objective first: the ``rank`` largest modes sit at their fitted local minimum (the larger
    stationary fit), all others at 0, for every rank up to the number of modes that have a fitted local
    minimum. For M = 1 there is only the global minimum; for M >= 2 every smaller rank is a local
    minimum too (z = 0 always is), and so are larger ranks whose extra modes are fitted but would be
    better collapsed. Configurations that leave a larger mode at 0 while fitting a smaller one are
    saddles (turning the fitted mode towards the larger class lowers F), so they are not listed.
    """
    n = check_class_sizes(n)
    lam_W, lam_H, M = _check_model(lam_W, lam_H, M)
    bias = check_bool(bias, "bias")
    N = int(n.sum())
    _, _, s, _ = _target(n.astype(np.float64), bias)
    best = deep_linear_optimum(n, lam_W, lam_H, M, bias=bias)
    if M == 1:
        return [(int(np.count_nonzero(best.modes)), best.objective)]
    c = _c(lam_W, lam_H, M)
    pos = s > 0
    eps = np.full_like(s, np.inf)
    eps[pos] = _eps(s[pos] ** 2, N, lam_W, lam_H, M)
    root = np.where(pos, _largest_root(np.where(pos, eps, 1.0), M), np.nan)
    fitted = np.isfinite(root)
    psi0 = s ** 2 / (2 * N)
    a = np.where(fitted, root, 0.0) * s
    psi_fit = (a - s) ** 2 / (2 * N) + (M + 1) / 2 * c * a ** (2 / (M + 1))
    out = []
    for r in range(int(np.count_nonzero(fitted)) + 1):   # fitted modes come first: s is descending
        out.append((r, float(psi_fit[:r].sum() + psi0[r:].sum())))
    return sorted(out, key=lambda p: p[1])
