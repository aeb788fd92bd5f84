"""The spherical UFM trained with the HUG loss instead of cross-entropy (lesson 06).

Unit class proxies ``W (K, d)`` (the classifier) and unit free features ``H (K n, d)`` minimise
:func:`gnc_teach.hug.hug_loss`. Same training core as :func:`gnc_teach.models.ufm.train_spherical_ufm`
(:func:`gnc_teach.models.ufm._fit_sphere`: batched restarts, Riemannian steps, cosine learning rate).

With proxies, the stop-gradient makes the two terms act on disjoint variables: W moves only by
``inter_weight * inter(W)`` and H only by ``intra_weight * intra(H; W)``. So the proxies converge to a
minimiser of the uniformity energy whatever the features do, and the features collapse onto them
(collapse and self-duality, h̄_k = w_k, by construction). Proxy-free (``proxies=False``), the class means
of H play the proxies' part and both terms act on H; the returned W is then the normalised class means.

``optimizer="adam"`` (default) is Riemannian Adam, whose steps do not change when a loss is multiplied
by a constant: with proxies, where each variable sees one term, the two weights then only matter when
one of them is 0. ``optimizer="gd"`` takes plain Riemannian gradient steps, where a weight scales its
term's step size.

Like the CE trainers: restarts that would not fit in memory are refused up front, ``progress=True`` shows
a progress bar, and Ctrl-C returns the state so far with ``.interrupted = True``.
"""
from __future__ import annotations

import math
import time

import torch

from .._stop import interruptible
from .._tensor import check_bool, check_int, check_positive, check_seed, resolve
from ..hug import _batch_proxies, _terms
from ..uniformity import _energy, check_measure, measure_label
from .ufm import UFMResult, _check_sizes, _check_ufm_memory, _fit, _fit_sphere, _gnc_history, _sphere_start, ufm_labels

__all__ = ["train_hug_ufm", "decoupling_sweep", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "gd")


def _hug_objective(y, K, name, s, gamma, intra_weight, inter_weight, proxies):
    """``loss_fn(W, H, step) -> (loss, loss)`` per restart for the shared core."""
    def loss_fn(W, H, _t):
        if proxies:
            intra, inter = _terms(H, y, W, name, s, gamma)
            extra = 0.0
        else:
            P, _ = _batch_proxies(H, y, K)
            intra, inter = _terms(H, y, P, name, s, gamma)
            extra = 0.0 * W.sum((1, 2))   # W is not a variable of the proxy-free loss; keep it in the graph
        loss = intra_weight * intra + inter_weight * inter
        return loss + extra, loss.detach()
    return loss_fn


@interruptible
def train_hug_ufm(K: int, d: int, n: int, *, measure: str = "riesz", s: float = 2.0, gamma: float = 1.0,
                  intra_weight: float = 1.0, inter_weight: float = 1.0, proxies: bool = True,
                  optimizer: str = "adam", steps: int = 1000, lr: float = 0.05, seed: int = 0, restarts: int = 1,
                  device=None, dtype=None, record_every: int | None = None, progress: bool = False) -> UFMResult:
    """Train the spherical UFM with the HUG loss: min over unit proxies W and unit features H of
    ``intra_weight * intra(H; W) + inter_weight * U(W)`` (:func:`gnc_teach.hug.hug_loss`).

    ``measure``/``s``/``gamma`` choose the uniformity energy U (default Riesz s = 2). ``restarts`` run
    as one batch; the one with the lowest final loss is returned. ``history`` records every
    ``record_every`` steps (default steps // 10): ``gnc1``, ``gnc2`` (= ρ(W)), ``gnc3``, ``cos_wy_h``,
    ``spread`` (max_k mean ||h - h̄_k||), ``energy`` (U(W), sum reduction) and ``intra``. Returns a
    :class:`gnc_teach.models.ufm.UFMResult` (``tau`` None; ``W`` the proxies, or the class means when
    ``proxies=False``). ``progress=True`` shows a progress bar; Ctrl-C returns the state so far
    (``.interrupted``).
    """
    K, d, n, steps, record_every = _check_sizes(K, d, n, steps, record_every, per=10)
    name, s, gamma = check_measure(measure, s, gamma)
    intra_weight = check_positive(intra_weight, "intra_weight", allow_zero=True)
    inter_weight = check_positive(inter_weight, "inter_weight", allow_zero=True)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got optimizer={optimizer!r}.")
    proxies = check_bool(proxies, "proxies")
    restarts = check_int(restarts, "restarts", minimum=1)
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    device, dtype = resolve(device, dtype)
    _check_ufm_memory(K, d, n, restarts, device, dtype, loss="HUG")
    y = ufm_labels(K, n, device=device)
    loss_fn = _hug_objective(y, K, name, s, gamma, intra_weight, inter_weight, proxies)
    t0 = time.perf_counter()
    W, H, losses, snaps = _fit_sphere(K, d, n, loss_fn, restarts=restarts, seed=seed, steps=steps, lr=lr,
                                      device=device, dtype=dtype, record_every=record_every,
                                      adaptive=optimizer == "adam", progress=progress,
                                      what=f"train_hug_ufm(K={K}, d={d}, n={n})")
    if not proxies:
        W = _batch_proxies(H, y, K)[0]
        snaps = [(t, _batch_proxies(Hs, y.cpu(), K)[0], Hs) for t, _, Hs in snaps]
    best = int(losses[-1].argmin())
    seconds = time.perf_counter() - t0
    hist = _gnc_history(snaps, best, y.cpu(), K, [math.nan])
    del hist["tau"]
    hist["energy"] = [float(_energy(Ws[best].double(), name, s, gamma, False)) for _, Ws, _ in snaps]
    hist["intra"] = [float(_terms(Hs[best].double(), y.cpu(), Ws[best].double(), name, s, gamma)[0])
                     for _, Ws, Hs in snaps]
    return UFMResult(W=W[best], H=H[best], y=y, loss=losses[:, best].cpu().tolist(), history=hist, tau=None,
                     seconds=seconds, restart_losses=losses[-1].cpu().tolist(), best=best)



def _same_start(R, K, d, n, seed):
    """R copies of the start :func:`_fit_sphere` draws for one restart (float64, CPU): one batch, one start."""
    W0, H0 = _sphere_start(1, K, d, n, seed)
    return W0.expand(R, -1, -1).clone(), H0.expand(R, -1, -1).clone()


def _weights(values, name, *, allow_zero=True):
    """A non-empty sequence of numbers >= 0 (> 0 unless ``allow_zero``), each checked as ``name[i]``."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) == 0:
        raise TypeError(f"{name} must be a non-empty sequence of numbers, got {values!r}.")
    return [check_positive(v, f"{name}[{i}]", allow_zero=allow_zero) for i, v in enumerate(values)]


@interruptible
def decoupling_sweep(intra_weights=(0.0, 0.3, 1.0, 3.0), inter_weights=(0.0, 0.3, 1.0, 3.0),
                     ce_scales=(0.1, 0.3, 1.0, 3.0), *, K: int = 8, d: int = 3, n: int = 5, steps: int = 300,
                     lr: float = 1.0, tau: float = 0.3, measure: str = "riesz", s: float = 2.0, seed: int = 0,
                     progress: bool = False) -> dict:
    """What each HUG weight controls, against CE's single knob, after ``steps`` plain gradient steps.

    Every run starts from the same point (``seed``) and all runs go in one batch. HUG, for every
    (intra weight, inter weight) pair: ``gnc1`` (within-class variability of the features) and
    ``energy_gap`` = U(W) - U(W*), W* from :func:`gnc_teach.uniform_codes.optimal_code`. CE at temperature
    ``tau`` with the loss multiplied by each of ``ce_scales``: ``gnc1`` and ``rho_gap`` = ρ(W_soft) - ρ(W),
    W_soft the best-found softmax code. Returns a dict of numpy arrays (``hug_gnc1``, ``hug_energy_gap``
    of shape (len(intra_weights), len(inter_weights)); ``ce_gnc1``, ``ce_rho_gap``) and the settings
    (and ``interrupted``: True when Ctrl-C ended the runs early). ``progress=True``: a progress bar per batch.
    """
    import numpy as np

    from .. import metrics
    from ..codes import softmax_code
    from ..margins import rho
    from ..uniform_codes import optimal_code
    from .ufm import _ce

    K, d, n, steps, _ = _check_sizes(K, d, n, steps, 0, per=1)
    name, s_, gamma = check_measure(measure, s)
    intra_weights = _weights(intra_weights, "intra_weights")
    inter_weights = _weights(inter_weights, "inter_weights")
    ce_scales = _weights(ce_scales, "ce_scales", allow_zero=False)
    tau, lr = check_positive(tau, "tau"), check_positive(lr, "lr")
    seed = check_seed(seed)
    grid = [(a, b) for a in intra_weights for b in inter_weights]
    _check_ufm_memory(K, d, n, len(grid), torch.device("cpu"), torch.float64, loss="HUG")
    _check_ufm_memory(K, d, n, len(ce_scales), torch.device("cpu"), torch.float64)
    iw, ew = (torch.tensor(v, dtype=torch.float64) for v in zip(*grid))
    y = ufm_labels(K, n)
    W, H, _, _ = _fit(*_same_start(len(grid), K, d, n, seed), _hug_objective(y, K, name, s_, gamma, iw, ew, True),
                      steps=steps, lr=lr, sphere=True, record_every=0, adaptive=False, progress=progress,
                      what=f"decoupling_sweep: {len(grid)} HUG runs")
    star = optimal_code(K, d, measure=name, s=s).value
    shape = (len(intra_weights), len(inter_weights))
    hug_gnc1 = np.array([metrics.gnc1(h, y, K=K) for h in H]).reshape(shape)
    gap = (_energy(W, name, s_, gamma, False).numpy() - star).reshape(shape)

    scale = torch.tensor(ce_scales, dtype=torch.float64)

    def ce_loss(Wc, Hc, _t):
        loss = scale * _ce(Wc, Hc, y, tau)
        return loss, loss.detach()

    Wc, Hc, _, _ = _fit(*_same_start(len(scale), K, d, n, seed), ce_loss, steps=steps, lr=lr, sphere=True,
                        record_every=0, adaptive=False, progress=progress,
                        what=f"decoupling_sweep: {len(scale)} CE runs")
    rho_soft = softmax_code(K, d, fast=True, seed=seed).rho
    return dict(intra_weights=np.array(intra_weights, float), inter_weights=np.array(inter_weights, float),
                ce_scales=np.array(ce_scales, float), hug_gnc1=hug_gnc1, hug_energy_gap=gap,
                ce_gnc1=np.array([metrics.gnc1(h, y, K=K) for h in Hc]),
                ce_rho_gap=np.array([rho_soft - rho(w) for w in Wc]), energy_star=star, rho_soft=rho_soft,
                K=K, d=d, n=n, steps=steps, lr=lr, tau=tau, measure=measure_label(name, s), interrupted=False)
