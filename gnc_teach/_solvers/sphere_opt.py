"""Batched smooth optimisation on products of unit spheres (the first phase of :mod:`gnc_teach.codes`).

All restarts live in ONE tensor ``X (R, m, d)`` (R restarts, m unit rows each) on the device, and every
step updates them together: Riemannian Adam = Adam on the tangent-projected gradient followed by the
retraction ``x -> x/||x||``. Temperatures and step sizes are annealed geometrically.

Smooth surrogates (all *maximised*):

* softmax codes (HardMax, lesson 03): ``f_tau(W, H) = -tau log sum_{k != j} exp(-m_kj / tau)`` with the
  margins ``m_kj = <w_k - w_j, h_k>`` and unit per-class directions ``h_k``. Then
  ``min m - tau log(K(K-1)) <= f_tau <= min m`` and ``max_{W,H} min m = rho*(d, K)`` (margin duality), so
  annealing tau -> 0 targets the softmax code.
* Tammes: the same with ``H = W`` (then ``m_kj = 1 - <w_j, w_k>``).
* Thomson / Riesz: ``-E_s(X) = -sum_{i<j} ||x_i - x_j||^{-s}``.

The soft-min is computed blockwise with an online log-sum-exp (as in flash attention): memory is
``O(R (K d + chunk^2))``, never a ``K x K`` matrix, so K = 10^5 fits on a GPU.
"""
from __future__ import annotations

import math

import torch

from .._stop import tick

__all__ = ["softmin_margins", "riesz_energy_grad", "riemannian_adam", "normalize", "tangent"]


def normalize(X: torch.Tensor) -> torch.Tensor:
    """Rows of ``X`` scaled to unit norm (the retraction onto the sphere)."""
    return X / X.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(X.dtype).tiny)


def tangent(X: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """``G`` projected row by row onto the tangent spaces of the sphere at the unit rows of ``X``:
    ``g_i - <g_i, x_i> x_i`` (any leading batch shape). The Riemannian gradient of every sphere solver."""
    return G - (G * X).sum(-1, keepdim=True) * X


def softmin_margins(W: torch.Tensor, H: torch.Tensor, tau: float, *, chunk: int = 2048):
    """Soft-min of the margins ``m_kj = <w_k - w_j, h_k>`` (k != j) and its gradient, blockwise.

    ``W, H (R, K, d)``. Returns ``(f, m_min, gW, gH)``: ``f = -tau LSE(-m / tau)`` ``(R,)``, the hard
    minimum margin ``(R,)`` (a lower bound on rho(W) for unit ``h_k``) and the Euclidean gradients of
    ``f``: with softmax weights ``P_kj`` (summing to 1) and ``r_k = sum_j P_kj``,
    ``df/dW = r*H - P^T H`` and ``df/dH = r*W - P W``.
    """
    R, K, _ = W.shape
    dtype, dev = W.dtype, W.device
    tau = torch.as_tensor(tau, dtype=dtype, device=dev).expand(R)   # one temperature per restart
    diag = (H * W).sum(-1)                                    # <h_k, w_k>, (R, K)
    mx = torch.full((R,), -math.inf, dtype=dtype, device=dev)  # running max of the logits
    s = torch.zeros(R, dtype=dtype, device=dev)
    r = torch.zeros(R, K, dtype=dtype, device=dev)
    PW = torch.zeros_like(W)
    PtH = torch.zeros_like(H)
    mmin = torch.full((R,), math.inf, dtype=dtype, device=dev)
    log_tiny = math.log(torch.finfo(dtype).tiny)
    for i0 in range(0, K, chunk):
        i1 = min(i0 + chunk, K)
        Hi = H[:, i0:i1]
        for j0 in range(0, K, chunk):
            j1 = min(j0 + chunk, K)
            M = diag[:, i0:i1, None] - Hi @ W[:, j0:j1].transpose(1, 2)   # margins, (R, ci, cj)
            if i0 == j0:                                    # the (square) block holding the diagonal k = j
                M.diagonal(dim1=1, dim2=2).fill_(math.inf)
            mmin = torch.minimum(mmin, M.amin((1, 2)))
            L = M.neg_().div_(tau[:, None, None])                          # in place: logits -m/tau
            bm = torch.maximum(mx, L.amax((1, 2))).clamp_min(torch.finfo(dtype).min)  # finite: chunk = 1
            scale = torch.exp(mx - bm)                                     # rescale old sums to new max
            s, r, PW, PtH, mx = s * scale, r * scale[:, None], PW * scale[:, None, None], \
                PtH * scale[:, None, None], bm
            # exp into the subnormal range takes a ~30x slower path on CPU (measured: 4.8 vs 0.17 ms for
            # 2e5 float64 entries), and such weights are far below one ulp of s >= 1: set them to 0 directly
            x = L.sub_(bm[:, None, None])
            under = x < log_tiny
            E = x.clamp_min_(log_tiny).exp_().masked_fill_(under, 0.0)
            s = s + E.sum((1, 2))
            r[:, i0:i1] += E.sum(2)
            PW[:, i0:i1] += E @ W[:, j0:j1]
            PtH[:, j0:j1] += E.transpose(1, 2) @ Hi
    f = -tau * (mx + torch.log(s))
    r, PW, PtH = r / s[:, None], PW / s[:, None, None], PtH / s[:, None, None]
    gW = r[..., None] * H - PtH
    gH = r[..., None] * W - PW
    return f, mmin, gW, gH


def riesz_energy_grad(X: torch.Tensor, s: float, *, chunk: int = 2048):
    """Riesz energy ``E_s = sum_{i<j} ||x_i - x_j||^{-s}`` ``(R,)`` and its gradient ``(R, K, d)``, blockwise.

    For unit rows ``||x_i - x_j||^2 = 2 - 2<x_i, x_j>``; ``dE/dx_i = s sum_j ||x_i-x_j||^{-s-2} x_j``
    (on the sphere; the radial part is removed by the tangent projection anyway).
    """
    R, K, _ = X.shape
    dev = X.device
    E = torch.zeros(R, dtype=X.dtype, device=dev)
    G = torch.zeros_like(X)
    for i0 in range(0, K, chunk):
        i1 = min(i0 + chunk, K)
        for j0 in range(0, K, chunk):
            j1 = min(j0 + chunk, K)
            D2 = (2 - 2 * X[:, i0:i1] @ X[:, j0:j1].transpose(1, 2)).clamp_min(1e-12)
            if i0 < j1 and j0 < i1:
                ii = torch.arange(i0, i1, device=dev)[:, None]
                jj = torch.arange(j0, j1, device=dev)[None, :]
                D2 = D2.masked_fill(ii == jj, math.inf)
            E = E + 0.5 * D2.pow(-s / 2).sum((1, 2))
            G[:, i0:i1] += s * D2.pow(-s / 2 - 1) @ X[:, j0:j1]
    return E, G


def riemannian_adam(X: torch.Tensor, ascent, *, steps: int, lr=(0.05, 1e-4), tau=(0.1, 1e-3),
                    betas=(0.9, 0.999), progress=None, stop=None) -> torch.Tensor:
    """Maximise with Riemannian Adam on unit rows. ``ascent(X, tau) -> gradient (R, m, d)``.

    ``lr`` and ``tau`` are ``(start, end)`` pairs interpolated geometrically over ``steps``; a start
    temperature may be a ``(R,)`` tensor (one per restart: different restarts explore differently);
    ``progress`` is an optional tqdm-like object with ``update(1)``; ``stop`` an optional callable
    asked after every step (:class:`gnc_teach._stop.Stop`): when it returns True the current iterate
    is returned.
    """
    X = normalize(X)
    m = torch.zeros_like(X)
    v = torch.zeros_like(X)
    b1, b2 = betas
    eps = 1e-12 if X.dtype == torch.float64 else 1e-8
    for t in range(steps):
        f = t / max(steps - 1, 1)
        tau_t = tau[0] * (tau[1] / tau[0]) ** f
        lr_t = lr[0] * (lr[1] / lr[0]) ** f
        G = ascent(X, tau_t)
        G = tangent(X, G)
        m = b1 * m + (1 - b1) * G
        v = b2 * v + (1 - b2) * G * G
        step = (m / (1 - b1 ** (t + 1))) / ((v / (1 - b2 ** (t + 1))).sqrt() + eps)
        X = normalize(X + lr_t * step)
        if tick(progress, stop):
            break
    return X
