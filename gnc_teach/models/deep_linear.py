"""The deep linear unconstrained-features model (Dang et al., ICML 2023), any class sizes, MSE or CE.

Free features ``H`` ``(N, d_1)`` and M layers ``W_1 (d_2, d_1), ..., W_M (K, d_M)`` (torch.nn.Linear
layout; the product W = W_M⋯W_1 is ``(K, d_1)`` with rows w_k), an optional unpenalised last-layer
bias b ``(K,)``, and

    MSE: F = 1/(2N) Σ_i ||W h_i + b - e_{y_i}||²  + λ_W/2 Σ_m ||W_m||_F² + λ_H/2 ||H||_F²
    CE:  F = 1/N   Σ_i CE(W h_i + b, y_i)        + the same penalties.

For MSE the global minimum is known in closed form (:mod:`gnc_teach.imbalance`); for M >= 2 the
landscape also has spurious local minima (more or fewer fitted classes than the optimum), so one run proves nothing: the trainer
runs ``restarts`` initialisations as one batch and reports every distinct minimum it reached, by
objective value. Optimiser: batched L-BFGS to a gradient norm of ``gtol``. Measured on the paper's
setting (M = 1, λ = 0.01): L-BFGS reaches the closed form to ~1e-9 in ~30 iterations (0.06 s); full-batch
Adam with a cosine learning-rate decay needed 20,000 steps (20 s), and stopped early it is not monotone
(4e-8 after 1,000 steps, 2e-5 after 5,000).

Like every trainer of the package: restarts that would not fit in memory are refused up front,
``progress=True`` shows a progress bar over the iterations, and Ctrl-C returns the restarts as they are
then, with ``.interrupted = True``.
"""
from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F

from .. import metrics
from .._memory import check_memory
from .._solvers.batched_lbfgs import batched_lbfgs
from .._stop import current_stop, interruptible, progress_bar
from .._tensor import (as_labels, as_matrix, as_vector, check_bool, check_int, check_pair, check_positive,
                       check_type, generator, one_cpu_thread, resolve)
from ..imbalance import check_class_sizes

__all__ = ["DeepLinearResult", "Minimum", "train_deep_linear_ufm", "deep_linear_objective", "class_labels",
           "closed_form_errors",
           "reference_scale"]

LOSSES = ("mse", "ce")


def class_labels(n, *, device=None) -> torch.Tensor:
    """Labels ``(N,)`` for class sizes ``n``: class 0 repeated n_0 times, then class 1, ... (class-major)."""
    n = check_class_sizes(n)
    return torch.repeat_interleave(torch.arange(len(n), device=device), torch.as_tensor(n, device=device))


# ----------------------------------------------------------------------------- the objective
def _forward(H, layers, b):
    out = H
    for Wm in layers:
        out = out @ Wm.transpose(-1, -2)
    return out if b is None else out + b.unsqueeze(-2)


def _objective(H, layers, b, y, lam_W, lam_H, loss):
    """Batched objective ``(R,)``: H ``(R, N, d_1)``, layers ``(R, d_out, d_in)``, b ``(R, K)`` or None."""
    out = _forward(H, layers, b)
    R, N, K = out.shape
    if loss == "mse":
        fit = (out - F.one_hot(y, K).to(out.dtype)).pow(2).sum((1, 2)) / (2 * N)
    else:
        fit = F.cross_entropy(out.reshape(R * N, K), y.repeat(R), reduction="none").reshape(R, N).mean(1)
    reg = lam_H / 2 * H.pow(2).sum((1, 2))
    for Wm in layers:
        reg = reg + lam_W / 2 * Wm.pow(2).sum((1, 2))
    return fit + reg


def deep_linear_objective(layers, H, y, *, lam_W: float, lam_H: float, b=None, loss: str = "mse") -> float:
    """F(W_1..W_M, H, b) of one model (see the module docstring) in float64, as a Python float.

    ``layers`` = ``[W_1, ..., W_M]`` (``W_M`` has K rows), ``H`` ``(N, d_1)``, labels ``y`` ``(N,)``.
    """
    layers, H, y, b = _check_model_tensors(layers, H, y, b)
    lam_W = check_positive(lam_W, "lam_W", allow_zero=True)
    lam_H = check_positive(lam_H, "lam_H", allow_zero=True)
    loss = _check_loss(loss)
    with torch.no_grad():
        f = _objective(H[None], [W[None] for W in layers], None if b is None else b[None], y, lam_W, lam_H, loss)
    return float(f[0])


def _check_loss(loss):
    if loss not in LOSSES:
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}.")
    return loss


def _check_model_tensors(layers, H, y, b):
    if isinstance(layers, torch.Tensor) or not isinstance(layers, (list, tuple)) or not layers:
        raise TypeError("layers must be a non-empty list [W_1, ..., W_M] of (d_out, d_in) matrices.")
    H = as_matrix(H, "H").to(torch.float64)
    layers = [as_matrix(W, f"layers[{m}]").to(device=H.device, dtype=torch.float64)
              for m, W in enumerate(layers)]
    width = H.shape[1]
    for m, W in enumerate(layers):
        if W.shape[1] != width:
            raise ValueError(f"layers[{m}] has shape {tuple(W.shape)} but its input has width {width}; "
                             "W_m must be (d_out, d_in) with d_in the width of the layer below.")
        width = W.shape[0]
    K = width
    y = as_labels(y, "y", n=H.shape[0], device=H.device)
    if int(y.max()) >= K:
        raise ValueError(f"y has label {int(y.max())} but the last layer has K={K} rows.")
    if b is not None:
        b = as_vector(b, "b", n=K, device=H.device, dtype=torch.float64)
    return layers, H, y, b


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Minimum:
    """One distinct minimum reached: its ``objective``, the ``restarts`` that ended there, the number of
    fitted modes (``rank`` of W H̄ᵀ, i.e. classes not collapsed when class sizes differ) and the classes
    whose classifier row vanished (``collapsed``)."""
    objective: float
    restarts: tuple
    rank: int
    collapsed: tuple


@dataclass
class DeepLinearResult:
    """The best restart of :func:`train_deep_linear_ufm`, plus every restart's outcome.

    ``layers`` ``[W_1, ..., W_M]``, ``H`` ``(N, d_1)``, ``y`` ``(N,)``, ``b`` ``(K,)`` or None;
    ``objective`` F of this restart; ``grad_norm`` its final gradient norm (the stationarity
    certificate); ``restart_objectives``, ``restart_grad_norms``, ``restart_ranks`` for all restarts;
    ``minima`` the distinct minima reached (by objective value, best first); ``best`` the index of this
    restart; ``init_scales`` each restart's starting scale ρ (see ``init_scale``). ``restart(r)`` returns
    restart r.
    """
    layers: list
    H: torch.Tensor
    y: torch.Tensor
    b: torch.Tensor | None
    objective: float
    grad_norm: float
    n: tuple
    M: int
    lam_W: float
    lam_H: float
    loss: str
    restart_objectives: list
    restart_grad_norms: list
    restart_ranks: list
    minima: list
    best: int = 0
    iterations: int = 0
    seconds: float = 0.0
    init_scales: list = field(default_factory=list)
    interrupted: bool = False
    _batch: tuple = field(default=None, repr=False)

    @property
    def K(self) -> int:
        return len(self.n)

    @property
    def W(self) -> torch.Tensor:
        """The product W = W_M⋯W_1, ``(K, d_1)``."""
        W = self.layers[0]
        for Wm in self.layers[1:]:
            W = Wm @ W
        return W

    @property
    def class_means(self) -> torch.Tensor:
        """h̄_k, ``(K, d_1)``."""
        return metrics.class_means(self.H, self.y, K=self.K)

    def lengths(self):
        """``(||w_k||², ||h̄_k||², <w_k, h̄_k>)`` as three ``(K,)`` numpy arrays."""
        return tuple(t.cpu().numpy() for t in metrics.class_lengths(self.W, self.H, self.y))

    @property
    def multiple_minima(self) -> bool:
        return len(self.minima) > 1

    def restart(self, r: int) -> "DeepLinearResult":
        """The same result seen from restart ``r`` (its layers, features, bias, objective)."""
        r = range(len(self.restart_objectives))[check_int(r, "r")]
        H, layers, b = self._batch
        return replace(self, layers=[W[r] for W in layers], H=H[r], b=None if b is None else b[r],
                       objective=self.restart_objectives[r], grad_norm=self.restart_grad_norms[r], best=r)

    def report(self) -> str:
        """One line per distinct minimum: objective, how many restarts, fitted modes, collapsed classes."""
        R = len(self.restart_objectives)
        head = (f"{R} restart(s) ended in {len(self.minima)} distinct minim{'a' if len(self.minima) > 1 else 'um'}"
                f" (M={self.M}, λ_W={self.lam_W:g}, λ_H={self.lam_H:g}, loss={self.loss})"
                f"{' when Ctrl-C interrupted the training (not converged)' if self.interrupted else ''}:")
        lines = [head]
        for i, m in enumerate(self.minima):
            tag = "lowest" if i == 0 else f"+{m.objective - self.minima[0].objective:.3e}"
            lines.append(f"  F = {m.objective:.12f} ({tag}): {len(m.restarts)} restart(s), {m.rank} fitted "
                         f"mode(s), collapsed classes {list(m.collapsed) or 'none'}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- training
def _widths(d, K, M, bias, allow_narrow):
    if d is None:
        d = K
    if isinstance(d, (numbers.Integral, np.integer)) and not isinstance(d, bool):
        widths = [check_int(d, "d", minimum=1)] * M
    elif isinstance(d, (list, tuple)):
        widths = [check_int(v, f"d[{i}]", minimum=1) for i, v in enumerate(d)]
        if len(widths) != M:
            raise ValueError(f"d lists {len(widths)} widths but M={M} layers need M widths (d_1, ..., d_M).")
    else:
        raise TypeError(f"d must be an int or a list of M ints (the widths d_1..d_M), got {type(d).__name__}.")
    need = K - 1 if bias else K
    if min(widths) < need and not allow_narrow:
        raise ValueError(f"every width must be >= {need} (K={K}{' - 1 with the bias' if bias else ''}) for an "
                         f"orthogonal frame to fit, got d={d}; pass allow_narrow=True to train the narrow model "
                         "anyway (its optimum fits fewer classes).")
    return widths


def reference_scale(n, lam_W, lam_H, M) -> tuple:
    """``(u, v)``: the MSE optimum's singular value of every layer (u = sqrt(t/λ_W)) and of the weighted
    class means (v = sqrt(t/λ_H) = sqrt(n_k)·||h̄_k||) if the largest class were fitted exactly,
    t = (λ_W^M λ_H)^{1/(M+1)} n_max^{1/(M+1)}. The unit of the initialisation (penalties of 0 count as 1e-12)."""
    n, M = check_class_sizes(n), check_int(M, "M", minimum=1)
    lam_W = max(check_positive(lam_W, "lam_W", allow_zero=True), 1e-12)
    lam_H = max(check_positive(lam_H, "lam_H", allow_zero=True), 1e-12)
    t = (lam_W ** M * lam_H) ** (1 / (M + 1)) * float(max(n)) ** (1 / (M + 1))
    return math.sqrt(t / lam_W), math.sqrt(t / lam_H)


def _orthogonal(R, rows, cols, g, dtype):
    """R random (semi-)orthogonal ``(rows, cols)`` matrices (orthonormal rows or columns)."""
    m = max(rows, cols)
    Q, _ = torch.linalg.qr(torch.randn(R, m, m, generator=g, dtype=dtype))
    return Q[:, :rows, :cols]


def _init(rho, ref, n, widths, K, g, dtype):
    """Restart r starts every factor at scale rho_r: layers rho_r·u·Q_m, and features h_i = class mean +
    within-class noise, both of length about rho_r·v/sqrt(n_k): the class means are the rows of a random
    (semi-)orthogonal matrix, drawn independently of the layers, the noise isotropic Gaussian.

    Isotropic factors give every class the same starting strength, so which class survives is decided by
    training, not by a lucky draw (with Gaussian class means the weakest of K random directions starts
    near 0, and for M >= 2 the origin attracts it). Nothing is aligned with the targets: the starting
    fits W H̄ᵀ form a random orthogonal matrix.
    """
    u, v = ref
    R, d1 = len(rho), widths[0]
    y = class_labels(n)
    amp = (rho * v)[:, None, None] / torch.as_tensor(n, dtype=dtype).sqrt()[y][None, :, None]   # (R, N, 1)
    means = _orthogonal(R, K, d1, g, dtype)[:, y, :]
    H = amp * (means + torch.randn(R, len(y), d1, generator=g, dtype=dtype) / math.sqrt(d1))
    layers = [(rho * u)[:, None, None] * _orthogonal(R, d_out, d_in, g, dtype)
              for d_in, d_out in zip(widths, widths[1:] + [K])]
    return H, layers


def _pack(H, layers, b):
    R = H.shape[0]
    parts = [H.reshape(R, -1)] + [W.reshape(R, -1) for W in layers] + ([] if b is None else [b])
    return torch.cat(parts, 1)


def _unpack(x, N, widths, K, bias):
    R = x.shape[0]
    shapes = [(N, widths[0])] + list(zip(widths[1:] + [K], widths))
    out, o = [], 0
    for a, c in shapes:
        out.append(x[:, o:o + a * c].reshape(R, a, c))
        o += a * c
    return out[0], out[1:], (x[:, o:o + K] if bias else None)


def _ranks(H, layers, y, n, K, rtol=1e-7):
    """Number of fitted modes of each restart: rank of W H̄ᵀ D^{1/2} (singular values > rtol · largest,
    largest over the whole batch so that a fully collapsed restart has rank 0) and its zero rows of W."""
    W = layers[0]
    for Wm in layers[1:]:
        W = Wm @ W
    onehot = F.one_hot(y, K).to(H.dtype)                              # (N, K)
    Hbar = (onehot.T @ H) / torch.as_tensor(n, dtype=H.dtype, device=H.device)[:, None]
    A = (W @ Hbar.transpose(1, 2)) * torch.as_tensor(n, dtype=H.dtype, device=H.device).sqrt()
    sv = torch.linalg.svdvals(A)
    ranks = (sv > rtol * sv.max().clamp_min(torch.finfo(H.dtype).tiny)).sum(1).tolist()
    w = W.norm(dim=2)
    small = w <= rtol * w.max().clamp_min(torch.finfo(H.dtype).tiny)
    collapsed = [tuple(int(k) for k in torch.nonzero(small[r]).flatten()) for r in range(W.shape[0])]
    return ranks, collapsed


def _group_minima(objectives, ranks, collapsed, rtol):
    """Cluster restarts whose final objectives agree to ``rtol`` (relative); best first."""
    order = sorted(range(len(objectives)), key=lambda r: objectives[r])
    groups = []
    for r in order:
        if groups and abs(objectives[r] - groups[-1][0]) <= rtol * max(1.0, abs(groups[-1][0])):
            groups[-1][1].append(r)
        else:
            groups.append((objectives[r], [r]))
    return [Minimum(objective=f, restarts=tuple(rs), rank=ranks[rs[0]], collapsed=collapsed[rs[0]])
            for f, rs in groups]


def _check_lbfgs_memory(R, P, N, widths, K, device, dtype):
    """The memory guard of a batched L-BFGS run: the 2 x 20 curvature pairs and about 12 more vectors of
    (R, P) numbers, and the forward pass of the objective with its gradient (about 3 x (R, N, widths + K))."""
    item = torch.finfo(dtype).bits // 8
    check_memory(item * R * (52 * P + 3 * N * (sum(widths) + K)), device=device,
                 what=f"a deep linear UFM run with K={K} classes, N={N} samples, widths {widths[:4]}"
                      f"{'...' if len(widths) > 4 else ''}, restarts={R} ({P} parameters per restart)",
                 fix="Use fewer classes or samples, narrower layers, fewer restarts, dtype=torch.float32, "
                     "or a GPU with more memory.")


@interruptible
def train_deep_linear_ufm(n, d=None, *, M: int = 1, lam_W: float = 5e-3, lam_H: float = 5e-3,
                          loss: str = "mse", bias: bool = False, restarts: int = 16, init_scale=(0.1, 4.0),
                          seed: int = 0, max_iter: int = 3000, gtol: float | None = None,
                          minima_rtol: float = 1e-8, allow_narrow: bool = False, device=None,
                          dtype=None, progress: bool = False) -> DeepLinearResult:
    """Train the deep linear UFM (module docstring) for class sizes ``n`` with ``restarts`` runs in one batch.

    ``d``: the widths d_1..d_M (an int for all, default K); each must be >= K (>= K-1 with ``bias``)
    unless ``allow_narrow``. ``init_scale`` ``(lo, hi)`` (or one number): restart r starts at scale ρ_r,
    log-spaced from lo to hi, in units of :func:`reference_scale`: layers ρ_r·u times random
    (semi-)orthogonal matrices, features = random orthogonal class means plus isotropic noise, both of
    length about ρ_r·v/sqrt(n_k), bias 0. For M >= 2 small starts end with too many collapsed classes and
    large ones with too few, so the restarts span both. Every restart runs batched L-BFGS until its
    gradient norm is <= ``gtol`` (default 1.5e-10 in float64), it is flat to rounding, or ``max_iter``.
    Returns the restart with the lowest objective; ``.minima`` lists every distinct minimum reached
    (objectives equal to ``minima_rtol``) and ``.report()`` prints them.

    With the defaults, K = 4, n = (200, 100, 50, 50), M = 1, 2, 3 and λ_W = λ_H in [0.005, 0.02] take
    0.1-2 s on a CPU and reach the closed form to ~1e-9 (lesson 07). Reaching the global minimum is not
    guaranteed for M >= 2; the closed form (:mod:`gnc_teach.imbalance`) says whether it was. In a stress
    sweep (144 settings: K = 4, M = 2, 3, λ_W/λ_H in {0.1, 1, 10}, thresholds next to class sizes, with and
    without bias, d = K) 3 missed it; all 3 reached it with one more width (d = K + 1), presumably
    because a spare dimension lets the starting fits W H̄ᵀ (a random orthogonal matrix, possibly with
    determinant -1) turn into the optimum without passing a mode through 0.

    ``progress=True`` shows a progress bar over the iterations; Ctrl-C returns the restarts as they are then
    (``.interrupted``; the minima listed are then only where training stopped).
    """
    n = check_class_sizes(n)
    K, N = len(n), int(n.sum())
    M = check_int(M, "M", minimum=1)
    lam_W = check_positive(lam_W, "lam_W", allow_zero=True)
    lam_H = check_positive(lam_H, "lam_H", allow_zero=True)
    loss = _check_loss(loss)
    bias = check_bool(bias, "bias")
    widths = _widths(d, K, M, bias, allow_narrow)
    restarts = check_int(restarts, "restarts", minimum=1)
    if isinstance(init_scale, (numbers.Real, np.floating)) and not isinstance(init_scale, bool):
        init_scale = (init_scale, init_scale)
    lo, hi = check_pair(init_scale, "init_scale", example="(0.1, 4.0)")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    gtol = None if gtol is None else check_positive(gtol, "gtol")
    minima_rtol = check_positive(minima_rtol, "minima_rtol", allow_zero=True)
    g = generator(seed)
    device, dtype = resolve(device, dtype)
    P = N * widths[0] + sum(a * b for a, b in zip(widths, widths[1:] + [K])) + (K if bias else 0)
    _check_lbfgs_memory(restarts, P, N, widths, K, device, dtype)
    _check_lbfgs_memory(restarts, P, N, widths, K, torch.device("cpu"), torch.float64)   # the start, drawn on the CPU

    scales = torch.logspace(math.log10(lo), math.log10(hi), restarts, dtype=torch.float64)
    H0, layers0 = _init(scales, reference_scale(n, lam_W, lam_H, M), n, widths, K, g, torch.float64)
    b0 = torch.zeros(restarts, K, dtype=torch.float64) if bias else None
    x0 = _pack(H0, layers0, b0).to(device=device, dtype=dtype)
    y = class_labels(n, device=device)

    def fun(x):
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            f = _objective(*_unpack(x, N, widths, K, bias), y, lam_W, lam_H, loss)
            grad, = torch.autograd.grad(f.sum(), x)
        return f.detach(), grad

    t0 = time.perf_counter()
    with progress_bar(progress, max_iter, f"train_deep_linear_ufm(K={K}, M={M})", unit="it") as bar, \
            one_cpu_thread(device.type == "cpu" and x0.numel() <= 400_000):
        x, f, grad, iters = batched_lbfgs(fun, x0, max_iter=max_iter, gtol=gtol, progress=bar, stop=current_stop())
    seconds = time.perf_counter() - t0
    H, layers, b = _unpack(x.detach(), N, widths, K, bias)
    objectives = f.cpu().tolist()
    gnorms = grad.norm(dim=1).cpu().tolist()
    ranks, collapsed = _ranks(H, layers, y, n, K)
    minima = _group_minima(objectives, ranks, collapsed, minima_rtol)
    best = minima[0].restarts[0]
    return DeepLinearResult(
        layers=[W[best] for W in layers], H=H[best], y=y, b=None if b is None else b[best],
        objective=objectives[best], grad_norm=gnorms[best], n=tuple(int(v) for v in n), M=M, lam_W=lam_W,
        lam_H=lam_H, loss=loss, restart_objectives=objectives, restart_grad_norms=gnorms,
        restart_ranks=ranks, minima=minima, best=best, iterations=int(iters.max()), seconds=seconds,
        init_scales=scales.tolist(), _batch=(H, layers, b))


def closed_form_errors(result: DeepLinearResult, optimum=None) -> dict:
    """How far a trained MSE result is from the closed-form optimum (:func:`imbalance.deep_linear_optimum`
    with the result's n, λ's, M and bias, unless ``optimum`` is given).

    Returns floats: ``w_norm2``, ``h_norm2``, ``inner`` the largest relative error |trained - predicted|
    / predicted over the classes predicted not to collapse; ``collapsed`` the largest trained value of
    ||w_k||², ||h̄_k||² or |<w_k, h̄_k>| over the classes predicted to collapse, relative to the largest
    predicted value of the same quantity (0 when none collapses); ``gram`` the larger of the relative
    Gram errors of W Wᵀ and of the class means against the predicted Grams; ``objective_gap`` trained F
    minus predicted F* (>= 0 up to rounding, since F* is the global minimum).
    """
    from ..imbalance import DeepLinearOptimum, deep_linear_optimum
    check_type(result, DeepLinearResult, "result", what="a DeepLinearResult (from train_deep_linear_ufm)")
    check_type(optimum, (DeepLinearOptimum, type(None)), "optimum", what="None or a DeepLinearOptimum")
    if result.loss != "mse":
        raise ValueError("the closed forms are for loss='mse'; this result was trained with loss='ce'.")
    if optimum is None:
        optimum = deep_linear_optimum(result.n, result.lam_W, result.lam_H, result.M, bias=result.b is not None)
    trained = result.lengths()
    predicted = (optimum.w_norm2, optimum.h_norm2, optimum.inner)
    alive, out, worst_collapsed = ~optimum.collapsed, {}, 0.0
    for key, t, p in zip(("w_norm2", "h_norm2", "inner"), trained, predicted):
        out[key] = float(np.max(np.abs(t[alive] - p[alive]) / np.abs(p[alive]))) if alive.any() else 0.0
        if optimum.collapsed.any():
            scale = max(float(np.max(np.abs(p))), np.finfo(np.float64).tiny)
            worst_collapsed = max(worst_collapsed, float(np.max(np.abs(t[optimum.collapsed]))) / scale)
    out["collapsed"] = worst_collapsed
    W = result.W.cpu()
    means = result.class_means.cpu()
    grams = [metrics.gram_error(A, torch.as_tensor(G)) for A, G in ((W, optimum.W_gram), (means, optimum.H_gram))
             if np.abs(G).max() > 0]
    out["gram"] = max(grams) if grams else 0.0
    out["objective_gap"] = result.objective - optimum.objective
    return out
