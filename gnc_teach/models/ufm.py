"""The unconstrained features model (UFM): features H are free variables trained with the classifier W.

Two front ends, one training loop (:func:`_fit`):

* :func:`train_ufm` — CE + weight decay (Zhu et al. 2021). Balanced classes, no bias. For d >= K-1 its
  global minimisers are simplex ETFs, so NC1..NC4 -> 0 (lesson 01; only for
  small enough weight decay λ_W·λ_H, above a threshold the minimiser is W = 0, H = 0).
* :func:`train_spherical_ufm` — unit w_k and unit h_{k,i}, mean CE with logits <w_j, h>/τ, no weight
  decay (the sphere replaces it). As τ -> 0 the classifier tends to a softmax code (GNC; proved in lesson 03
  for global minimisers).

Optimiser: full-batch Adam with a cosine learning-rate decay. On the sphere the gradient is projected
onto the tangent space and every step is followed by a retraction (renormalise the rows), i.e. Riemannian
Adam without momentum transport. Adam matters at small τ: the CE gradients there are exponentially
small (~exp(-margin/τ)/τ), and Adam's step is scale-free, so the same ``lr`` works for every τ.
Restarts run as one batch: W ``(R, K, d)``, H ``(R, N, d)``, one loss per restart.

Bounded memory and time: the (R, N, K) logits and their gradients are estimated first and refused when
they exceed the available memory (:mod:`gnc_teach._memory`); ``progress=True`` shows a progress bar, and
Ctrl-C (or Jupyter's interrupt) ends the training at the next step, returning the iterate so far with
``.interrupted = True`` (:mod:`gnc_teach._stop`).
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .. import metrics
from .._memory import check_memory
from .._solvers.sphere_opt import tangent
from .._stop import current_stop, interruptible, progress_bar, tick
from .._tensor import check_int, check_positive, check_seed, generator, one_cpu_thread, resolve
from ..geometry import random_sphere

__all__ = ["UFMResult", "train_ufm", "train_spherical_ufm", "ufm_labels"]


@dataclass
class UFMResult:
    """Result of a UFM run (the best restart for the spherical model).

    ``W (K, d)``, ``H (K*n, d)``, ``y (K*n,)`` (labels 0..K-1 each repeated n times, class-major),
    ``loss`` (the training loss at every step, list of floats; for the spherical model the CE at that
    step's τ), ``history`` (dict: ``"step"`` -> list of
    ints, metric name -> list of floats at those steps), ``tau`` (final temperature; None for
    :func:`train_ufm`), ``seconds`` (wall time of the training loop, history metrics not included), ``restart_losses`` (final loss of every restart) and
    ``best`` (index of the returned restart); ``restart_log_losses`` (τ·log CE of every restart at the end,
    which the spherical model uses to pick ``best``: unlike CE it does not underflow at small τ);
    ``interrupted`` (True when Ctrl-C ended the training early: ``loss`` then has fewer entries).
    """
    W: torch.Tensor
    H: torch.Tensor
    y: torch.Tensor
    loss: list
    history: dict
    tau: float | None = None
    seconds: float = 0.0
    restart_losses: list = field(default_factory=list)
    best: int = 0
    restart_log_losses: list = field(default_factory=list)
    interrupted: bool = False

    @property
    def K(self) -> int:
        return self.W.shape[0]

    @property
    def d(self) -> int:
        return self.W.shape[1]


def ufm_labels(K: int, n: int, *, device=None) -> torch.Tensor:
    """Balanced labels ``(K*n,)``: 0..K-1, each repeated n times (class-major: 0,0,..,1,1,..)."""
    K, n = check_int(K, "K", minimum=1), check_int(n, "n", minimum=1)
    return torch.arange(K, device=device).repeat_interleave(n)


# ----------------------------------------------------------------------------- the shared loop
def _fit(W, H, loss_fn, *, steps, lr, sphere, record_every, lr_min_ratio=1e-3, eps=1e-8, adaptive=True,
         progress=False, what="training"):
    """Full-batch Adam on W ``(R, K, d)`` and H ``(R, N, d)`` with a cosine-decayed learning rate.

    ``loss_fn(W, H, step)`` returns the ``(R,)`` losses (restarts are independent, so the gradient of
    their sum is the gradient of each). ``sphere=True`` projects gradients onto the tangent space and
    renormalises the rows after every step. ``adaptive=False``: plain gradient steps instead of Adam's
    (then a loss weight scales the step; Adam's step is invariant to it). Returns the final W, H, the
    ``(steps done, R)`` losses and CPU snapshots ``(step, W, H)`` every ``record_every`` steps (and at the
    end); Ctrl-C ends the loop early (:func:`gnc_teach._stop.current_stop`). ``progress``: a tqdm bar over
    the steps, labelled ``what``.
    """
    with progress_bar(progress, steps, what) as bar, \
            one_cpu_thread(H.device.type == "cpu" and H.numel() <= 200_000):  # tiny tensors: 1 thread
        return _adam_loop(W, H, loss_fn, steps=steps, lr=lr, sphere=sphere, record_every=record_every,
                          lr_min_ratio=lr_min_ratio, eps=eps, adaptive=adaptive, bar=bar, stop=current_stop())


def _adam_loop(W, H, loss_fn, *, steps, lr, sphere, record_every, lr_min_ratio, eps,
               betas=(0.9, 0.999), adaptive=True, bar=None, stop=None):
    # Adam written out (a few lines) rather than torch.optim.Adam: we need the tangent projection
    # anyway, and building torch.optim's optimiser imports torch._dynamo (seconds on a small CPU).
    params = [W.clone().requires_grad_(True), H.clone().requires_grad_(True)]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    b1, b2 = betas
    losses = torch.empty(steps, W.shape[0], dtype=W.dtype, device=W.device)
    snaps = []
    for t in range(steps):
        if record_every and t % record_every == 0:
            snaps.append((t, params[0].detach().cpu().clone(), params[1].detach().cpu().clone()))
        # cosine decay from lr to lr*lr_min_ratio: big steps find the basin, small ones converge in it
        lr_t = lr * (lr_min_ratio + (1 - lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t / steps)))
        objective, loss = loss_fn(*params, t)
        grads = torch.autograd.grad(objective.sum(), params)
        losses[t] = loss.detach()
        with torch.no_grad():
            for p, g, m_, v_ in zip(params, grads, m, v):
                if sphere:
                    g = tangent(p, g)
                m_.mul_(b1).add_(g, alpha=1 - b1)
                v_.mul_(b2).addcmul_(g, g, value=1 - b2)
                step = (m_ / (1 - b1 ** (t + 1))) / ((v_ / (1 - b2 ** (t + 1))).sqrt() + eps) if adaptive else g
                p.sub_(lr_t * step)
                if sphere:  # retraction back onto the sphere
                    p.div_(p.norm(dim=-1, keepdim=True))
        if tick(bar, stop):
            losses = losses[:t + 1]
            stop.note = f"after {t + 1} of {steps} steps"
            break
    W, H = (p.detach() for p in params)
    snaps.append((len(losses), W.cpu().clone(), H.cpu().clone()))
    return W, H, losses, snaps


def _fit_sphere(K, d, n, loss_fn, *, restarts, seed, steps, lr, device, dtype, record_every, adaptive=True,
                progress=False, what="training"):
    """The shared core of the spherical trainers: ``restarts`` random unit starts W ``(R, K, d)``,
    H ``(R, K n, d)`` (float64 draws from ``seed``, then moved to ``device``/``dtype``) and Riemannian
    optimisation of ``loss_fn`` with :func:`_fit`. Returns ``(W, H, losses, snaps)`` as :func:`_fit` does."""
    W0, H0 = _sphere_start(restarts, K, d, n, seed)
    return _fit(W0.to(device, dtype), H0.to(device, dtype), loss_fn, steps=steps, lr=lr, sphere=True,
                record_every=record_every, adaptive=adaptive, progress=progress, what=what)


def _sphere_start(R, K, d, n, seed):
    """The random start of the spherical trainers: unit W ``(R, K, d)`` and H ``(R, K n, d)``, float64 on
    the CPU, drawn one after the other from ``seed``."""
    g = generator(seed)
    return random_sphere(K, d, seed=g, batch=R), random_sphere(K * n, d, seed=g, batch=R)


def _ce(W, H, y, tau=1.0):
    """Mean CE per restart: logits <w_j, h>/tau, W ``(R,K,d)``, H ``(R,N,d)`` -> ``(R,)``."""
    logits = H @ W.transpose(1, 2) / tau  # (R, N, K)
    R, N, K = logits.shape
    return F.cross_entropy(logits.reshape(R * N, K), y.repeat(R), reduction="none").reshape(R, N).mean(1)


def _tau_log_ce(W, H, y, tau):
    """τ·log(mean CE) and mean CE per restart: W ``(R,K,d)``, H ``(R,N,d)`` -> two ``(R,)`` tensors.

    CE_i = softplus(s_i) with s_i = log Σ_{j≠y_i} exp(<w_j - w_{y_i}, h_i>/τ). At small τ, CE_i ~ e^{s_i}
    underflows to 0 in float64 (s_i ~ -ρ/τ), and log(0) would poison the gradients with NaN; here
    log softplus(s) = s - e^s/2 + O(e^{2s}) for s << 0 keeps every value and gradient finite.
    """
    logits = H @ W.transpose(1, 2)
    idx = y[None, :, None].expand(W.shape[0], -1, 1)
    A = (logits - logits.gather(2, idx)) / tau
    s = torch.logsumexp(A.scatter(2, idx, float("-inf")), dim=2)           # (R, N)
    # both branches clamped: torch.where back-propagates through the unused one too, and exp(s) = inf
    # there (a misclassified sample at small τ, s ~ 2/τ) would turn its zero weight into NaN gradients
    lo = s.clamp_max(-30)
    logsp = torch.where(s < -30, lo - torch.exp(lo) / 2, torch.log(F.softplus(s.clamp_min(-30))))
    return tau * (torch.logsumexp(logsp, dim=1) - math.log(s.shape[1])), logsp.detach().exp().mean(1)


def _check_sizes(K, d, n, steps, record_every, *, per):
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=1)
    n = check_int(n, "n", minimum=1)
    steps = check_int(steps, "steps", minimum=1)
    if record_every is None:  # about `per` records over the run, plus the final state
        record_every = max(1, steps // per)
    record_every = check_int(record_every, "record_every", minimum=0)
    return K, d, n, steps, record_every


def _check_ufm_memory(K, d, n, R, device, dtype, *, loss="CE"):
    """The memory guard of a UFM run: the (R, N, K) logits of CE (the (R, K, K) distance matrices of the HUG
    energy) with their softmax, gradient and temporaries (about 6 copies), and the Adam states of W and H
    (about 8 copies of (R, K + N, d)), N = K n."""
    item = torch.finfo(dtype).bits // 8
    N = K * n
    square = N * K if loss == "CE" else K * K
    check_memory(item * R * (6 * square + 8 * (K + N) * d),
                 what=f"a UFM run with K={K}, n={n} (N={N} features), d={d}, restarts={R}",
                 fix="Use a smaller K or n, fewer restarts, dtype=torch.float32, or a GPU with more memory.",
                 device=device)


def _check_finite(W, H, *, what):
    """Training that produced NaN/inf is an error about its cause, not about the shapes of W and H."""
    if not (torch.isfinite(W).all() and torch.isfinite(H).all()):
        raise ValueError(f"training diverged (NaN or inf in W or H); {what}")


# ----------------------------------------------------------------------------- CE + weight decay
@interruptible
def train_ufm(K: int, d: int, n: int, *, lam_W: float = 5e-4, lam_H: float = 5e-4, steps: int = 1000,
              lr: float = 0.5, seed: int = 0, init_scale: float = 0.1, device=None, dtype=None,
              record_every: int | None = None, progress: bool = False) -> UFMResult:
    """Train the bias-free UFM  (1/N) Σ CE(W h_i, y_i) + λ_W/2 ||W||_F² + λ_H/2 ||H||_F²  (Zhu et al. 2021).

    Balanced classes (n per class, N = K n). For d >= K-1 every global minimiser has simplex-ETF
    classifier rows and collapsed, self-dual features, so the recorded ``nc1``, ``nc2`` (= max-angle of
    the centred means), ``nc3``, ``nc4`` tend to 0 (to ~1e-10 or below with the defaults for
    K <= 20, d >= K-1; weight decay much below 1e-4 converges far more slowly). Init: Gaussian with std
    ``init_scale``; ``record_every`` defaults to steps // 50. ``progress=True`` shows a progress bar;
    Ctrl-C returns the state so far (``.interrupted``). Returns a :class:`UFMResult` (``tau`` None).
    """
    K, d, n, steps, record_every = _check_sizes(K, d, n, steps, record_every, per=50)
    lam_W = check_positive(lam_W, "lam_W", allow_zero=True)
    lam_H = check_positive(lam_H, "lam_H", allow_zero=True)
    lr = check_positive(lr, "lr")
    init_scale = check_positive(init_scale, "init_scale")
    seed = check_seed(seed)
    device, dtype = resolve(device, dtype)
    _check_ufm_memory(K, d, n, 1, device, dtype)
    g = generator(seed)
    W0 = init_scale * torch.randn(1, K, d, generator=g, dtype=torch.float64)
    H0 = init_scale * torch.randn(1, K * n, d, generator=g, dtype=torch.float64)
    y = ufm_labels(K, n, device=device)

    def loss_fn(W, H, t):
        loss = _ce(W, H, y) + 0.5 * lam_W * W.pow(2).sum((1, 2)) + 0.5 * lam_H * H.pow(2).sum((1, 2))
        return loss, loss

    t0 = time.perf_counter()
    W, H, losses, snaps = _fit(W0.to(device, dtype), H0.to(device, dtype), loss_fn, steps=steps, lr=lr,
                               sphere=False, record_every=record_every, progress=progress,
                               what=f"train_ufm(K={K}, d={d}, n={n})")
    _check_finite(W, H, what=f"use a smaller lr (got lr={lr}).")
    seconds = time.perf_counter() - t0
    yc = y.cpu()
    hist = {"step": [], "nc1": [], "nc2": [], "nc2_equinorm": [], "nc3": [], "nc4": []}
    for t, Ws, Hs in snaps:
        Ws, Hs = Ws[0], Hs[0]
        hist["step"].append(t)
        Mc = metrics.class_means(Hs, yc, K=K) - Hs.mean(0)
        hist["nc1"].append(_safe(metrics.nc1, Hs, yc, K=K))
        hist["nc2"].append(_safe(metrics.nc2_maxangle, Mc))
        hist["nc2_equinorm"].append(_safe(metrics.nc2_equinorm, Mc))
        hist["nc3"].append(_safe(metrics.nc3, Ws, Hs, yc))
        hist["nc4"].append(_safe(metrics.nc4, Ws, Hs, yc))
    final = losses[-1].cpu()
    return UFMResult(W=W[0], H=H[0], y=y, loss=losses[:, 0].cpu().tolist(), history=hist, tau=None,
                     seconds=seconds, restart_losses=final.tolist(), best=0)


# ----------------------------------------------------------------------------- spherical UFM
def _tau_schedule(schedule, tau, steps):
    """Turn ``schedule`` into a function step -> τ.

    None: geometric annealing from max(1, τ) down to τ over the first half of the steps, then τ.
    A callable: used as is (must return a positive τ). A sequence of τ's: equal-length stages.
    """
    if schedule is None:
        start = max(1.0, tau)
        half = max(1, steps // 2)
        return lambda t: tau if t >= half else start * (tau / start) ** (t / half)
    if callable(schedule):
        return schedule
    if isinstance(schedule, (str, bytes)) or not isinstance(schedule, (list, tuple, np.ndarray, torch.Tensor)):
        raise TypeError("schedule must be None, a callable step -> tau, or a sequence of taus, "
                        f"got {type(schedule).__name__}.")
    taus = [float(s) for s in (schedule.tolist() if hasattr(schedule, "tolist") else schedule)]
    if not taus:
        raise ValueError("schedule is an empty sequence; give at least one tau.")
    for s in taus:
        _check_tau(s, "schedule entry")
    stage = steps / len(taus)
    return lambda t: taus[min(int(t // stage), len(taus) - 1)]


#: the smallest temperature the spherical UFM trains at: its logits <w_j - w_y, h>/τ (at most 2/τ in size)
#: and their gradients must stay finite in float32 (τ = 1e-30: ~1e30 << 3e38); HardMax is the τ -> 0 limit
TAU_MIN = 1e-30


def _check_tau(tau, name="tau"):
    if isinstance(tau, bool) or not isinstance(tau, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number > 0, got {type(tau).__name__} {tau!r}.")
    tau = check_positive(tau, name)
    if tau < TAU_MIN:
        raise ValueError(f"{name}={tau:g} is below {TAU_MIN:g}: the logits <w_j - w_y, h>/τ would overflow. "
                         f"Use {name} >= {TAU_MIN:g}; the τ -> 0 limit is the HardMax problem "
                         "(gnc_teach.softmax_code).")
    return tau


@interruptible
def train_spherical_ufm(K: int, d: int, n: int, tau: float, *, steps: int = 1500, lr: float = 0.05,
                        seed: int = 0, restarts: int = 1, schedule=None, device=None, dtype=None,
                        record_every: int | None = None, progress: bool = False) -> UFMResult:
    """Train the spherical UFM: min over unit w_k, unit h_{k,i} of mean_i CE(<w_j, h_i>/τ, y_i).

    No weight decay; Riemannian Adam (tangent gradient + row renormalisation). ``schedule``: τ per step —
    None (default: anneal geometrically from 1 to ``tau`` over the first half, then hold ``tau``), a
    callable step -> τ, or a sequence of τ's run in equal stages (every τ >= :data:`TAU_MIN`).
    ``restarts`` independent runs go in one batch; the restart with the lowest final loss at ``tau`` is
    returned, compared by τ·log CE (``restart_log_losses``; CE itself, in ``restart_losses``, underflows to 0
    for every restart below τ ~ 0.01). ``progress=True`` shows a progress bar; Ctrl-C returns the state
    so far (``.interrupted``). ``history`` records gnc1, gnc2 (= ρ(Ŵ)), gnc3, ``cos_wy_h`` (mean <w_y, h>),
    ``spread`` (max_k mean ||h - h̄_k||) and ``tau`` every ``record_every`` steps (default steps // 10;
    each record computes the exact ρ, which costs a fraction of a second).

    The optimiser minimises τ·log(CE) (same minimisers at each fixed τ, gradients of order one for every
    τ), so ``lr`` (an angle per step) needs no 1/τ rescaling. With the defaults, K=8, d=3, n=5, τ=0.05
    reaches the square antiprism (ρ = 0.73861 at τ = 0.05; the τ -> 0 optimum is 0.73880) with features
    collapsed to ~1e-15 in about 1-3 s on a CPU.
    """
    K, d, n, steps, record_every = _check_sizes(K, d, n, steps, record_every, per=10)
    tau = _check_tau(tau)
    restarts = check_int(restarts, "restarts", minimum=1)
    lr = check_positive(lr, "lr")
    seed = check_seed(seed)
    tau_at = _tau_schedule(schedule, tau, steps)
    device, dtype = resolve(device, dtype)
    _check_ufm_memory(K, d, n, restarts, device, dtype)
    y = ufm_labels(K, n, device=device)
    taus = []

    def loss_fn(W, H, t):
        tt = float(tau_at(t))
        if not (tt >= TAU_MIN and math.isfinite(tt)):
            raise ValueError(f"schedule gave tau={tt} at step {t}; every tau must be finite and >= {TAU_MIN:g}.")
        taus.append(tt)
        # τ·log(CE) has the same minimisers as CE at a fixed τ, but gradients of order one at every τ;
        # raw CE gradients shrink like exp(-margin/τ), and Adam's running second moment would then
        # remember the large early gradients for tens of thousands of steps and freeze the fine tuning.
        return _tau_log_ce(W, H, y, tt)

    t0 = time.perf_counter()
    W, H, losses, snaps = _fit_sphere(K, d, n, loss_fn, restarts=restarts, seed=seed, steps=steps, lr=lr,
                                      device=device, dtype=dtype, record_every=record_every,
                                      progress=progress,
                                      what=f"train_spherical_ufm(K={K}, d={d}, n={n}, tau={tau:g})")
    _check_finite(W, H, what=f"use a larger tau (got tau={tau:g}) or a smaller lr (got lr={lr}).")
    with torch.no_grad():
        # compare restarts at the target τ, whatever the schedule ended on, by τ·log CE: CE ~ exp(-ρ/τ)
        # underflows to 0 for every restart at small τ, and argmin would then pick restart 0 blindly
        log_final, final = _tau_log_ce(W, H, y, tau)[0], _ce(W, H, y, tau)
    best = int(log_final.argmin())
    seconds = time.perf_counter() - t0
    hist = _gnc_history(snaps, best, y.cpu(), K, taus)
    return UFMResult(W=W[best], H=H[best], y=y, loss=losses[:, best].cpu().tolist(), history=hist,
                     tau=tau, seconds=seconds, restart_losses=final.cpu().tolist(), best=best,
                     restart_log_losses=log_final.cpu().tolist())


def _safe(metric, *args, **kw):
    """A metric's value, or NaN where it is undefined (e.g. NC1 once too much weight decay has sent
    every feature to 0): a history should record that, not abort the run that produced it."""
    try:
        return metric(*args, **kw)
    except ValueError:
        return float("nan")


def _gnc_history(snaps, best, y, K, taus):
    hist = {"step": [], "tau": [], "gnc1": [], "gnc2": [], "gnc3": [], "cos_wy_h": [], "spread": []}
    for t, Ws, Hs in snaps:
        Ws, Hs = Ws[best], Hs[best]
        hist["step"].append(t)
        hist["tau"].append(taus[min(t, len(taus) - 1)])
        hist["gnc1"].append(_safe(metrics.gnc1, Hs, y, K=K))
        hist["gnc2"].append(metrics.gnc2(Ws))
        hist["gnc3"].append(_safe(metrics.gnc3, Ws, Hs, y))
        hist["cos_wy_h"].append(float((Ws[y] * Hs).sum(1).mean()))
        hist["spread"].append(metrics.within_class_spread(Hs, y, K=K))
    return hist
