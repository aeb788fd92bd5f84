"""Numerical spherical codes: softmax codes (max rho), Tammes codes (max min angle), Thomson/Riesz codes.

A code is ``W (K, d)`` with unit rows. Every solver works in two phases:

1. **smooth, batched**: all ``restarts`` start as ONE tensor ``(R, K, d)`` on the device and follow
   Riemannian Adam on an annealed smooth surrogate (:mod:`gnc_teach._solvers.sphere_opt`). Small float64 codes
   on a CPU (K^2 d <= 20,000) run the same method compiled, restart by restart
   (:mod:`gnc_teach._solvers.sphere_kernels`, numba), since there torch's per-op dispatch costs more than the
   arithmetic;
2. **exact, float64**: the best restart of each of the best few basins is polished on its
   near-binding constraints (:mod:`gnc_teach._solvers.polish`: SLSQP for the max-min problems, L-BFGS for
   energies) and re-evaluated exactly with :func:`gnc_teach.margins.one_vs_rest_distance`; small
   Tammes codes then get a round of monotonic basin hopping (perturb, re-polish, keep if better).

Results are **best found**, not proved optima, unless ``(K, d)`` has a proved closed form (d = 2,
K <= d+1, or d+2 <= K <= 2d for rho; lesson 02), and the result says which (``.status``) with the
gap to the upper bound (``.gap``) and first-order certificates (``.certificate``).

Scale. The smooth phase never forms a K x K matrix: the soft-min is a blockwise online log-sum-exp,
memory O(R (K d + chunk^2)), time O(R K^2 d) per step. The dense SLSQP polish runs only when
2 K d + 1 <= 451 (larger codes keep the smooth optimum; rho is still evaluated exactly). Measured on
the project's 2-core CPU: d = 10, K = 100 in ~3 s (rho 0.668418), K = 200 in ~6 s (rho 0.545410),
K = 250 in <= 10 s with the defaults (d = 3 or 32); K = 20,000, d = 64: 1.7-8.3 s per soft-min evaluation in
float32 (tau = 0.3 and 2e-4); ``softmax_code(20000, 64, restarts=1, steps=5, polish=False, dtype=torch.float32)``
took 99 s in all (smooth steps + exact rho + energy) with 1.42 GiB peak RSS (a K x K float64 matrix
alone is 3.2 GB).
On a GPU the same code runs unchanged (``device="cuda"``); the cost is one (K x K x d) matmul pair per
step per restart, so K = 100,000, d = 512 is ~10^13 flops per step: expect seconds per step on a
large GPU (not measured here: this project had no GPU). The exact rho evaluation at the end is a
separate cost (see :func:`gnc_teach.margins.one_vs_rest_distance`).

Bounded memory and time. Before phase 1 the solvers estimate its buffers (restarts x K x d Adam states,
chunk x chunk blocks) and refuse, with the size and a number of restarts that would fit, when they
exceed the available memory (:mod:`gnc_teach._memory`). ``progress=True`` shows a progress bar; Ctrl-C
(or Jupyter's interrupt) ends phase 1 at the next step and returns the best code so far, evaluated
exactly, with ``.interrupted = True`` (:mod:`gnc_teach._stop`; a second Ctrl-C stops at once).
"""
from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from ._memory import check_memory, format_bytes
from ._solvers import polish as _polish
from ._solvers.sphere_opt import normalize, riemannian_adam, riesz_energy_grad, softmin_margins
from ._stop import current_stop, interruptible
from ._stop import progress_bar as _bar
from ._tensor import (as_matrix, check_int, check_pair, check_positive, check_seed, compiled_kernels,
                      one_cpu_thread, power_of_two_scale, resolve, unit_rows)
from .geometry import random_sphere
from .margins import known_rho_star, one_vs_rest_distance, rho_upper_bound

__all__ = ["CodeResult", "softmax_code", "tammes_code", "thomson_code", "riesz_energy", "describe_code"]

F64 = torch.float64


@dataclass
class CodeResult:
    """A numerical code and its certified numbers.

    ``W (K, d)`` unit rows (device/dtype as asked); ``rho`` = min_k dist(w_k, conv others) (exact,
    float64); ``min_angle`` in degrees; ``energy`` = Riesz s-energy (s = 1 unless ``thomson_code(s=...)``);
    ``upper_bound`` = rho_upper_bound(K, d); ``gap`` = upper_bound - rho (for softmax codes);
    ``status`` = "proved optimal (...)" only for proved closed forms, else "best found";
    ``certificate``: dict of residuals (KKT residual of the polish, binding constraints, the
    one-vs-rest duality gap of the rho evaluation); ``interrupted``: True when Ctrl-C ended the search
    early (the code is the best found until then, its numbers exact).
    """

    W: torch.Tensor
    rho: float
    min_angle: float
    energy: float
    upper_bound: float
    gap: float
    certificate: dict = field(default_factory=dict)
    restarts: int = 1
    seconds: float = 0.0
    kind: str = "softmax"
    status: str = "best found"
    s: float = 1.0
    interrupted: bool = False

    @property
    def K(self) -> int:
        return int(self.W.shape[0])

    @property
    def d(self) -> int:
        return int(self.W.shape[1])

    def summary(self) -> str:
        """A few human-readable lines (what the CLI prints)."""
        return (f"{self.kind} code K={self.K} d={self.d} ({self.status})\n"
                f"  rho        = {self.rho:.12f}   (upper bound {self.upper_bound:.12f}, gap {self.gap:.3e})\n"
                f"  min angle  = {self.min_angle:.9f} deg\n"
                f"  energy     = {self.energy:.12f}  (Riesz s={self.s:g})\n"
                f"  restarts   = {self.restarts}, time {self.seconds:.2f} s"
                + ("\n  interrupted: the best code found before Ctrl-C" if self.interrupted else ""))

    def to_dict(self, *, with_W: bool = True) -> dict:
        """JSON-ready dict (W as a list of rows); NaN and infinite numbers (an energy of coincident rows)
        become None, since JSON has no such values."""
        finite = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v   # noqa: E731
        out = {"kind": self.kind, "K": self.K, "d": self.d, "rho": self.rho, "min_angle": self.min_angle,
               "energy": self.energy, "s": self.s, "upper_bound": self.upper_bound, "gap": self.gap,
               "status": self.status, "restarts": self.restarts, "seconds": self.seconds,
               "interrupted": self.interrupted}
        out = {k: finite(v) for k, v in out.items()}
        out["certificate"] = {k: finite(v) for k, v in self.certificate.items()}
        if with_W:
            out["W"] = self.W.detach().cpu().double().tolist()
        return out


# ----------------------------------------------------------------------------- shared helpers
def riesz_energy(W, *, s: float = 1.0) -> float:
    """Riesz s-energy ``sum_{i<j} ||w_i - w_j||^{-s}`` of the rows of ``W (K, d)`` in float64
    (``s = 0``: logarithmic energy ``-sum log ||w_i - w_j||``). Coincident rows give ``inf``.

    A code far from unit size is divided by a power of two c first (exact) and the energy scaled back,
    E_s(cW) = c^-s E_s(W) (s = 0: minus K(K-1)/2 log c), so neither 1e160 W nor 1e-200 W overflows."""
    W = as_matrix(W, "W", min_rows=2)
    s = check_positive(s, "s", allow_zero=True)
    X = W.detach().cpu().double()
    c = power_of_two_scale(X)
    c = 1.0 if 2.0 ** -8 <= c <= 2.0 ** 8 else c
    with np.errstate(divide="ignore"):
        E = _polish.riesz_energy_np((X / c).numpy(), s)
    if c == 1.0:
        return E
    if s == 0:
        return E - W.shape[0] * (W.shape[0] - 1) / 2 * math.log(c)
    try:
        return E * math.exp(-s * math.log(c)) if E != 0 else 0.0
    except OverflowError:
        return math.inf


def _exact_rho(Wnp: np.ndarray):
    """Exact rho, per-class rho_k, margin directions and the duality gap (float64)."""
    det = one_vs_rest_distance(torch.as_tensor(Wnp, dtype=F64), return_details=True)
    rk = det.rho.double().cpu().numpy()
    return float(rk.min()), rk, det.h.double().cpu().numpy(), float((det.upper - det.lower).max())


def _rho_and_h(Wnp: np.ndarray):
    """``(rho, H)`` for the polish; ``(-inf, None)`` if the exact solver gives up (that step is rejected)."""
    try:
        # intermediate iterates only: the returned code is re-evaluated, and warned about, in describe_code
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            rho, _, H, _ = _exact_rho(Wnp)
    except RuntimeError:
        return -math.inf, None
    return rho, H


def _evaluable(Wnp: np.ndarray, seed: int = 0):
    """``(Wnp, rho, H)``: ``Wnp``, or a 1e-12 perturbation of it if the exact solver does not converge on
    it (degenerate ties), with its exact rho and margin directions; the returned matrix is the one
    that is evaluated and returned, so nothing is hidden."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        rho, H = _rho_and_h(Wnp)
        if math.isfinite(rho):
            break
        Wnp = _polish._unit(Wnp + 1e-12 * rng.standard_normal(Wnp.shape))
    return Wnp, rho, H




def _min_angle(Wnp: np.ndarray) -> float:
    return math.degrees(math.acos(float(np.clip(_polish.max_cos_blocks(Wnp), -1.0, 1.0))))


def describe_code(W, *, kind: str = "given", s: float = 1.0, certificate=None, restarts=1,
                  seconds=0.0) -> CodeResult:
    """Evaluate any code ``W (K, d)`` (rows are normalised): rho, min angle, energy, bound and status."""
    W = unit_rows(as_matrix(W, "W", min_rows=2), "W")
    s = check_positive(s, "s", allow_zero=True)
    Wnp = W.detach().cpu().double().numpy()
    K, d = Wnp.shape
    try:
        rho, _, _, dual_gap = _exact_rho(Wnp)
    except RuntimeError:                  # the exact solver gave up on a degenerate W: say so
        rho, dual_gap = math.nan, math.nan
    cert = {"one_vs_rest_gap": dual_gap}
    cert.update(certificate or {})
    ub = rho_upper_bound(K, d)
    star = known_rho_star(K, d)
    status = "best found"
    if kind in ("softmax", "given") and star is not None and abs(rho - star) <= 1e-9:
        status = f"proved optimal (closed form rho* = {star:.12g})"
    with np.errstate(divide="ignore"):
        energy = _polish.riesz_energy_np(Wnp, s)
    return CodeResult(W=W, rho=rho, min_angle=_min_angle(Wnp), energy=energy,
                      upper_bound=float(ub), gap=float(ub) - rho, certificate=cert, restarts=restarts,
                      seconds=seconds, kind=kind, status=status, s=s)


def _check_common(K, d, restarts, steps, seed, chunk, lr):
    """The options every solver shares, validated at the boundary; ``lr`` as a (start, end) pair."""
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=1)
    if restarts is not None:
        restarts = check_int(restarts, "restarts", minimum=1)
    if steps is not None:
        steps = check_int(steps, "steps", minimum=1)
    seed = check_seed(0 if seed is None else seed)
    chunk = check_int(chunk, "chunk", minimum=1)
    lr = check_pair(lr, "lr", example="(0.05, 1e-4)")
    return K, d, restarts, steps, seed, chunk, lr


def _check_phase_memory(K, d, R, m, chunk, device, dtype):
    """The memory guard of phase 1: ``R`` restarts of ``m`` unit rows in R^d (Adam states, gradients and
    their temporaries, about 12 copies) plus the (R, chunk, chunk) blocks of the soft-min, and the float64
    start drawn on the host."""
    item = torch.finfo(dtype).bits // 8
    c = min(chunk, K)
    per_restart = item * (12 * m * d + 4 * c * c) + 16 * m * d
    name = "float32" if dtype == torch.float32 else "float64"

    def fix(free):
        fits = int(0.8 * free // per_restart)       # leave room for everything else
        more = (f"restarts={fits} would fit; " if fits >= 1 else "") + \
            ("" if dtype == torch.float32 else "dtype=torch.float32 halves it; ")
        return (f"Use fewer restarts ({more}or a smaller K or d, or a GPU with more memory). "
                f"Each restart needs about {format_bytes(per_restart)}.")
    check_memory(R * per_restart, what=f"the smooth phase for K={K}, d={d} with restarts={R} ({name})",
                 fix=fix, device=device)


def _defaults(K, restarts, steps, fast):
    """Default batch size and steps: many cheap restarts for small K, fewer for large K."""
    if restarts is None:
        if fast:  # a step costs ~R K^2 d: bound R K^2 (d = 3, K = 30: 4 restarts found the record, 5 seeds of 5)
            restarts = max(4, min(16, 2 ** 13 // K ** 2))
        elif K <= 64:  # cheap restarts; at d=3, 32 of them missed the softmax records K = 21, 25, 29 (seed 0)
            restarts = min(128, max(32, 2 ** 17 // K ** 2))  # a step costs ~R K^2 d: bound R K^2
        else:
            restarts = max(4, min(32, 2048 // K))
    if steps is None:
        steps = 400 if fast else 1000
    return restarts, steps


def _top(top, R, K, fast, small):
    """How many of the best restarts are polished: ``small`` for K <= 64 (1 when ``fast``), else 1."""
    if top is not None:
        return min(R, check_int(top, "top", minimum=1))
    return min(R, 1 if fast or K > 64 else small)


@functools.cache
def _blas_pools():
    """numpy/scipy's BLAS and OpenMP pools, found once (a fresh scan of the loaded libraries costs ~1 ms
    per call, a third of a whole d = 3, K = 13 fast run's overhead)."""
    return ThreadpoolController()


def _small_problems_single_threaded(solver):
    """Run small CPU problems on one thread: OpenMP start-up and oversubscription (pytest -n 2 on two
    cores) cost far more than they save below ~1e8 flops per step (measured: 1.6 ms vs 108 ms/step)."""
    @functools.wraps(solver)
    def wrapped(K, d, **kw):
        small = isinstance(K, int) and isinstance(d, int) and 32 * K * K * d < 1e8
        try:
            on_cpu = resolve(kw.get("device"))[0].type == "cpu"   # None and "auto" included
        except (ValueError, TypeError):
            on_cpu = False                                        # the solver reports the bad device
        if not (small and on_cpu):
            return solver(K, d, **kw)
        with one_cpu_thread(), _blas_pools().limit(limits=1):   # torch's and numpy/scipy's BLAS pools
            return solver(K, d, **kw)
    return wrapped


def _distinct_best(W, score, top, *, tol=1e-2, max_K=256):
    """Indices of the ``top`` highest-``score`` restarts of ``W (R, K, d)`` that lie in different basins.

    Near the end of phase 1 the soft-min cannot rank basins whose optima differ by less than ~1e-5
    (d = 3, K = 21: 0.3004980 vs the record 0.3005016, 9th of 128 by score). Restarts whose sorted
    pairwise cosines (invariant under rotations and permutations) agree within ``tol`` polish to the
    same code (measured there: within 5e-3 in a basin, 4e-2 between the two), so only the best of each
    is kept. Above ``max_K`` (K^2 work per restart) the plain best ``top`` are returned.
    """
    order = torch.argsort(score, descending=True).tolist()
    if top == 1 or W.shape[1] > max_K:
        return order[:top]
    iu = torch.triu_indices(W.shape[1], W.shape[1], 1, device=W.device)
    chosen, seen = [], []
    for r in order:
        Wr = normalize(W[r].double())
        sig = torch.sort((Wr @ Wr.T)[iu[0], iu[1]]).values
        if all(float((sig - t).abs().max()) > tol for t in seen):
            chosen.append(r)
            seen.append(sig)
            if len(chosen) == top:
                break
    return chosen


def _taus(tau, spread, R, device, dtype, K):
    """``(start temperatures (R,), end temperature)``: starts log-spaced in [tau0/spread, tau0].

    ``spread=None``: 30 for K <= 64, 3 above. For large K the cold starts (tau0/30) end in poorer basins;
    measured at d=10 over seeds 0-4 (softmax, K=100): mean rho 0.6654 with spread 30, 0.6661 with 3;
    over seeds 0-3 (Tammes): mean min angle 70.407 vs 70.433 deg at K=100, 62.946 vs 62.963 at K=200.
    """
    if spread is None:
        spread = 30.0 if K <= 64 else 3.0
    t0, t1 = check_pair(tau, "tau", example="(0.3, 2e-4)")
    spread = check_positive(spread, "tau_spread")
    lo = math.log(t0 / max(spread, 1.0))
    starts = torch.exp(torch.linspace(lo, math.log(t0), R, dtype=F64)) if R > 1 else torch.tensor([t0], dtype=F64)
    return starts.to(device=device, dtype=dtype), t1


def _start(K, d, R, seed, device, dtype):
    return random_sphere(K, d, seed=seed, batch=R, device=device, dtype=dtype)


#: the compiled smooth phase runs when K^2 d is at most this (CPU, float64): measured per call on one
#: thread, 7x faster than torch at d = 3, K = 13, 2x at K = 64, even at d = 10, K = 100 (K^2 d = 1e5)
COMPILED_MAX_K2D = 20_000


def _kernels():
    """The compiled smooth phase (:mod:`._solvers.sphere_kernels`), or None: then the torch path runs."""
    return compiled_kernels("_solvers.sphere_kernels")


#: successive pruning in the compiled smooth phase (``prune=True``): after PRUNE_AT of the steps only
#: the restarts with min margin m_r >= max m - PRUNE_C tau_r run on. Measured with the fast defaults
#: (400 steps; 60 seeds of d = 3, K = 5..30 to choose, then fresh seeds): the best restart of the
#: unpruned run was dropped in 1 of 1040 runs (d = 3, by 6e-6), 1 of 540 (d = 4, 2e-5), 0 of 930
#: (d = 2, 5), 0 of 780 (Tammes, d = 3); d = 3, K = 13 runs 30% fewer restart-steps
PRUNE_AT, PRUNE_C = 5 / 8, 2.0


def _smooth_phase(X0, *, steps, lr, tau, tied, chunk, bar, prune=False, stop=None):
    """Phase 1 for all restarts ``X0 (R, m, d)`` (softmax: rows W then H; ``tied``: Tammes, H = W):
    Riemannian Adam on the soft-min of the margins, annealed. Returns ``(X, min margin per restart)``.
    Small float64 CPU problems run the compiled kernel (same method, restart by restart; with
    ``prune``, restarts far behind after PRUNE_AT of the steps stop there), the rest the batched
    torch path (GPU, float32, large K; every restart runs to the end). ``stop`` (a
    :class:`gnc_teach._stop.Stop`) ends the torch path early, at a step boundary."""
    R, m, d = X0.shape
    K = m if tied else m // 2
    taus, t1 = tau
    small = X0.device.type == "cpu" and X0.dtype == F64 and K * K * d <= COMPILED_MAX_K2D
    if small and _kernels() is not None:
        prune_at = int(PRUNE_AT * steps) if prune else 0
        # every argument given: numba's dispatcher takes a ~0.25 ms slow path when defaults are left out
        X, proxy = _kernels().adam_softmin(X0.contiguous().numpy(), steps, float(lr[0]), float(lr[1]),
                                           taus.contiguous().numpy(), float(t1), tied, False, prune_at,
                                           PRUNE_C, 0.9, 0.999, 1e-12)
        if bar is not None:
            bar.update(steps)
        return torch.from_numpy(X), torch.from_numpy(proxy)

    def ascent(X, t):
        if tied:
            _, _, gW, gH = softmin_margins(X, X, t, chunk=chunk)
            return gW + gH
        _, _, gW, gH = softmin_margins(X[:, :K], X[:, K:], t, chunk=chunk)
        return torch.cat([gW, gH], 1)

    with torch.no_grad():
        X = riemannian_adam(X0, ascent, steps=steps, lr=lr, tau=tau, progress=bar, stop=stop)
        W, H = (X, X) if tied else (X[:, :K], X[:, K:])
        _, proxy, _, _ = softmin_margins(W, H, t1, chunk=chunk)
    return X, proxy


# ----------------------------------------------------------------------------- softmax codes
@interruptible
@_small_problems_single_threaded
def softmax_code(K: int, d: int, *, restarts: int | None = None, seed: int = 0, device=None, dtype=None,
                 steps: int | None = None, fast: bool = False, polish: bool = True, top: int | None = None,
                 lr=(0.05, 1e-4), tau=(0.3, 2e-4), tau_spread: float | None = None, chunk: int = 2048,
                 h_start: str = "w", progress: bool = False) -> CodeResult:
    """A softmax code: K unit rows in R^d maximising rho(W) = min_k dist(w_k, conv{w_j : j != k}).

    Phase 1 maximises the soft-min over (k, j) of the margins <w_k - w_j, h_k> over unit W and unit
    per-class directions H (its maximum is rho*, by margin duality) for all restarts at once, with the
    temperature annealed to ``tau[1]`` from start values log-spaced over the restarts in
    ``[tau[0]/tau_spread, tau[0]]`` (different start temperatures fall into different basins; default
    spread 30 for K <= 64, 3 above). ``h_start="w"`` starts each h_k at w_k (the margins start at
    1 - <w_j, w_k>, so the ascent begins like a Tammes ascent); ``h_start="random"`` draws H independently
    of W, so a run that still ends at a Tammes code is independent evidence for that code. Phase 2 polishes the best restart of each of the ``top`` best
    distinct basins with SLSQP on the near-binding margin constraints (float64) and re-evaluates rho
    exactly. ``fast=True`` uses fewer steps and restarts and polishes only the best (for lessons); its
    compiled smooth phase also stops the restarts that are far behind after 5/8 of the steps
    (:data:`PRUNE_AT`; measured to keep the best restart in 1039 of 1040 runs at d = 3).
    Returns a :class:`CodeResult`; the value is a certified lower bound
    rho(W) <= rho*(d, K) <= ``upper_bound``, "best found" unless proved.
    """
    K, d, restarts, steps, seed, chunk, lr = _check_common(K, d, restarts, steps, seed, chunk, lr)
    if h_start not in ("w", "random"):
        raise ValueError(f"h_start must be 'w' (start H at W) or 'random' (H independent of W), got {h_start!r}")
    device, dtype = resolve(device, dtype)
    R, steps = _defaults(K, restarts, steps, fast)
    top = _top(top, R, K, fast, 3)
    taus = _taus(tau, tau_spread, R, device, dtype, K)
    _check_phase_memory(K, d, R, 2 * K, chunk, device, dtype)
    t0 = time.perf_counter()

    W0 = _start(K, d, R, seed, device, dtype)
    # H = W: margins start at 1 - <w_j, w_k> (Tammes-like); random: a different stream of the same seed
    H0 = W0 if h_start == "w" else _start(K, d, R, seed + 2**31, device, dtype)
    X0 = torch.cat([W0, H0], 1)

    stop = current_stop()
    with _bar(progress, steps, f"softmax K={K} d={d}") as bar:
        X, proxy = _smooth_phase(X0, steps=steps, lr=lr, tau=taus, tied=False, chunk=chunk, bar=bar,
                                 prune=fast and top == 1, stop=stop)
    order = _distinct_best(X[:, :K], proxy, top)
    best = None
    for r in order:
        if best is not None and stop():     # after Ctrl-C: the best restart only, unpolished
            break
        Wr = _polish._unit(X[r, :K].detach().cpu().double().numpy())
        info = {}
        polished = polish and not stop()
        if polished:
            # phase 1's min margin (a lower bound on rho(Wr): its h_k are unit) and its H start the polish;
            # the smooth optimum is near-degenerate, where the exact evaluation takes its slow route
            Hr = _polish._unit(X[r, K:].detach().cpu().double().numpy())
            Wnp, rho, H, info = _polish.polish_softmax(Wr, _rho_and_h, start=(float(proxy[r]), Hr))
        if not polished or Wnp is Wr:        # no polished round was kept: evaluate Wr exactly
            Wnp, rho, H = _evaluable(Wr)
        if best is None or rho > best[1]:
            best = (Wnp, rho, H, info)
    Wnp, rho, H, info = best
    W = torch.as_tensor(Wnp, dtype=F64).to(device=device, dtype=dtype)
    Wq = W.detach().cpu().double().numpy()               # what is returned (float32 rounds it)
    if not np.array_equal(Wq, Wnp):
        rho, H = _rho_and_h(Wq)
    cert = dict(info)
    cert["smooth_lower_bound"] = float(proxy.max())
    if K * d <= 400 and H is not None and ("kkt_residual" not in cert or not np.array_equal(Wq, Wnp)):
        kkt, nb = _polish.softmax_kkt(Wq, H, rho)
        cert.update({"kkt_residual": kkt, "binding_pairs": nb})
    res = describe_code(W, kind="softmax", certificate=cert, restarts=R, seconds=time.perf_counter() - t0)
    res.seconds = time.perf_counter() - t0
    return res


# ----------------------------------------------------------------------------- Tammes codes
@interruptible
@_small_problems_single_threaded
def tammes_code(K: int, d: int, *, restarts: int | None = None, seed: int = 0, device=None, dtype=None,
                steps: int | None = None, fast: bool = False, polish: bool = True, top: int | None = None,
                hops: int | None = None, lr=(0.05, 1e-4), tau=(0.3, 2e-4), tau_spread: float | None = None,
                chunk: int = 2048, progress: bool = False) -> CodeResult:
    """A Tammes code: K unit rows maximising the minimal pairwise angle (minimising max_{i != j} <x_i, x_j>).

    Phase 1: soft-max of the cosines, -tau log sum_{i != j} exp(<x_i, x_j>/tau)... maximised as a
    soft-min of ``1 - <x_i, x_j>`` over all restarts at once; phase 2: SLSQP on the near-binding pairs
    (float64); phase 3: ``hops`` rounds of monotonic basin hopping from the best polished code
    (perturb, re-polish, keep if better; default 64 when K d <= 96 and not ``fast``, else 0). Start
    temperatures and ``fast=True`` as in :func:`softmax_code` (``tau_spread`` default: 30 for K <= 64, 3
    above). ``.min_angle`` is the objective; ``.rho`` is reported too (rho >= 1 - max cos).
    """
    K, d, restarts, steps, seed, chunk, lr = _check_common(K, d, restarts, steps, seed, chunk, lr)
    device, dtype = resolve(device, dtype)
    R, steps = _defaults(K, restarts, steps, fast)
    top = _top(top, R, K, fast, 3)
    if hops is None:  # cheap for small codes (~0.1 s per hop at K = 30, d = 3)
        hops = 64 if K * d <= 96 and not fast else 0
    hops = check_int(hops, "hops", minimum=0)
    taus = _taus(tau, tau_spread, R, device, dtype, K)
    _check_phase_memory(K, d, R, K, chunk, device, dtype)
    t0 = time.perf_counter()

    stop = current_stop()
    with _bar(progress, steps, f"tammes K={K} d={d}") as bar:
        X, proxy = _smooth_phase(_start(K, d, R, seed, device, dtype), steps=steps, lr=lr, tau=taus, tied=True,
                                 chunk=chunk, bar=bar, prune=fast and top == 1, stop=stop)
    best = None
    for r in _distinct_best(X, proxy, top):
        if best is not None and stop():     # after Ctrl-C: the best restart only, unpolished
            break
        Xnp = _polish._unit(X[r].detach().cpu().double().numpy())
        info = {}
        if polish and not stop():
            Xnp, info = _polish.polish_tammes(Xnp)
        mc = _polish._max_cos(Xnp)
        if best is None or mc < best[1]:
            best = (Xnp, mc, info)
    Xnp, _, info = best
    if polish and hops and not stop():
        Xnp, accepted = _polish.hop_tammes(Xnp, hops=hops, seed=seed)
        info = dict(info, hops=hops, hops_accepted=accepted)
    W = torch.as_tensor(Xnp, dtype=F64).to(device=device, dtype=dtype)
    cert = dict(info)
    if K * d <= 400:
        kkt, nb = _polish.tammes_kkt(W.detach().cpu().double().numpy())
        cert.update({"kkt_residual": kkt, "binding_pairs": nb})
    res = describe_code(W, kind="tammes", certificate=cert, restarts=R)
    res.status = _tammes_status(K, d, res.min_angle)
    res.seconds = time.perf_counter() - t0
    return res


def _tammes_status(K, d, angle):
    """Proved Tammes optima with a closed form: d = 2 (polygon), K <= d+1 (simplex), d+2 <= K <= 2d (90°)."""
    if d == 2:
        target = 360.0 / K
    elif K <= d + 1:
        target = math.degrees(math.acos(-1.0 / (K - 1)))
    elif K <= 2 * d:
        target = 90.0
    else:
        return "best found"
    return f"proved optimal (closed form {target:.9g} deg)" if abs(angle - target) <= 1e-7 else "best found"


# ----------------------------------------------------------------------------- Thomson / Riesz codes
@interruptible
@_small_problems_single_threaded
def thomson_code(K: int, d: int, *, s: float = 1.0, restarts: int | None = None, seed: int = 0, device=None,
                 dtype=None, steps: int | None = None, fast: bool = False, polish: bool = True,
                 top: int | None = None, lr=(0.02, 1e-4), chunk: int = 2048, progress: bool = False) -> CodeResult:
    """A Thomson (Riesz s-energy) code: K unit rows minimising E_s = sum_{i<j} ||x_i - x_j||^{-s} (s > 0).

    Phase 1: Riemannian Adam on -E_s for all restarts at once; phase 2: L-BFGS (float64) on the
    ``top`` lowest-energy restarts. ``.energy`` is E_s at the given ``s``; the tangent-gradient norm is
    in ``.certificate["grad_norm"]``.
    """
    K, d, restarts, steps, seed, chunk, lr = _check_common(K, d, restarts, steps, seed, chunk, lr)
    s = check_positive(s, "s")
    device, dtype = resolve(device, dtype)
    R, steps = _defaults(K, restarts, steps, fast)
    top = _top(top, R, K, fast, 4)
    _check_phase_memory(K, d, R, K, chunk, device, dtype)
    t0 = time.perf_counter()

    def ascent(X, _t):
        return -riesz_energy_grad(X, s, chunk=chunk)[1]

    stop = current_stop()
    with _bar(progress, steps, f"thomson K={K} d={d}") as bar, torch.no_grad():
        X = riemannian_adam(_start(K, d, R, seed, device, dtype), ascent, steps=steps, lr=lr,
                            tau=(1.0, 1.0), progress=bar, stop=stop)
        E, _ = riesz_energy_grad(X, s, chunk=chunk)
    best = None
    for r in torch.argsort(E)[:top].tolist():
        if best is not None and stop():     # after Ctrl-C: the best restart only, unpolished
            break
        Xnp = _polish._unit(X[r].detach().cpu().double().numpy())
        info = {}
        if polish and K * K * d <= 5e7 and not stop():      # dense pair lists in the L-BFGS polish
            Xnp, info = _polish.polish_riesz(Xnp, s)
        e = _polish.riesz_energy_np(Xnp, s)
        if best is None or e < best[1]:
            best = (Xnp, e, info)
    Xnp, _, info = best
    W = torch.as_tensor(Xnp, dtype=F64).to(device=device, dtype=dtype)
    res = describe_code(W, kind="thomson", s=s, certificate=dict(info), restarts=R)
    if d == 2 or K <= d + 1:
        star = _polish.riesz_energy_np(_polygon_or_simplex(K, d), s)
        if abs(res.energy - star) <= 1e-9 * star:
            res.status = "proved optimal (regular polygon / simplex)"
    res.seconds = time.perf_counter() - t0
    return res


def _polygon_or_simplex(K, d):
    from .geometry import regular_polygon, simplex_etf
    return (regular_polygon(K) if d == 2 and K > d + 1 else simplex_etf(K, d)).double().numpy()
