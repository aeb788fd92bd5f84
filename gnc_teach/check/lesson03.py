"""Self-checks for lesson 03 (margin maximisation: training at small τ, and the τ → 0 limit).

Each check recomputes what it judges from the student's tensors (losses, ρ, certified optima of its own)
and reports the first thing that is off, with a hint. None of them prints a reference value.
"""
from __future__ import annotations

import functools
import math
import os
import time

import torch

from ._core import Fail, as_array, as_scalar, call_student, checker

__all__ = ["small_tau_trainer", "rho_predictor"]

F64 = torch.float64


def unit_rows(value, what, shape, *, tol=1e-9):
    """The student's ``value`` as a float64 tensor of ``shape`` with unit rows (renormalised), else Fail."""
    X = torch.from_numpy(as_array(value, what, shape))
    err = float((X.norm(dim=1) - 1).abs().max())
    if err > tol:
        hint = ("work in torch.float64" if err < 1e-5 else
                "every row of the spherical UFM lives on the unit sphere, after every step")
        raise Fail(f"the rows of {what} are not unit vectors (max | ||x_i|| - 1 | = {err:.1e}). Hint: {hint}.")
    return X / X.norm(dim=1, keepdim=True)


def labels(K, n):
    """Class-major labels 0,..,0,1,..,1,..: the layout of ``gnc_teach.models.ufm.ufm_labels``."""
    return torch.arange(K).repeat_interleave(n)


def tau_log_ce(W, H, y, tau) -> float:
    """τ·log of the mean spherical-UFM cross-entropy (stable at small τ)."""
    from ..certify import spherical_ce
    return float(spherical_ce(W, H, y, tau, log=True))


# ----------------------------------------------------------------------------- a trainer for small τ
#: (K, d, n, τ, seed) of the runs the check makes; on each the package's trainer reaches the global optimum
TRAINER_CASES = ((8, 3, 1, 0.02, 1), (5, 2, 2, 0.03, 2))
TRAINER_RTOL = 1e-4     # relative excess of the student's loss over the package trainer's


@functools.lru_cache(maxsize=8)
def _package_run(K, d, n, tau):
    """``(W, τ·log CE)`` of the package trainer's run (seed 0, float64, CPU): the yardstick, computed once."""
    from ..models.ufm import train_spherical_ufm
    ref = train_spherical_ufm(K, d, n, tau, seed=0, device="cpu", dtype=F64, record_every=0)
    return ref.W, tau_log_ce(ref.W, ref.H, labels(K, n), tau)


def _pair(out, K, d, n):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Fail(f"return the pair (W, H), got {type(out).__name__}.")
    return (unit_rows(out[0], "W", (K, d)), unit_rows(out[1], f"H (n={n} features per class)", (K * n, d)))


@checker
def small_tau_trainer(fn):
    """``fn(K, d, n, tau, *, seed) -> (W (K,d), H (K n,d))``: a from-scratch trainer of the spherical UFM.

    On (K, d, n, τ) = (8, 3, 1, 0.02) and (5, 2, 2, 0.03) the check recomputes τ·log CE of the returned
    pair (labels class-major) and compares it with what ``train_spherical_ufm`` reaches: it may exceed it by
    at most the relative amount :data:`TRAINER_RTOL` (compared through τ·log CE, which does not underflow).
    """
    from ..margins import rho

    worst = -math.inf
    for K, d, n, tau, seed in TRAINER_CASES:
        W, H = _pair(call_student(fn, K, d, n, tau, seed=seed), K, d, n)
        y = labels(K, n)
        mine = tau_log_ce(W, H, y, tau)
        ref_W, theirs = _package_run(K, d, n, tau)
        excess = math.expm1((mine - theirs) / tau)          # CE_mine / CE_package - 1
        if excess > TRAINER_RTOL:
            r_mine, r_ref = rho(W), rho(ref_W)
            where = f"(K, d, n, τ) = ({K}, {d}, {n}, {tau:g})"
            if r_mine < r_ref - 1e-3:
                raise Fail(f"at {where} your classifier has ρ(W) = {r_mine:.4f}, clearly below what the package's "
                           "trainer reaches: the training stopped far from the optimum. Hint: near a separated "
                           "configuration the loss and its gradient are of size exp(-margin/τ), so a step "
                           "size that suits τ = 1 hardly moves anything at small τ.")
            raise Fail(f"at {where} your loss is above the package's by a relative {excess:.1e} (allowed "
                       f"{TRAINER_RTOL:g}), although your code is close. Hint: train longer at the final τ, "
                       "or with steps that shrink at the end.")
        worst = max(worst, excess)
    return (f"reaches the package trainer's loss on {len(TRAINER_CASES)} problems down to τ = 0.02 "
            f"(largest relative excess {worst:+.1e}).")


# ----------------------------------------------------------------------------- predicting ρ(W_τ)
PREDICT_K, PREDICT_D = 8, 3
PREDICT_RANGE = (0.005, 0.15)      # the judge draws its temperatures from here (log-uniform)
PREDICT_TOL = 0.10                 # allowed error, as a fraction of the distance ρ_best − ρ(W_τ)
PREDICT_SECONDS = 0.2              # per prediction: a model, not a training run
#: continuation ladder of the judge's certified optima (its own temperatures are merged in)
JUDGE_LADDER = (0.3, 0.2, 0.1, 0.05, 0.025, 0.0125, 0.00625)


def antiprism_rho() -> float:
    """ρ of the square antiprism, 1 − 1/(1 + 2√2): the best known code for (K, d) = (8, 3)."""
    return 1 - 1 / (1 + 2 * math.sqrt(2))


def judge_rhos(taus) -> dict:
    """ρ(W_τ) at each τ of ``taus``, from the certified continuation of ``certify.certified_ufm_path`` at
    (8, 3), one feature per class, seed 0: every point must be certified (gradient ≤ 1e-9, positive
    Hessian modulo rotations, ρ bracket ≤ 1e-12), else :class:`Fail`."""
    from ..certify import certified_ufm_path

    ladder = sorted(set(JUDGE_LADDER) | {float(t) for t in taus}, reverse=True)
    path = certified_ufm_path(PREDICT_K, PREDICT_D, 1, ladder, seed=0, warm_steps=300)
    out = {}
    for p in path:
        if p.grad_norm > 1e-9 or p.hessian.min_eig <= 0 or p.rho_upper - p.rho_lower > 1e-12:
            raise Fail(f"the judge could not certify its own optimum at τ = {p.tau:.4g} (a bug of the check, "
                       "not of your answer); run the cell again.")
        out[p.tau] = p.rho_upper
    return {float(t): out[float(t)] for t in taus}


def _draw_taus(count=4):
    """``count`` temperatures, one drawn log-uniformly in each of ``count`` equal parts of the log range."""
    lo, hi = (math.log(t) for t in PREDICT_RANGE)
    g = torch.Generator().manual_seed(int.from_bytes(os.urandom(4), "little"))
    u = torch.rand(count, generator=g, dtype=F64)
    width = (hi - lo) / count
    return sorted((math.exp(lo + width * (i + float(v))) for i, v in enumerate(u)), reverse=True)


def _given_taus(taus):
    """The temperatures a test fixes, validated: numbers in :data:`PREDICT_RANGE` (largest first)."""
    try:
        taus = sorted((float(t) for t in taus), reverse=True)
    except (TypeError, ValueError):
        raise Fail(f"taus must be a list of numbers, got {taus!r}.") from None
    lo, hi = PREDICT_RANGE
    if not taus or not all(lo <= t <= hi for t in taus):
        raise Fail(f"taus must be numbers in [{lo:g}, {hi:g}], got {taus}.")
    return taus


@checker
def rho_predictor(make_predictor, *, taus=None):
    """``make_predictor() -> predict``, ``predict(tau) -> float``: a prediction of ρ(W_τ) for the global
    optimum of the spherical UFM at (K, d) = (8, 3).

    The judge builds the predictor first, then draws four temperatures from :data:`PREDICT_RANGE`, one
    log-uniformly in each quarter of its log scale (fresh ones at every call; ``taus`` fixes them, for
    tests), asks for a prediction at each (at most :data:`PREDICT_SECONDS` each), and only then computes
    the certified optimum W_τ itself. It checks every prediction against the proved interval
    ρ_best − τ·log(2N(K−1)) ≤ ρ(W_τ) ≤ 1 (N = 8) and against the certified value, to within
    :data:`PREDICT_TOL` of ρ_best − ρ(W_τ).
    """
    from ..hardmax import rho_gap_bound

    predict = call_student(make_predictor)
    if not callable(predict):
        raise Fail(f"make_predictor() should return a function tau -> rho, got {type(predict).__name__}.")
    taus = _draw_taus() if taus is None else _given_taus(taus)
    best = antiprism_rho()
    preds = {}
    for tau in taus:
        start = time.perf_counter()
        value = as_scalar(call_student(predict, tau), f"your prediction at tau = {tau:.4g}")
        seconds = time.perf_counter() - start
        if seconds > PREDICT_SECONDS:
            raise Fail(f"your prediction at τ = {tau:.4g} took {seconds:.2f} s: predict from your model (at most "
                       f"{PREDICT_SECONDS:g} s), do not train inside predict; fit the model in make_predictor.")
        low = best - rho_gap_bound(PREDICT_K, PREDICT_K, tau)
        if not low <= value <= 1:
            raise Fail(f"your prediction {value:.6f} at τ = {tau:.4g} is outside what lesson 03 proves for a "
                       f"global minimiser, [{low:.4f}, 1]. Hint: the rate theorem, and ρ ≤ 1 for K ≥ d + 2.")
        preds[tau] = value
    truth = judge_rhos(taus)
    worst = 0.0
    for tau in taus:
        gap = best - truth[tau]
        err = (preds[tau] - truth[tau]) / gap
        if abs(err) > PREDICT_TOL:
            side = "too high" if err > 0 else "too low"
            raise Fail(f"at τ = {tau:.4g} your prediction is {side}: off by {abs(err):.0%} of the distance from "
                       f"ρ(W_τ) to the best code (allowed {PREDICT_TOL:.0%}). Hint: how does that distance "
                       "scale with τ? Measure it at several τ and model it.")
        worst = max(worst, abs(err))
    listed = ", ".join(f"{t:.4g}" for t in taus)
    return (f"predictions at τ = {listed} (drawn after your model was built) within {worst:.1%} of the "
            "certified optimum's distance to the best code.")
