"""Temperature-scaled cross-entropy and its τ → 0 limit, the HardMax problem (lesson 03).

For a feature ``h`` of class ``k`` write the one-vs-rest gaps ``a_j = <w_j - w_k, h>`` (``a_k = 0``).
Then, with a log-sum-exp over all K classes,

    CE_τ       = log(1 + Σ_{j≠k} exp(a_j/τ)) = logsumexp_j(a_j/τ)
    τ·CE_τ     = τ·logsumexp_j(a_j/τ)
    hinge      = max(0, max_{j≠k} a_j) = max_j a_j
    0 ≤ τ·CE_τ − hinge ≤ τ·log K          [proved: max ≤ τ·LSE(a/τ) ≤ max + τ log K]

Caution: the hinge is 0 at every correctly classified configuration, so τ·CE → hinge says nothing about
which configuration wins. The right quantity is τ·log CE (mean over samples), which tends to the HardMax
value ``max_{k,i} max_{j≠k} <w_j − w_k, h_{k,i}>`` = −(smallest per-sample margin); for a global
minimiser W_τ of the spherical UFM, 0 ≤ ρ* − ρ(W_τ) ≤ τ·log(2N(K−1)) (:func:`rho_gap_bound`).

Shapes: ``W (K, d)`` (row = class), ``H (N, d)``, ``y (N,)``. Everything runs in the dtype/device of
``W`` (float64 for the lesson's proof checks); per-sample outputs are ``(N,)`` tensors.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from ._memory import check_memory
from ._stop import current_stop, interruptible
from ._tensor import as_labels, as_matrix, check_int, check_positive, one_cpu_thread, resolve

__all__ = ["gaps", "ce_loss", "tau_ce", "hinge", "sample_margins", "hardmax_objective",
           "tau_ce_gap_bound", "rho_gap_bound", "best_known_rho", "one_cpu_thread", "TauSweep", "tau_sweep"]

# Best known ρ(W) where no closed form is proved; lower bounds on ρ*(K, d), not proved optima. Keys (d, K).
# d=3, K=8: the square antiprism (the Tammes optimum), ρ = 1 - 1/(1 + 2√2) = 0.7387961253.
# d=10, K=100: the best code this package's solver finds, softmax_code(100, 10) with seed 0 (ρ 0.6684178501;
# seeds 0..4 give 0.66290..0.66861, so it is a best-found value, not an optimum).
_BEST_KNOWN_RHO = {(3, 8): 1 - 1 / (1 + 2 * math.sqrt(2)), (10, 100): 0.6684178501}


def _inputs(W, H, y):
    """Validate ``W (K,d)``, ``H (N,d)``, ``y (N,)``; return them on W's device and dtype."""
    W = as_matrix(W, "W", min_rows=2)
    H = as_matrix(H, "H").to(device=W.device, dtype=W.dtype)
    if H.shape[1] != W.shape[1]:
        raise ValueError(f"H has {H.shape[1]} columns but W has d={W.shape[1]}; both must have d columns.")
    y = as_labels(y, "y", n=H.shape[0], device=W.device)
    if H.shape[0] and int(y.max()) >= W.shape[0]:
        raise ValueError(f"y has label {int(y.max())} but W has only K={W.shape[0]} rows; labels must "
                         "lie in 0..K-1.")
    N, K = H.shape[0], W.shape[0]   # the (N, K) gaps and a few temporaries of their size
    check_memory(4 * W.element_size() * N * K, what=f"the (N, K) logits for N={N} features and K={K} classes",
                 fix="Pass the features in batches (the per-sample outputs concatenate).", device=W.device)
    return W, H, y


def gaps(W, H, y) -> torch.Tensor:
    """``A (N, K)`` with ``A[i, j] = <w_j − w_{y_i}, h_i>`` (so ``A[i, y_i] = 0``)."""
    return _gaps(*_inputs(W, H, y))


def _gaps(W, H, y):
    logits = H @ W.T
    return logits - logits.gather(1, y[:, None])


def tau_ce(W, H, y, tau, *, reduction: str = "none") -> torch.Tensor:
    """τ·CE per sample: ``τ·log(1 + Σ_{j≠y} exp(<w_j − w_y, h>/τ))`` as ``(N,)`` (or its mean/sum).

    Stable for any τ > 0 (log-sum-exp); lies in ``[hinge, hinge + τ log K]``.
    """
    tau = check_positive(tau, "tau")
    out = tau * torch.logsumexp(gaps(W, H, y) / tau, dim=1)
    return _reduce(out, reduction)


def ce_loss(W, H, y, tau, *, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy with logits ``<w_j, h>/τ``: ``log(1 + Σ_{j≠y} exp(<w_j − w_y, h>/τ))``; mean by default."""
    tau = check_positive(tau, "tau")
    return _reduce(torch.logsumexp(gaps(W, H, y) / tau, dim=1), reduction)


def hinge(W, H, y, *, reduction: str = "none") -> torch.Tensor:
    """The τ → 0 limit of τ·CE: ``max(0, max_{j≠y} <w_j − w_y, h>)`` per sample, ``(N,)``."""
    return _reduce(gaps(W, H, y).amax(dim=1), reduction)  # A[i, y_i] = 0 supplies the max with 0


def sample_margins(W, H, y) -> torch.Tensor:
    """Per-sample one-vs-rest margin ``min_{j≠y} <w_y − w_j, h>``, ``(N,)`` (positive = correctly classified)."""
    W, H, y = _inputs(W, H, y)
    A = _gaps(W, H, y).scatter(1, y[:, None], float("-inf"))  # drop j = y from the min
    return -A.amax(dim=1)


def hardmax_objective(W, H, y) -> float:
    """HardMax value ``max_k max_i max_{j≠k} <w_j − w_k, h_{k,i}>`` = −min per-sample margin (a float).

    Over unit W and H its minimum is −ρ*(K, d) (margin duality, lesson 02).
    """
    return float(-sample_margins(W, H, y).min())


def tau_ce_gap_bound(K: int, tau) -> float:
    """The proved upper bound ``τ·log K`` on ``τ·CE − hinge`` for K classes."""
    K = check_int(K, "K", minimum=2)
    return check_positive(tau, "tau") * math.log(K)


def rho_gap_bound(K: int, N: int, tau) -> float:
    """The proved rate τ·log(2N(K−1)): every global minimiser (W_τ, H_τ) of the spherical UFM with N
    samples and K classes (each class present) has 0 ≤ ρ* − ρ(W_τ) ≤ τ·log(2N(K−1)) (lesson 03).

    Contrapositive, used as a certificate: if a best-known value ρ_best ≤ ρ* exceeds ρ(W) by more than
    this, then (W, H) is not a global minimiser at this τ.
    """
    K = check_int(K, "K", minimum=2)
    N = check_int(N, "N", minimum=1)
    return check_positive(tau, "tau") * math.log(2 * N * (K - 1))


def best_known_rho(K: int, d: int) -> float | None:
    """ρ*(K, d) where a closed form is proved (``margins.known_rho_star``), else a tabulated best known value
    (d=3, K=8: the square antiprism; d=10, K=100: the best code found by ``softmax_code(100, 10)``), else
    ``None``. A best-known value is a lower bound on ρ*, not a proved optimum."""
    from .margins import known_rho_star
    K, d = check_int(K, "K", minimum=2), check_int(d, "d", minimum=1)
    star = known_rho_star(K, d)
    return star if star is not None else _BEST_KNOWN_RHO.get((d, K))


def _reduce(x, reduction):
    if reduction == "none":
        return x
    if reduction == "mean":
        return x.mean()
    if reduction == "sum":
        return x.sum()
    raise ValueError(f"reduction={reduction!r} is not supported; use 'none', 'mean' or 'sum'.")


# ----------------------------------------------------------------------------- τ sweep of the UFM
@dataclass
class TauSweep:
    """Result of :func:`tau_sweep`: one spherical-UFM run per temperature.

    ``taus`` and ``rho`` (ρ(W) = GNC2) are lists in the order given; ``margins[i]`` is the ``(N,)`` tensor
    of per-sample margins at ``taus[i]``; ``results[i]`` the full ``UFMResult``; ``rho_star`` the proved
    optimum ρ*(d, K) or ``None``; ``rho_best`` that, or else the best known value (:func:`best_known_rho`).
    """

    K: int
    d: int
    n: int
    taus: list
    rho: list
    margins: list
    results: list = field(repr=False)
    rho_star: float | None
    rho_best: float | None
    seconds: float
    interrupted: bool = False

    def as_dict(self) -> dict:
        """``{τ: ρ}``, one entry per temperature."""
        return dict(zip(self.taus, self.rho))


@interruptible
def tau_sweep(K: int, d: int, n: int, taus, *, steps=None, seed: int = 0, restarts: int = 1,
              device=None, dtype=None, **train_kwargs) -> TauSweep:
    """Train the spherical UFM once per τ in ``taus`` and collect ρ(W) and the per-sample margins.

    Thin loop over ``gnc_teach.models.ufm.train_spherical_ufm`` (same seed for every τ, so only τ changes).
    ``steps=None`` keeps the trainer's default; extra keyword arguments are passed to the trainer.
    Ctrl-C ends the sweep after the current training, returning the temperatures done so far
    (``.interrupted``).
    """
    from . import margins as _margins  # lazy: keeps the pure loss functions above import-light
    from .models.ufm import train_spherical_ufm

    K, d, n = check_int(K, "K", minimum=2), check_int(d, "d", minimum=1), check_int(n, "n", minimum=1)
    try:
        taus = [check_positive(t, "tau") for t in taus]
    except TypeError as exc:
        raise TypeError(f"taus must be an iterable of positive numbers, e.g. [1, 0.2, 0.05] ({exc})") from None
    if not taus:
        raise ValueError("taus is empty; pass at least one temperature, e.g. taus=[1, 0.2, 0.05].")
    if steps is not None:
        train_kwargs["steps"] = check_int(steps, "steps", minimum=1)
    start = time.perf_counter()
    results, rhos, margs = [], [], []
    small_cpu = resolve(device, dtype)[0].type == "cpu" and K * n * d * restarts <= 100_000
    stop = current_stop()
    for tau in taus:
        with one_cpu_thread(small_cpu):
            res = train_spherical_ufm(K, d, n, tau, seed=seed, restarts=restarts, device=device,
                                      dtype=dtype, **train_kwargs)
        W = res.W.detach().to(torch.float64)
        H = res.H.detach().to(torch.float64)
        results.append(res)
        rhos.append(float(_margins.rho(W / W.norm(dim=1, keepdim=True))))
        margs.append(sample_margins(W, H, res.y).cpu())
        if stop():                          # Ctrl-C: keep the temperatures done so far
            break
    return TauSweep(K, d, n, taus[:len(results)], rhos, margs, results, _margins.known_rho_star(K, d),
                    best_known_rho(K, d), time.perf_counter() - start)
