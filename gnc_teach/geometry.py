"""Configurations of K unit vectors in R^d and their pairwise geometry.

Convention (every lesson): a code ``W`` is a ``(K, d)`` tensor whose row ``w_k`` is class k.
"""
from __future__ import annotations

import math

import torch

from ._memory import check_memory
from ._solvers.sphere_opt import tangent
from ._tensor import as_array, as_matrix, check_int, check_positive, generator, resolve, unit_rows

__all__ = [
    "simplex_etf", "regular_polygon", "cross_polytope", "cube", "random_rotation", "random_sphere",
    "normalize_rows", "perturb", "gram", "max_cos", "min_angle", "is_simplex_etf", "simplex_bound",
]


#: entries of one block of a blockwise K x K computation (32 MB in float64): max_cos, is_simplex_etf
BLOCK_ENTRIES = 1 << 22


def _block_rows(K: int, chunk=None) -> int:
    """Rows per block so that a (rows, K) block has at most BLOCK_ENTRIES entries (or ``chunk`` rows)."""
    if chunk is not None:
        return check_int(chunk, "chunk", minimum=1)
    return max(1, min(K, BLOCK_ENTRIES // max(K, 1)))


def _check_square(K: int, what: str, *, itemsize: int = 8, copies: float = 1, device=None, fix: str = ""):
    """The memory guard for a K x K result (``copies`` of it at once)."""
    check_memory(copies * itemsize * K * K, what=f"{what} (K={K}, a K x K matrix)", device=device,
                 fix=fix or "Use a smaller K.")


def random_rotation(d: int, *, seed=None, device=None, dtype=None) -> torch.Tensor:
    """A Haar-random orthogonal ``(d, d)`` matrix (QR of a Gaussian with sign fix)."""
    d = check_int(d, "d", minimum=1)
    device, dtype = resolve(device, dtype)
    g = generator(seed)
    check_memory(4 * 8 * d * d, what=f"random_rotation(d={d}) (d x d matrices)", fix="Use a smaller d.")
    A = torch.randn(d, d, generator=g, dtype=torch.float64)
    Q, R = torch.linalg.qr(A)
    s = torch.sign(torch.diagonal(R))
    s[s == 0] = 1.0  # fixing the signs makes the distribution Haar, not just orthogonal
    Q = Q * s
    return Q.to(device=device, dtype=dtype)


def random_sphere(K: int, d: int, *, seed=None, batch=None, device=None, dtype=None) -> torch.Tensor:
    """K i.i.d. uniform points on the unit sphere S^{d-1}: ``(K, d)``, or ``(batch, K, d)``.

    Drawn in float64 on the CPU from ``seed`` (an integer, or a ``torch.Generator`` to continue its
    stream), then moved to ``device``/``dtype``: the random starts of every solver and trainer."""
    K = check_int(K, "K", minimum=1)
    d = check_int(d, "d", minimum=1)
    device, dtype = resolve(device, dtype)
    g = generator(seed)
    shape = (K, d) if batch is None else (check_int(batch, "batch", minimum=1), K, d)
    check_memory(3 * 8 * math.prod(shape), what=f"random_sphere of shape {shape}",
                 fix="Use a smaller K, d or batch.")
    X = torch.randn(*shape, generator=g, dtype=torch.float64)
    return normalize_rows(X).to(device=device, dtype=dtype)


def _sum_zero_basis(K: int) -> torch.Tensor:
    """Orthonormal basis of {x in R^K : sum x = 0} as the columns of a ``(K, K-1)`` matrix (Helmert)."""
    U = torch.zeros(K, K - 1, dtype=torch.float64)
    for m in range(1, K):
        U[:m, m - 1] = 1.0
        U[m, m - 1] = -float(m)
        U[:, m - 1] /= math.sqrt(m * (m + 1))
    return U


def simplex_etf(K: int, d: int | None = None, *, seed=None, device=None, dtype=None) -> torch.Tensor:
    """The simplex equiangular tight frame: K unit rows in R^d with <w_j, w_k> = -1/(K-1) for j != k.

    Rows of sqrt(K/(K-1)) (I_K - 11^T/K) written in an orthonormal basis of the sum-zero subspace,
    padded with zeros to ``d`` columns (canonical orientation) or rotated by a Haar-random rotation
    when ``seed`` is given. Needs d >= K-1 (the Gram matrix of an ETF has rank K-1); ``d`` defaults to
    K-1. Returns ``(K, d)``.
    """
    K = check_int(K, "K", minimum=2)
    d = K - 1 if d is None else check_int(d, "d", minimum=1)
    if d < K - 1:
        raise ValueError(
            f"a simplex ETF of K={K} vectors needs d >= K-1 = {K - 1}, got d={d}. For K > d+1 "
            "classes the ETF does not exist; use a softmax code instead (gnc_teach.softmax_code)."
        )
    device, dtype = resolve(device, dtype)
    g = None if seed is None else generator(seed)
    check_memory(8 * (2 * K * K + 3 * K * d + (4 * d * d if seed is not None else 0)),
                 what=f"simplex_etf(K={K}, d={d}) (K x K and K x d float64 matrices)", fix="Use a smaller K.")
    W = math.sqrt(K / (K - 1)) * _sum_zero_basis(K)
    W = torch.cat([W, torch.zeros(K, d - (K - 1), dtype=torch.float64)], dim=1)
    if g is not None:
        W = W @ random_rotation(d, seed=seed, device="cpu", dtype=torch.float64).T
    return W.to(device=device, dtype=dtype)


def regular_polygon(K: int, *, device=None, dtype=None) -> torch.Tensor:
    """The K-th roots of unity as a ``(K, 2)`` tensor: w_k = (cos 2πk/K, sin 2πk/K)."""
    K = check_int(K, "K", minimum=2)
    device, dtype = resolve(device, dtype)
    t = 2 * math.pi * torch.arange(K, dtype=torch.float64) / K
    return torch.stack([torch.cos(t), torch.sin(t)], dim=1).to(device=device, dtype=dtype)


def cross_polytope(d: int, *, device=None, dtype=None) -> torch.Tensor:
    """The 2d vertices ±e_i of the cross-polytope (orthoplex), ordered e_1, -e_1, e_2, -e_2, ...: ``(2d, d)``."""
    d = check_int(d, "d", minimum=1)
    device, dtype = resolve(device, dtype)
    I = torch.eye(d, dtype=torch.float64)
    return torch.stack([I, -I], dim=1).reshape(2 * d, d).to(device=device, dtype=dtype)


def cube(*, device=None, dtype=None) -> torch.Tensor:
    """The 8 vertices (±1, ±1, ±1)/√3 of the cube as unit rows, ``(8, 3)``: max cos 1/3, ρ = 2/3 (lesson 02)."""
    device, dtype = resolve(device, dtype)
    X = torch.tensor([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=torch.float64)
    return (X / math.sqrt(3)).to(device=device, dtype=dtype)


def normalize_rows(W) -> torch.Tensor:
    """Rows divided by their Euclidean norms (any leading batch shape; a tensor, array or nested list).

    A tensor keeps its device, dtype and autograd history; NaN/inf entries and zero rows are errors."""
    V = as_array(W, "W")
    if isinstance(W, torch.Tensor) and W.is_floating_point():
        V = W
    return unit_rows(V, "W")


def perturb(W, eps: float, *, seed=0) -> torch.Tensor:
    """A nearby code: every row moved by ``eps`` along a random tangent direction, then renormalised.

    ``W`` ``(K, d)`` (rows normalised first); returns ``(K, d)`` float64 with unit rows at distance ~``eps``
    from W. Used to test a claimed optimum or bound *near* its equality case instead of at random codes.
    """
    W = normalize_rows(as_matrix(W, "W").to(torch.float64))
    eps = check_positive(eps, "eps", allow_zero=True)
    V = torch.randn(W.shape, generator=generator(seed), dtype=torch.float64, device=W.device)
    V = tangent(W, V)
    return normalize_rows(W + eps * normalize_rows(V))


def gram(W) -> torch.Tensor:
    """The Gram matrix W W^T, ``(K, K)``, of the rows of ``W`` ``(K, d)``."""
    W = as_matrix(W, "W")
    _check_square(W.shape[0], "gram(W)", itemsize=W.element_size(), device=W.device)
    return W @ W.T


def max_cos(W, *, chunk: int | None = None) -> float:
    """max_{j != k} cos(w_j, w_k) over the rows of ``W`` ``(K, d)``, K >= 2.

    Rows are normalised first. Computed in blocks of ``chunk`` rows (default: a (chunk, K) block holds
    at most 2^22 entries, 32 MB in float64), so memory is O(chunk * K), not O(K^2).
    """
    W = normalize_rows(as_matrix(W, "W", min_rows=2))
    K = W.shape[0]
    chunk = _block_rows(K, chunk)
    best = -math.inf
    for s in range(0, K, chunk):
        C = W[s:s + chunk] @ W.T
        idx = torch.arange(s, min(s + chunk, K), device=W.device)
        C[idx - s, idx] = -math.inf
        best = max(best, float(C.max()))
    return min(best, 1.0)


def min_angle(W, *, chunk: int | None = None) -> float:
    """The smallest pairwise angle between rows of ``W``, in degrees: arccos(max_cos(W))."""
    return math.degrees(math.acos(max(-1.0, max_cos(W, chunk=chunk))))


def simplex_bound(K: int) -> float:
    """Rankin's simplex bound -1/(K-1): every K unit vectors have max_{j != k} <w_j, w_k> >= -1/(K-1).

    Proof: 0 <= ||Σ w_k||^2 = K + Σ_{j != k} <w_j, w_k> <= K + K(K-1) max. Equality iff simplex ETF.
    (Not the Welch bound, which bounds max |<w_j, w_k>|^2.) For K >= d+2 vectors in R^d the largest
    cosine is even >= 0 (Rankin's orthoplex bound).
    """
    K = check_int(K, "K", minimum=2)
    return -1.0 / (K - 1)


def is_simplex_etf(W, *, tol: float = 1e-8) -> bool:
    """True when the rows of ``W`` are unit vectors with every pairwise inner product -1/(K-1) within ``tol``.

    Checked in blocks of rows (memory O(K) per row of a block, never K x K), stopping at the first block
    that fails."""
    W = as_matrix(W, "W", min_rows=2).to(torch.float64)
    tol = check_positive(tol, "tol", allow_zero=True)
    K = W.shape[0]
    rows = _block_rows(K)
    for s in range(0, K, rows):
        G = W[s:s + rows] @ W.T
        target = torch.full_like(G, -1.0 / (K - 1))
        idx = torch.arange(s, min(s + rows, K), device=W.device)
        target[idx - s, idx] = 1.0
        if not bool((G - target).abs().max() <= tol):
            return False
    return True
