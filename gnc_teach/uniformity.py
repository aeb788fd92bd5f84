"""Hyperspherical uniformity of K unit vectors: energies that are small when the points are spread out.

Every measure is written as an **energy** ``U(W)`` of the unit rows of ``W (..., K, d)`` — lower means
more uniform — and is differentiable (autograd), so it can serve as a loss. With ``d_ij = ||w_i - w_j||``:

=====================  =========================================================================
``"riesz"``, s > 0     ``E_s = sum_{i<j} d_ij^{-s}`` (s = 1: Thomson/Coulomb, s = 2: the MHE energy)
``"log"`` (s = 0)      ``E_0 = -sum_{i<j} log d_ij`` (the logarithmic energy)
``"min_separation"``   ``E_inf = 1 / min_{i<j} d_ij`` (s = inf: the limit of ``E_s^(1/s)``; minimising it
                       maximises the smallest distance, the Tammes problem)
``"gram_det"``         ``-log det G`` with the Gaussian-kernel Gram matrix ``G_ij = exp(-gamma d_ij^2)``
=====================  =========================================================================

``riesz`` accepts every ``s`` in ``[0, inf]``: ``s = 0`` is the log energy and ``s = inf`` the minimal
separation, so one parameter sweeps the whole family. ``reduction="mean"`` divides the pair sums by the
number of pairs K(K-1)/2 and ``-log det G`` by K (a size-free scale for losses); it does not change the
minimisers. The plain Gram determinant ``det(W Wᵀ)`` vanishes for every configuration once K > d, hence
the kernel. The kernel is strictly positive definite, so ``G`` is for distinct points.

Distances are formed from the Gram matrix, ``d_ij^2 = 2 - 2<w_i, w_j>`` clamped at the dtype's eps: memory
O(K^2) (not O(K^2 d)), and coincident points give a large finite energy instead of inf/NaN gradients.
An energy that would not fit in memory is refused before anything is allocated (:func:`check_pairs_memory`).
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._memory import check_memory
from ._tensor import as_array, check_positive, require_unit_rows

__all__ = ["MEASURES", "energy", "pair_distances", "min_separation", "gram_logdet", "check_measure",
           "measure_label", "check_unit_rows", "check_pairs_memory"]

MEASURES = ("riesz", "log", "min_separation", "gram_det")
UNIT_TOL = 1e-5   # |‖w‖ - 1| allowed for "unit" rows: float32 normalisation is exact to ~1e-7


# ----------------------------------------------------------------------------- validation
def check_measure(measure, s=2.0, gamma=1.0):
    """Validate a measure spec and return it canonical: ``(name, s, gamma)``.

    ``"riesz"`` with ``s = 0`` becomes ``"log"`` and with ``s = inf`` ``"min_separation"``; ``s`` must be a
    real number ``>= 0`` (or ``math.inf``); ``gamma`` (``gram_det`` only) a finite number ``> 0``.
    """
    if not isinstance(measure, str) or measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got measure={measure!r}.")
    if measure == "riesz":
        if isinstance(s, bool) or not isinstance(s, (numbers.Real, np.floating, np.integer)):
            raise TypeError(f"s must be a real number >= 0 (or math.inf), got {type(s).__name__} {s!r}.")
        s = float(s)
        if math.isnan(s) or s < 0:
            raise ValueError(f"s must be >= 0 for the Riesz energy (s = 0: log energy, s = inf: minimal "
                             f"separation), got s={s}.")
        if s == 0:
            return "log", 0.0, None
        if math.isinf(s):
            return "min_separation", math.inf, None
        return "riesz", s, None
    if measure == "log":
        return "log", 0.0, None
    if measure == "min_separation":
        return "min_separation", math.inf, None
    return "gram_det", None, check_positive(gamma, "gamma")


def measure_label(measure, s=2.0, gamma=1.0) -> str:
    """A short human-readable name, e.g. ``"riesz s=2"``, ``"log"``, ``"gram_det γ=1"``."""
    name, s, gamma = check_measure(measure, s, gamma)
    if name == "riesz":
        return f"riesz s={s:g}"
    return f"gram_det γ={gamma:g}" if name == "gram_det" else name


def check_unit_rows(W, name: str = "W", *, tol: float = UNIT_TOL) -> torch.Tensor:
    """``W (..., K, d)`` as a float tensor with K >= 2 finite unit rows, or a ValueError/TypeError naming
    ``name``. Keeps the autograd graph (only the checks are detached)."""
    tol = check_positive(tol, "tol")
    W = as_array(W, name, min_dim=2, keep_grad=True)
    if W.shape[-2] < 2:
        raise ValueError(f"{name} must have K >= 2 rows (uniformity compares pairs of points), got "
                         f"K={W.shape[-2]} (shape {tuple(W.shape)}).")
    return require_unit_rows(W, name, tol=tol)


def check_pairs_memory(batch: int, K: int, *, dtype, device, what: str = "") -> None:
    """The memory guard of the energies: ``batch`` codes of K points need the (batch, K, K) Gram and
    distance matrices with their gradients (about 6 copies); refused up front when they cannot fit."""
    item = torch.finfo(dtype).bits // 8
    check_memory(6 * item * batch * K * K, device=device,
                 what=f"{what or 'a uniformity energy'} (K={K} points{f', {batch} codes' if batch > 1 else ''}: "
                      "K x K distance matrices)",
                 fix="Use a smaller K (or fewer restarts), dtype=torch.float32, or a GPU with more memory.")


def _guarded(W, name="W"):
    """Validated unit rows ``W (..., K, d)`` whose energies fit in memory."""
    W = check_unit_rows(W, name)
    check_pairs_memory(math.prod(W.shape[:-2]), W.shape[-2], dtype=W.dtype, device=W.device)
    return W


# ----------------------------------------------------------------------------- the measures
def _sq_dist(W):
    """Full matrix of squared distances ``(..., K, K)`` of unit rows, clamped at eps (diagonal included)."""
    G = W @ W.transpose(-1, -2)
    return (2 - 2 * G).clamp_min(torch.finfo(W.dtype).eps)


def _pairs(D2):
    K = D2.shape[-1]
    i, j = torch.triu_indices(K, K, 1, device=D2.device)
    return D2[..., i, j]


def _energy(W, name, s, gamma, mean):
    """The energy of validated unit rows ``W (..., K, d)`` for a canonical spec (no checks)."""
    K = W.shape[-2]
    D2 = _sq_dist(W)
    if name == "gram_det":
        # Cholesky of the strictly positive definite kernel matrix: log det = 2 sum log diag(L)
        L, info = torch.linalg.cholesky_ex(torch.exp(-gamma * D2 * (1 - torch.eye(K, dtype=W.dtype,
                                                                                    device=W.device))))
        U = -2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        U = torch.where(info == 0, U, torch.full_like(U, math.inf))   # numerically singular: coincident points
        return U / K if mean else U
    d2 = _pairs(D2)
    if name == "min_separation":
        return d2.min(-1).values.rsqrt()
    U = -0.5 * torch.log(d2).sum(-1) if name == "log" else d2.pow(-s / 2).sum(-1)
    return U / d2.shape[-1] if mean else U


def energy(W, measure: str = "riesz", *, s: float = 2.0, gamma: float = 1.0,
           reduction: str = "sum") -> torch.Tensor:
    """Uniformity energy of the unit rows of ``W (K, d)`` (or a batch ``(R, K, d)``); lower is more uniform.

    ``measure`` in :data:`MEASURES` (see the module docstring for the formulas); ``s`` for ``"riesz"``
    (``0 <= s <= inf``), ``gamma`` for ``"gram_det"``. Returns a 0-d tensor (``(R,)`` for a batch) on
    W's device and dtype, differentiable in ``W``. Rows must be unit (tolerance 1e-5).
    """
    name, s, gamma = check_measure(measure, s, gamma)
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got reduction={reduction!r}.")
    return _energy(_guarded(W), name, s, gamma, reduction == "mean")


def pair_distances(W) -> torch.Tensor:
    """Distances ``||w_i - w_j||`` over the pairs i < j of the unit rows of ``W``: ``(..., K(K-1)/2)``."""
    return _pairs(_sq_dist(_guarded(W))).sqrt()


def min_separation(W) -> torch.Tensor:
    """The smallest distance ``min_{i<j} ||w_i - w_j||`` (differentiable; the Tammes objective, maximised)."""
    return 1 / energy(W, "min_separation")


def gram_logdet(W, gamma: float = 1.0) -> torch.Tensor:
    """``log det G`` with ``G_ij = exp(-gamma ||w_i - w_j||^2)`` (maximised by uniform codes; <= 0)."""
    return -energy(W, "gram_det", gamma=gamma)
