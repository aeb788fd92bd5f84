"""Numerical spherical codes: softmax codes (max rho), Tammes codes (max min angle), Thomson/Riesz codes.

A code is ``W (K, d)`` with unit rows. Every solver works in two phases:

1. **smooth, batched**: all ``restarts`` start as ONE tensor ``(R, K, d)`` on the device and follow
   Riemannian Adam on an annealed smooth surrogate (:mod:`gnc_teach._solvers.sphere_opt`). Small float64 codes
   on a CPU (K^2 d <= 10^6) run the same method compiled, restart by restart
   (:mod:`gnc_teach._solvers.sphere_kernels`, numba: vectorised loops and BLAS products, 2.4-5x faster than
   torch on one thread, measured up to that size);
2. **exact, float64**: the best restart of each of the best few basins is polished on its
   near-binding constraints (:mod:`gnc_teach._solvers.polish`: SLSQP for the max-min problems, L-BFGS for
   energies) and re-evaluated exactly with :func:`gnc_teach.margins.one_vs_rest_distance`; small
   Tammes codes then get a round of monotonic basin hopping (perturb, re-polish, keep if better).

That is the default: one fast shot, as the lessons use it. With a time ``budget`` (seconds) and/or an
``effort`` (rounds), every solver becomes an anytime search (:mod:`gnc_teach._solvers.anytime`): after the
first round it keeps improving with hop rounds (copies of the best code perturbed and descended again as
one batch, then polished: sequential linear programming for the max-min problems,
:mod:`gnc_teach._solvers.slp`, L-BFGS for energies) and fresh batches of restarts, stops at the budget, the
effort, a ``target`` value, a ``callback`` or Ctrl-C, and returns the best code found with how it was found
(``.rounds``, ``.hops``, ``.restarts``, ``.history``).

Results are **best found**, not proved optima, unless ``(K, d)`` has a proved closed form (d = 2,
K <= d+1, or d+2 <= K <= 2d for rho; lesson 02), and the result says which (``.status``) with the
gap to the upper bound (``.gap``) and first-order certificates (``.certificate``).

Scale. The torch smooth phase never forms a K x K matrix: the soft-min is a blockwise online log-sum-exp,
memory O(R (K d + chunk^2)), time O(R K^2 d) per step (the compiled kernel, K^2 d <= 10^6, holds two K x K
float64 matrices per thread: at most 8 MB each). The dense SLSQP polish runs only when
2 K d + 1 <= 451 (larger codes keep the smooth optimum; rho is still evaluated exactly). Measured on
the project's 2-core CPU: d = 10, K = 100 in ~0.9 s (rho 0.664462), K = 200 in ~1.5 s (rho 0.545501),
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

from ._solvers import anytime as _anytime
from ._memory import check_memory, format_bytes
from ._solvers import polish as _polish
from ._solvers import slp as _slp
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
    one-vs-rest duality gap of the rho evaluation).
    How it was found: ``restarts`` (random starts in all), ``seconds``; with a ``budget`` or an ``effort``
    also ``rounds`` (after the first), ``hops`` (perturbed copies of the best code descended again) and
    ``history``, the improvements as (seconds, value). ``interrupted``: True when Ctrl-C ended the search
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
    rounds: int = 0
    hops: int = 0
    interrupted: bool = False
    history: list = field(default_factory=list)

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
                + (f"\n  search     = {self.rounds} rounds after the first, {self.hops} hops"
                   if self.rounds or self.hops else "")
                + ("\n  interrupted: the best code found before Ctrl-C" if self.interrupted else ""))

    def to_dict(self, *, with_W: bool = True) -> dict:
        """JSON-ready dict (W as a list of rows); NaN and infinite numbers (an energy of coincident rows)
        become None, since JSON has no such values."""
        finite = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v   # noqa: E731
        out = {"kind": self.kind, "K": self.K, "d": self.d, "rho": self.rho, "min_angle": self.min_angle,
               "energy": self.energy, "s": self.s, "upper_bound": self.upper_bound, "gap": self.gap,
               "status": self.status, "restarts": self.restarts, "seconds": self.seconds,
               "rounds": self.rounds, "hops": self.hops, "interrupted": self.interrupted,
               "history": [list(h) for h in self.history]}
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
    chosen, seen = [], []
    for r in order:
        sig = _signature(W[r])
        if not _matches(sig, seen, tol):
            chosen.append(r)
            seen.append(sig)
            if len(chosen) == top:
                break
    return chosen


def _signature(Wr):
    """The sorted pairwise cosines of the rows of ``Wr (K, d)``: the same for codes that differ by a rotation
    or a relabelling, close for two codes in one basin (see :func:`_distinct_best`)."""
    Wr = normalize(Wr.double())
    iu = torch.triu_indices(Wr.shape[0], Wr.shape[0], 1, device=Wr.device)
    return torch.sort((Wr @ Wr.T)[iu[0], iu[1]]).values


def _matches(sig, seen, tol=1e-2):
    """Whether ``sig`` lies within ``tol`` (max abs) of one of the signatures ``seen``."""
    return any(float((sig - t).abs().max()) <= tol for t in seen)


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


#: the compiled smooth phase runs when K^2 d is at most this (CPU, float64), where the solvers run on one
#: thread (see _small_problems_single_threaded). Measured per restart-step on one thread, the default
#: batches: 4.7x faster than torch at d = 10, K = 64; 4.3x at K = 100; 4.0x at K = 200; 3.4x at K = 316;
#: 3.7x at d = 3, K = 577; 2.4x at d = 32, K = 200
COMPILED_MAX_K2D = 1_000_000


def _softmax_start(K, d, R, seed, h_start, device, dtype):
    """``(R, 2K, d)`` random starts of the softmax problem, rows W then H."""
    W0 = _start(K, d, R, seed, device, dtype)
    # H = W: margins start at 1 - <w_j, w_k> (Tammes-like); random: a different stream of the same seed
    H0 = W0 if h_start == "w" else _start(K, d, R, seed + 2**31, device, dtype)
    return torch.cat([W0, H0], 1)


def _kernels():
    """The compiled smooth phase (:mod:`._solvers.sphere_kernels`), or None: then the torch path runs."""
    return compiled_kernels("_solvers.sphere_kernels")


#: successive pruning in the compiled smooth phase (``prune=True``): after PRUNE_AT of the steps only
#: the restarts with min margin m_r >= max m - PRUNE_C tau_r run on. Measured with the fast defaults
#: (400 steps; 60 seeds of d = 3, K = 5..30 to choose, then fresh seeds): the best restart of the
#: unpruned run was dropped in 1 of 1040 runs (d = 3, by 6e-6), 1 of 540 (d = 4, 2e-5), 0 of 930
#: (d = 2, 5), 0 of 780 (Tammes, d = 3); d = 3, K = 13 runs 30% fewer restart-steps
PRUNE_AT, PRUNE_C = 5 / 8, 2.0


#: restarts per compiled call when a deadline is set (the budget is checked between calls)
DEADLINE_BATCH = 8


def _smooth_phase(X0, *, steps, lr, tau, tied, chunk, bar, prune=False, stop=None, deadline=None, search=False):
    """Phase 1 for all restarts ``X0 (R, m, d)`` (softmax: rows W then H; ``tied``: Tammes, H = W):
    Riemannian Adam on the soft-min of the margins, annealed. Returns ``(X, min margin per restart)``.
    Small float64 CPU problems run the compiled kernel (same method, restart by restart; with
    ``prune``, restarts far behind after PRUNE_AT of the steps stop there), the rest the batched
    torch path (GPU, float32, large K; every restart runs to the end). ``stop`` (a
    :class:`gnc_teach._stop.Stop`) ends the torch path early, at a step boundary. With a ``deadline``
    (``time.perf_counter()`` value) it raises :class:`~._solvers.anytime.OutOfTime` once that has passed
    (or Ctrl-C was pressed), checked every step (torch) or every :data:`DEADLINE_BATCH` restarts (compiled).
    ``search=True`` (the anytime searches, first round included) spreads the compiled restarts over all of
    numba's threads (the same numbers as on one thread)."""
    R, m, d = X0.shape
    K = m if tied else m // 2
    taus, t1 = tau
    small = X0.device.type == "cpu" and X0.dtype == F64 and K * K * d <= COMPILED_MAX_K2D
    if small and _kernels() is not None:
        prune_at = int(PRUNE_AT * steps) if prune and deadline is None else 0   # pruning needs the whole batch
        X0n, tn, parts = X0.contiguous().numpy(), taus.contiguous().numpy(), []
        step = R if deadline is None else DEADLINE_BATCH
        threads = search and _kernels().threads() > 1
        for a in range(0, R, step):
            _anytime.check_time(deadline)
            # every argument given: numba's dispatcher takes a ~0.25 ms slow path when defaults are left out
            if threads:
                parts.append(_kernels().adam_softmin_threads(X0n[a:a + step], steps, float(lr[0]), float(lr[1]),
                                                             tn[a:a + step], float(t1), tied, False, 0.9, 0.999, 1e-12))
            else:
                parts.append(_kernels().adam_softmin(X0n[a:a + step], steps, float(lr[0]), float(lr[1]),
                                                     tn[a:a + step], float(t1), tied, False, prune_at, PRUNE_C, 0.9,
                                                     0.999, 1e-12))
        X, proxy = (np.concatenate(p) for p in zip(*parts))
        if bar is not None:
            bar.update(steps)
        return torch.from_numpy(X), torch.from_numpy(proxy)

    def ascent(X, t):
        _anytime.check_time(deadline)
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


# ----------------------------------------------------------------------------- anytime search (budget=, effort=)
#: Hop rounds: HOP_BATCH copies of the best code with every row moved by Gaussian noise of scale
#: HOP_SCALES[r % 3] x its min angle (radians), descended again from a cold start (tau HOP_TAU -> tau[1],
#: HOP_STEPS steps, lr HOP_LR), the best HOP_TOP distinct ones polished. Every RESTART_EVERY-th round is a
#: fresh batch of restarts (new random starts) instead. Measured on Tammes codes in R^3 from the first
#: round's best code: N = 35 reached Sloane's angle after 10 hop rounds, N = 60 after 8 (scale 0.1 alone
#: took 40 single hops at N = 50; 0.3 hops did not improve N = 50 in 40 tries).
HOP_SCALES = (0.05, 0.1, 0.2)
HOP_BATCH, HOP_TOP, HOP_STEPS, HOP_TAU, HOP_LR = 32, 2, 300, 0.01, (0.01, 1e-4)
RESTART_EVERY = 4
#: every candidate a round would polish is first compared with the basins polished before in the search
#: (signatures as in :func:`_distinct_best`, the last BASIN_MEMORY of them, for K <= BASIN_MEMORY_MAX_K);
#: one seen before is skipped, since it cannot beat the best code. Most hops fall back into the best code's
#: basin. Measured at d = 3, N = 49 (seed 0, two threads): Sloane's record in round 160 both with and without
#: it, after 58 s instead of 97 s (re-polishing a known basin only finds it again)
BASIN_MEMORY, BASIN_MEMORY_MAX_K = 256, 256
#: Thomson hop rounds: THOMSON_HOPS single hops (every row moved by noise of scale THOMSON_SCALES[r % 3] x
#: the min distance, then L-BFGS), each kept if the energy drops (monotonic basin hopping)
THOMSON_SCALES = (0.1, 0.2, 0.4)
THOMSON_HOPS = 8
#: smooth-phase steps of the budgeted Thomson search (the L-BFGS polish finishes from rougher starts):
#: measured in CPU time to the record from effort=12 searches, N = 100: 6.1 s with the default 1000 steps,
#: 1.2 s with 200; N = 150: 13.0 s vs 2.8 s
THOMSON_SEARCH_STEPS = 200


def _anytime_options(budget, effort, target, callback):
    """The validated anytime options as keyword arguments of :func:`._solvers.anytime.search`, or None
    when neither a budget nor an effort is given (the default, one-shot solver)."""
    budget, effort, target, callback = _anytime.check_budget(budget, effort, target, callback)
    if budget is None and effort is None:
        if target is not None or callback is not None:
            raise ValueError("target and callback need a budget (seconds) or an effort (rounds) to search with.")
        return None
    return {"budget": budget, "effort": effort, "target": target, "callback": callback}


def _round_seed(seed, r):
    """The seed of round r's random numbers: a function of (seed, r) only, never of the clock."""
    return int(np.random.SeedSequence([seed, r]).generate_state(1)[0])


def _soft_search(K, d, *, tied, fresh, polish, hop_start, R, steps, lr, tau, chunk, top, seed, opts, desc, fmt,
                 progress, restart_every=RESTART_EVERY):
    """The anytime search of the two soft-min problems (Tammes: ``tied``; softmax: rows W then H).

    ``fresh(seed) -> X0 (R, m, d)``: random starts; ``polish(X (m, d), min margin, deadline) -> Candidate``:
    exact polish and value (larger is better); ``hop_start(payload) -> (X (m, d), min angle in radians)``. First
    round: the batched smooth phase from ``fresh(seed)`` and the polish of the ``top`` best distinct
    restarts; then hop rounds and, every ``restart_every``-th round, restart rounds (see :data:`HOP_SCALES`)."""
    taus = tau[0]
    polished = []    # signatures of the basins polished so far (most recent last, at most BASIN_MEMORY)

    def descend(X0, steps_, lr_, taus_, ntop, deadline):
        stop = current_stop()
        X, proxy = _smooth_phase(X0, steps=steps_, lr=lr_, tau=taus_, tied=tied, chunk=chunk, bar=None,
                                 stop=stop, deadline=deadline, search=True)
        best = None
        for r in _distinct_best(X[:, :K], proxy, ntop):
            if best is not None and stop():     # after Ctrl-C: the best restart only
                break
            sig = _signature(X[r, :K]) if K <= BASIN_MEMORY_MAX_K else None
            if sig is not None and _matches(sig, polished):
                continue                        # a basin polished before: it cannot beat the best code
            _anytime.check_time(deadline)
            c = polish(X[r].detach().cpu().double().numpy(), float(proxy[r]), deadline)
            if sig is not None:
                polished[:] = polished[-(BASIN_MEMORY - 1):] + [sig]
            best = c if best is None or c.value > best.value else best
        return _anytime.Candidate(None, -math.inf) if best is None else best   # None: only known basins

    def first():
        c = descend(fresh(seed), steps, lr, tau, top, None)
        c.restarts = R
        return c

    def next_round(r, best, deadline):
        if r % restart_every == restart_every - 1:
            c = descend(fresh(_round_seed(seed, r)), steps, lr, tau, top, deadline)
            c.restarts = R
            return c, "restarts"
        Xb, angle = hop_start(best.payload)
        sigma = HOP_SCALES[r % len(HOP_SCALES)] * angle
        noise = np.random.default_rng(_round_seed(seed, r)).standard_normal((HOP_BATCH,) + Xb.shape)
        X0 = normalize(torch.as_tensor(Xb[None] + sigma * noise, dtype=F64)).to(device=taus.device, dtype=taus.dtype)
        cold = (torch.full((HOP_BATCH,), HOP_TAU, dtype=taus.dtype, device=taus.device), tau[1])
        c = descend(X0, HOP_STEPS, HOP_LR, cold, HOP_TOP, deadline)
        c.hops = HOP_BATCH
        return c, "hops"

    return _anytime.search(first, next_round, maximise=True, progress=progress, desc=desc, fmt=fmt, **opts)


def _searched(res: CodeResult, info) -> CodeResult:
    """``res`` with how the anytime search found it (see :class:`CodeResult`)."""
    res.restarts, res.rounds, res.hops = info.restarts, info.rounds, info.hops
    res.interrupted, res.history = info.interrupted, info.history
    res.certificate["stopped_by"] = info.stopped_by
    return res


# ----------------------------------------------------------------------------- softmax codes
@interruptible
@_small_problems_single_threaded
def softmax_code(K: int, d: int, *, restarts: int | None = None, seed: int = 0, device=None, dtype=None,
                 steps: int | None = None, fast: bool = False, polish: bool = True, top: int | None = None,
                 lr=(0.05, 1e-4), tau=(0.3, 2e-4), tau_spread: float | None = None, chunk: int = 2048,
                 h_start: str = "w", progress: bool = False, budget: float | None = None,
                 effort: int | None = None, target: float | None = None, callback=None) -> CodeResult:
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

    Anytime search: ``budget`` (seconds), ``effort`` (rounds after the first), ``target`` (stop once rho
    reaches it), ``callback`` and Ctrl-C as in :func:`tammes_code`; hop rounds perturb W and H of the best
    code. For K > 64 every round is a fresh batch of restarts instead, annealed over
    :data:`SOFTMAX_SEARCH_STEPS` steps unless ``steps`` is given. Each candidate is polished as in phase 2
    (SLSQP up to 451 variables, else evaluated exactly).
    """
    K, d, restarts, steps, seed, chunk, lr = _check_common(K, d, restarts, steps, seed, chunk, lr)
    if h_start not in ("w", "random"):
        raise ValueError(f"h_start must be 'w' (start H at W) or 'random' (H independent of W), got {h_start!r}")
    device, dtype = resolve(device, dtype)
    opts = _anytime_options(budget, effort, target, callback)
    if opts is not None and K > SOFTMAX_RESTARTS_ONLY_K and steps is None and not fast:
        steps = SOFTMAX_SEARCH_STEPS
    R, steps = _defaults(K, restarts, steps, fast)
    top = _top(top, R, K, fast, 3)
    taus = _taus(tau, tau_spread, R, device, dtype, K)
    _check_phase_memory(K, d, R if opts is None else max(R, HOP_BATCH), 2 * K, chunk, device, dtype)
    t0 = time.perf_counter()
    if opts is not None:
        # above SOFTMAX_RESTARTS_ONLY_K every round is a fresh batch of the one-shot solver (see there)
        restart_every = 1 if K > SOFTMAX_RESTARTS_ONLY_K else RESTART_EVERY

        def polish_fn(Xnp, proxy, deadline):
            c = _slp_softmax(_polish._unit(Xnp[:K]), _polish._unit(Xnp[K:]), proxy, polish, deadline)
            return _anytime.Candidate(c, c[1])

        def hop_start(p):
            Wb, Hb = p[0], p[2]
            return np.vstack([Wb, Wb if Hb is None else Hb]), math.acos(min(1.0, _polish.max_cos_blocks(Wb)))

        best, found = _soft_search(
            K, d, tied=False, fresh=lambda s: _softmax_start(K, d, R, s, h_start, device, dtype), polish=polish_fn,
            hop_start=hop_start, R=R, steps=steps, lr=lr, tau=taus,
            chunk=chunk, top=top, seed=seed, opts=opts, desc=f"softmax K={K} d={d}", fmt="rho {:.9f}",
            progress=progress, restart_every=restart_every)
        return _softmax_result(K, d, *best.payload, {}, R, t0, device, dtype, found)

    stop = current_stop()
    with _bar(progress, steps, f"softmax K={K} d={d}") as bar:
        X, proxy = _smooth_phase(_softmax_start(K, d, R, seed, h_start, device, dtype), steps=steps, lr=lr, tau=taus, tied=False, chunk=chunk, bar=bar,
                                 prune=fast and top == 1, stop=stop)
    order = _distinct_best(X[:, :K], proxy, top)
    best = None
    for r in order:
        if best is not None and stop():     # after Ctrl-C: the best restart only, unpolished
            break
        Wr = _polish._unit(X[r, :K].detach().cpu().double().numpy())
        Hr = _polish._unit(X[r, K:].detach().cpu().double().numpy())
        cand = _polished_softmax(Wr, Hr, float(proxy[r]), polish and not stop())
        if best is None or cand[1] > best[1]:
            best = cand
    return _softmax_result(K, d, *best, {"smooth_lower_bound": float(proxy.max())}, R, t0, device, dtype)


def _polished_softmax(Wr, Hr, proxy, polish):
    """``(W, rho, H, info)``: phase 2 for one restart (``Hr`` and the min margin ``proxy`` from phase 1)."""
    info = {}
    if polish:
        # phase 1's min margin (a lower bound on rho(Wr): its h_k are unit) and its H start the polish;
        # the smooth optimum is near-degenerate, where the exact evaluation takes its slow route
        Wnp, rho, H, info = _polish.polish_softmax(Wr, _rho_and_h, start=(proxy, Hr))
    if not polish or Wnp is Wr:        # no polished round was kept: evaluate Wr exactly
        Wnp, rho, H = _evaluable(Wr)
    return Wnp, rho, H, info


#: The budgeted softmax search for K > SOFTMAX_RESTARTS_ONLY_K runs restart rounds only, each a fresh batch
#: with the one-shot defaults, polished as the one-shot solver does. Measured at d = 10, K = 100: hop rounds
#: improved on the best code in 0 of 12 rounds (seeds 2, 3); one batch of 10 restarts x 4000 steps with start
#: temperatures up to 1.0 took 6-10 s for rho 0.6642-0.6686 (seeds 0-2, polished), one default batch
#: 2.7-3.7 s for 0.6629-0.6686, so more default batches per second win.
SOFTMAX_RESTARTS_ONLY_K = 64
#: ... and its rounds anneal over SOFTMAX_SEARCH_STEPS steps (unless ``steps`` is given), not the one-shot 1000.
#: Measured at d = 10, K = 100 (batches of 20 restarts, every restart polished; counted: rho >= 0.6680):
#: 500 steps 0 of 2000 restarts, 1000 steps 2 of 1200, 2000 steps 16 of 1500, 3000 steps 10 of 700, 4000
#: steps 7 of 500. Per second of smooth phase 2000 steps find such codes ~3.5x as often as 1000 (and more
#: often than 3000 or 4000); the best restart of a batch by its min margin was one of them whenever the
#: batch had one (52 of 52 such batches, over every setting tried).
SOFTMAX_SEARCH_STEPS = 2000

#: the budgeted softmax polish: SLP on (W, H) up to SLP_SOFTMAX_MAX_VARIABLES tangent coordinates 2 K (d - 1)
#: (d = 3, K = 60: 240; d = 4, K = 70 (420) took ~40 s per polish on a loaded machine and d = 10, K = 100
#: (1800) minutes: larger codes are evaluated exactly instead), then
#: SLSQP from the SLP result up to SLSQP_CONFIRM_MAX variables 2 K d + 1 (d = 3: K <= 33). Measured at d = 3:
#: SLP 0.1-1.7 s vs SLSQP 5-57 s per polish at K = 30-60, the same local max to 1e-10 in 3 of 4 restarts; in
#: the fourth (K = 60) SLP stopped 1.7e-6 below SLSQP's at a point with KKT residual 4e-8.
SLP_SOFTMAX_MAX_VARIABLES, SLSQP_CONFIRM_MAX = 400, 201


def _slp_softmax(Wr, Hr, proxy, polish, deadline):
    """``(W, rho, H, info)``: the budgeted search's polish of one softmax candidate: SLP (then SLSQP) up to
    the sizes above, the one-shot solver's polish (:func:`_polished_softmax`) beyond them."""
    K, d = Wr.shape
    if not polish or 2 * K * (d - 1) > SLP_SOFTMAX_MAX_VARIABLES:   # the one-shot solver's polish
        W, rho, H, info = _polished_softmax(Wr, Hr, proxy, polish)
        return W, rho, H, dict(info, polish="slsqp on the near-binding margins" if polish else "none")
    X, _, info = _slp.maxmin_slp(np.vstack([Wr, Hr]), _slp.softmax_constraints(K), _slp.softmax_objective(K),
                                 radius=0.01, margin=0.02, deadline=deadline)
    W, rho, H = _evaluable(_polish._unit(X[:K]))
    info["polish"] = "slp"
    if 2 * K * d + 1 <= SLSQP_CONFIRM_MAX and H is not None:
        W2, rho2, H2, info2 = _polish.polish_softmax(W, _rho_and_h, start=(rho, H))
        if rho2 > rho:
            W, rho, H, info = W2, rho2, H2, {**info, **info2, "polish": "slp, then slsqp"}
    return W, rho, H, info


def _softmax_result(K, d, Wnp, rho, H, info, extra, R, t0, device, dtype, found=None):
    W = torch.as_tensor(Wnp, dtype=F64).to(device=device, dtype=dtype)
    Wq = W.detach().cpu().double().numpy()               # what is returned (float32 rounds it)
    if not np.array_equal(Wq, Wnp):
        rho, H = _rho_and_h(Wq)
    cert = dict(info, **extra)
    if K * d <= 400 and H is not None and ("kkt_residual" not in cert or not np.array_equal(Wq, Wnp)):
        kkt, nb = _polish.softmax_kkt(Wq, H, rho)
        cert.update({"kkt_residual": kkt, "binding_pairs": nb})
    res = describe_code(W, kind="softmax", certificate=cert, restarts=R)
    if found is not None:
        _searched(res, found)
    res.seconds = time.perf_counter() - t0
    return res


# ----------------------------------------------------------------------------- Tammes codes
@interruptible
@_small_problems_single_threaded
def tammes_code(K: int, d: int, *, restarts: int | None = None, seed: int = 0, device=None, dtype=None,
                steps: int | None = None, fast: bool = False, polish: bool = True, top: int | None = None,
                hops: int | None = None, lr=(0.05, 1e-4), tau=(0.3, 2e-4), tau_spread: float | None = None,
                chunk: int = 2048, progress: bool = False, budget: float | None = None, effort: int | None = None,
                target: float | None = None, callback=None) -> CodeResult:
    """A Tammes code: K unit rows maximising the minimal pairwise angle (minimising max_{i != j} <x_i, x_j>).

    Phase 1: soft-max of the cosines, -tau log sum_{i != j} exp(<x_i, x_j>/tau)... maximised as a
    soft-min of ``1 - <x_i, x_j>`` over all restarts at once; phase 2: SLSQP on the near-binding pairs
    (float64); phase 3: ``hops`` rounds of monotonic basin hopping from the best polished code
    (perturb, re-polish, keep if better; default 64 when K d <= 96 and not ``fast``, else 0). Start
    temperatures and ``fast=True`` as in :func:`softmax_code` (``tau_spread`` default: 30 for K <= 64, 3
    above). ``.min_angle`` is the objective; ``.rho`` is reported too (rho >= 1 - max cos).

    Anytime search (for research runs; the defaults above stay the fast one-shot solver): with a time
    ``budget`` (seconds) and/or an ``effort`` (rounds after the first), the first round (phase 1 and the
    polish of the ``top`` best basins) is followed by rounds of global moves until the budget is spent:
    hop rounds (32 perturbed copies of the best code descended again at once, the best two polished) and,
    every 4th round, a fresh batch of restarts (see :data:`HOP_SCALES`); the exact polish is sequential
    linear programming (:mod:`._solvers.slp`), for any K; a candidate from a basin polished before in the
    search is skipped (:data:`BASIN_MEMORY`), and on a CPU the restarts of a round run on all of numba's
    threads (the same numbers as on one). It stops early once the min angle reaches
    ``target`` (degrees), when ``callback(progress)`` returns True, or on Ctrl-C (the best code so far is
    returned, ``.interrupted`` set). The rounds depend only on ``seed``, not on the clock.
    """
    K, d, restarts, steps, seed, chunk, lr = _check_common(K, d, restarts, steps, seed, chunk, lr)
    device, dtype = resolve(device, dtype)
    opts = _anytime_options(budget, effort, target, callback)
    R, steps = _defaults(K, restarts, steps, fast)
    top = _top(top, R, K, fast, 3)
    if hops is None:  # cheap for small codes (~0.1 s per hop at K = 30, d = 3)
        hops = 64 if K * d <= 96 and not fast and opts is None else 0
    hops = check_int(hops, "hops", minimum=0)
    taus = _taus(tau, tau_spread, R, device, dtype, K)
    _check_phase_memory(K, d, R if opts is None else max(R, HOP_BATCH), K, chunk, device, dtype)
    t0 = time.perf_counter()
    if opts is not None:
        def polish_fn(Xnp, _proxy, deadline):
            Xnp, info = _polish._unit(Xnp), {"polish": "none"}
            if polish:
                Xnp, _, info = _slp.maxmin_slp(Xnp, _slp.tammes_constraints, _slp.tammes_objective,
                                               deadline=deadline)
                info["polish"] = "slp"
            return _anytime.Candidate((Xnp, info), _min_angle(Xnp))

        best, found = _soft_search(
            K, d, tied=True, fresh=lambda s: _start(K, d, R, s, device, dtype), polish=polish_fn,
            hop_start=lambda p: (p[0], math.acos(min(1.0, _polish.max_cos_blocks(p[0])))), R=R, steps=steps,
            lr=lr, tau=taus, chunk=chunk, top=top, seed=seed, opts=opts,
            desc=f"tammes K={K} d={d}", fmt="{:.9f} deg", progress=progress)
        return _tammes_result(K, d, *best.payload, R, t0, device, dtype, found)

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
    return _tammes_result(K, d, Xnp, info, R, t0, device, dtype)


def _tammes_result(K, d, Xnp, info, R, t0, device, dtype, found=None):
    W = torch.as_tensor(Xnp, dtype=F64).to(device=device, dtype=dtype)
    cert = dict(info)
    if K * d <= 400:
        kkt, nb = _polish.tammes_kkt(W.detach().cpu().double().numpy())
        cert.update({"kkt_residual": kkt, "binding_pairs": nb})
    res = describe_code(W, kind="tammes", certificate=cert, restarts=R)
    res.status = _tammes_status(K, d, res.min_angle)
    if found is not None:
        _searched(res, found)
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
                 top: int | None = None, lr=(0.02, 1e-4), chunk: int = 2048, progress: bool = False,
                 budget: float | None = None, effort: int | None = None, target: float | None = None,
                 callback=None) -> CodeResult:
    """A Thomson (Riesz s-energy) code: K unit rows minimising E_s = sum_{i<j} ||x_i - x_j||^{-s} (s > 0).

    Phase 1: Riemannian Adam on -E_s for all restarts at once; phase 2: L-BFGS (float64) on the
    ``top`` lowest-energy restarts. ``.energy`` is E_s at the given ``s``; the tangent-gradient norm is
    in ``.certificate["grad_norm"]``.

    Anytime search: ``budget`` (seconds), ``effort`` (rounds after the first), ``target`` (stop once the
    energy is at most this), ``callback`` and Ctrl-C as in :func:`tammes_code`. Hop rounds are monotonic
    basin hopping from the best code (:data:`THOMSON_HOPS` perturb-and-L-BFGS moves, see
    :data:`THOMSON_SCALES`); every 4th round is a fresh batch of restarts. The smooth phase of the search
    runs :data:`THOMSON_SEARCH_STEPS` steps unless ``steps`` is given.
    """
    K, d, restarts, steps, seed, chunk, lr = _check_common(K, d, restarts, steps, seed, chunk, lr)
    s = check_positive(s, "s")
    device, dtype = resolve(device, dtype)
    opts = _anytime_options(budget, effort, target, callback)
    if opts is not None and steps is None:
        steps = THOMSON_SEARCH_STEPS
    R, steps = _defaults(K, restarts, steps, fast)
    top = _top(top, R, K, fast, 4)
    _check_phase_memory(K, d, R, K, chunk, device, dtype)
    t0 = time.perf_counter()
    polish = polish and K * K * d <= 5e7          # dense pair lists in the L-BFGS polish

    def batch(seed_, show, deadline=None):
        def ascent(X, _t):
            _anytime.check_time(deadline)
            return -riesz_energy_grad(X, s, chunk=chunk)[1]

        stop = current_stop()
        with _bar(show, steps, f"thomson K={K} d={d}") as bar, torch.no_grad():
            X = riemannian_adam(_start(K, d, R, seed_, device, dtype), ascent, steps=steps, lr=lr,
                                tau=(1.0, 1.0), progress=bar, stop=stop)
            E, _ = riesz_energy_grad(X, s, chunk=chunk)
        best = None
        for r in torch.argsort(E)[:top].tolist():
            if best is not None and stop():     # after Ctrl-C: the best restart only, unpolished
                break
            Xnp = _polish._unit(X[r].detach().cpu().double().numpy())
            info = {}
            if polish and not stop():
                Xnp, info = _polish.polish_riesz(Xnp, s)
            e = _polish.riesz_energy_np(Xnp, s)
            if best is None or e < best.value:
                best = _anytime.Candidate((Xnp, info), e, restarts=R)
        return best

    if opts is None:
        best, found = batch(seed, progress), None
    else:
        def next_round(r, best, deadline):
            if r % RESTART_EVERY == RESTART_EVERY - 1:
                return batch(_round_seed(seed, r), False, deadline), "restarts"
            (Xb, info), e = best.payload, best.value
            rng = np.random.default_rng(_round_seed(seed, r))
            sigma = THOMSON_SCALES[r % len(THOMSON_SCALES)] * math.sqrt(2 - 2 * _polish.max_cos_blocks(Xb))
            done = 0
            while done < THOMSON_HOPS:
                _anytime.check_time(deadline)
                Y = _polish._unit(Xb + sigma * rng.standard_normal(Xb.shape))
                Y, yinfo = _polish.polish_riesz(Y, s) if polish else (Y, {})
                ey, done = _polish.riesz_energy_np(Y, s), done + 1
                if ey < e - 1e-13 * e:                   # not the same minimum again, up to rounding
                    Xb, info, e = Y, yinfo, ey
            return _anytime.Candidate((Xb, info), e, hops=done), "hops"

        best, found = _anytime.search(lambda: batch(seed, False), next_round, maximise=False, progress=progress,
                                      desc=f"thomson K={K} d={d}", fmt="E {:.9f}", **opts)
    Xnp, info = best.payload
    W = torch.as_tensor(Xnp, dtype=F64).to(device=device, dtype=dtype)
    res = describe_code(W, kind="thomson", s=s, certificate=dict(info), restarts=R)
    if d == 2 or K <= d + 1:
        star = _polish.riesz_energy_np(_polygon_or_simplex(K, d), s)
        if abs(res.energy - star) <= 1e-9 * star:
            res.status = "proved optimal (regular polygon / simplex)"
    if found is not None:
        _searched(res, found)
    res.seconds = time.perf_counter() - t0
    return res


def _polygon_or_simplex(K, d):
    from .geometry import regular_polygon, simplex_etf
    return (regular_polygon(K) if d == 2 and K > d + 1 else simplex_etf(K, d)).double().numpy()
