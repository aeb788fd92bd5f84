"""Self-checks for lesson 03 (margin maximisation: τ·CE, HardMax, and the τ → 0 limit).

Each check tests properties (proved bounds, certificates, invariants) on a few inputs of its own and
reports the first thing that is off, with a hint. None of them prints a reference value.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from ._core import Fail, call_student, checker

__all__ = ["tau_ce", "hardmax_objective", "tau_sweep"]



def _to_tensor(value, what):
    """The student's output as a float64 tensor, or a Fail that says what came back."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    if isinstance(value, (np.ndarray, list, tuple, numbers.Real)) and not isinstance(value, bool):
        try:
            return torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            pass
    raise Fail(f"{what} should be a torch tensor (or numpy array) of numbers, got {type(value).__name__}.")


def _unit(X):
    return X / X.norm(dim=-1, keepdim=True)


def _gaps(W, H, y):
    logits = H @ W.T
    return logits - logits.gather(1, y[:, None])


# ----------------------------------------------------------------------------- τ·CE
@checker
def tau_ce(fn):
    """Check ``fn(W, H, y, tau) -> (N,)`` per-sample τ·CE against the proved sandwich and the definition."""
    g = torch.Generator().manual_seed(3)
    K, d, N = 6, 4, 30
    W = _unit(torch.randn(K, d, generator=g, dtype=torch.float64))
    H = _unit(torch.randn(N, d, generator=g, dtype=torch.float64))
    y = torch.arange(N) % K
    A = _gaps(W, H, y)
    hinge = A.amax(dim=1)
    for tau in (2.0, 1.0, 0.3, 0.05, 1e-3):
        out = _to_tensor(call_student(fn, W.clone(), H.clone(), y.clone(), tau), "the return value")
        if out.shape != (N,):
            raise Fail(f"expected one value per sample, shape ({N},), got shape {tuple(out.shape)}. "
                       "Hint: do not average over the samples.")
        if not torch.isfinite(out).all():
            raise Fail(f"non-finite values at tau={tau}. Hint: exp(a/τ) overflows for small τ; use "
                       "torch.logsumexp (it subtracts the max first).")
        slack = 1e-10 + 1e-12 * hinge.abs().max()
        if (out < hinge - slack).any():
            raise Fail(f"at tau={tau} some values are below max(0, max_j <w_j - w_y, h>), which τ·CE can "
                       "never be. Hint: did you multiply by τ, and keep the j = y term (it contributes exp(0) = 1)?")
        if (out > hinge + tau * math.log(K) + slack).any():
            raise Fail(f"at tau={tau} some values exceed the proved upper bound hinge + τ log K. "
                       "Hint: logits are <w_j, h>/τ, and the sum runs over the K classes only once.")
        ref = tau * torch.logsumexp(A / tau, dim=1)
        err = float((out - ref).abs().max())
        if err > 1e-8 * max(1.0, float(ref.abs().max())):
            raise Fail(f"inside the bounds but not equal to τ·CE at tau={tau} (off by up to {err:.1e}). "
                       "Hint: check the label indexing: the gaps are <w_j, h_i> - <w_{y_i}, h_i>.")
    return "within [hinge, hinge + τ log K] and equal to τ·CE (to 1e-8) for 5 temperatures down to τ = 1e-3."


# ----------------------------------------------------------------------------- HardMax objective
def _hardmax_cases():
    """(name, W, H, y, is_optimal_H): random features, and the margin-optimal features h_k* per class."""
    from ..geometry import random_sphere, regular_polygon
    from ..margins import one_vs_rest_distance
    g = torch.Generator().manual_seed(7)
    W = random_sphere(8, 3, seed=11)
    y = torch.arange(8).repeat_interleave(3)
    H = _unit(torch.randn(24, 3, generator=g, dtype=torch.float64))
    yield "8 random classes in R^3 with random features", W, H, y, False
    for name, C in (("8 random classes in R^3", W), ("the regular pentagon", regular_polygon(5))):
        C = C.to(torch.float64)
        yc = torch.arange(C.shape[0]).repeat(2)  # every class twice, in a shuffled-looking order
        hstar = one_vs_rest_distance(C, return_details=True).h
        yield f"{name} with every feature at its best direction h_k*", C, hstar[yc], yc, True


@checker
def hardmax_objective(fn):
    """Check ``fn(W, H, y) -> float`` = max over samples i of max_{j≠y_i} <w_j − w_{y_i}, h_i>.

    Certificates: at the margin-optimal features the value is exactly −ρ(W) (margin duality); for any unit
    features it is ≥ −ρ(W); it does not depend on the order of the samples.
    """
    from ..margins import one_vs_rest_distance
    for name, W, H, y, optimal in _hardmax_cases():
        val = _to_tensor(call_student(fn, W.clone(), H.clone(), y.clone()), "the return value")
        if val.numel() != 1:
            raise Fail(f"expected a single number, got shape {tuple(val.shape)}. Hint: take the max over "
                       "the samples too.")
        val = float(val.reshape(()))
        rho = float(one_vs_rest_distance(W).min())
        if not math.isfinite(val):
            raise Fail(f"non-finite value on {name}.")
        if optimal and abs(val) < 1e-12:
            raise Fail(f"got 0 on {name}, where the features separate every class. Hint: exclude j = y_i "
                       "from the inner max (that term is always 0).")
        if val < -rho - 1e-10:
            raise Fail(f"on {name} your value is below -ρ(W), which no unit features can reach. Hint: the "
                       "objective is a MAX over samples and over j (the worst violation), not a min.")
        if optimal and val > -rho + 1e-10:
            raise Fail(f"on {name} the value should equal -ρ(W) to 1e-10 (off by {val + rho:.1e}). Hint: "
                       "compare <w_j - w_{y_i}, h_i>, with the row of the sample's OWN label.")
        perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(1))
        val2 = float(_to_tensor(call_student(fn, W.clone(), H[perm].clone(), y[perm].clone()),
                                "the return value").reshape(-1)[0])
        if abs(val2 - val) > 1e-12:
            raise Fail(f"on {name} shuffling the samples (with their labels) changed your value. Hint: "
                       "index W by the labels y, not by the sample position.")
        if not optimal:
            A = _gaps(W, H, y).scatter(1, y[:, None], float("-inf"))
            if abs(val - float(A.max())) > 1e-10:
                raise Fail(f"on {name} the value is not the largest violation <w_j - w_y, h> (off by "
                           f"{abs(val - float(A.max())):.1e}). Hint: max over samples AND over j != y_i.")
    return "equals -ρ(W) at the margin-optimal features (to 1e-10), is order-free, and matches the definition."


# ----------------------------------------------------------------------------- τ sweep
SWEEP_TAU_MAX = 0.1  # the sweep must reach a small temperature: the claim is about τ → 0


def _classifiers(results):
    """Accept {τ: W}, a sequence of (τ, W) pairs, or a ``hardmax.tau_sweep`` result; return [(τ, W)]."""
    if hasattr(results, "taus") and hasattr(results, "results"):
        results = [(t, r.W) for t, r in zip(results.taus, results.results)]
    elif isinstance(results, dict):
        results = list(results.items())
    if not isinstance(results, (list, tuple)):
        raise Fail(f"expected a dict {{tau: W}} of trained classifiers, got {type(results).__name__}.")
    pairs = []
    for item in results:
        try:
            tau, W = item
            tau = float(tau)
        except (TypeError, ValueError):
            raise Fail(f"could not read {item!r} as a (tau, W) pair.") from None
        if isinstance(W, numbers.Real):
            raise Fail("hand in the trained classifier W (a (K, d) tensor) for every τ, not a number: the "
                       "check computes ρ(W) itself. Hint: results[tau] = res.W.")
        W = _to_tensor(W, f"W at tau = {tau:g}")
        if W.ndim != 2 or W.shape[0] < 2:
            raise Fail(f"W at τ = {tau:g} has shape {tuple(W.shape)}; it should be (K, d), one row per class.")
        if not torch.isfinite(W).all():
            raise Fail(f"W at τ = {tau:g} contains NaN or inf.")
        pairs.append((tau, W))
    return pairs


@checker
def tau_sweep(results, *, K: int | None = None, d: int | None = None, tol: float = 3e-3):
    """Check a τ sweep of the spherical UFM handed in as ``{τ: W}``, the trained ``(K, d)`` classifiers.

    ρ(W) is recomputed here from every W (exact one-vs-rest distance), never taken from the student.
    Requirements: at least 3 distinct positive temperatures, the smallest ≤ 0.1; every W of the same
    shape (``K``, ``d`` if given) with unit rows (to 1e-6); ρ does not decrease by more than ``tol`` as τ
    decreases; at the smallest τ, ρ is within 0.01 of the best known value when one is tabulated.
    """
    from ..hardmax import best_known_rho
    from ..margins import rho as rho_of

    pairs = sorted(_classifiers(results), key=lambda p: -p[0])  # from the largest τ to the smallest
    if len(pairs) < 3:
        raise Fail(f"only {len(pairs)} temperature(s); run at least 3, e.g. τ = 1, 0.2, 0.05.")
    if any(not (math.isfinite(t) and t > 0) for t, _ in pairs):
        raise Fail("every τ must be a finite positive number (logits are <w_j, h>/τ).")
    if len({t for t, _ in pairs}) < len(pairs):
        raise Fail("the same τ appears twice; use distinct temperatures.")
    if pairs[-1][0] > SWEEP_TAU_MAX:
        raise Fail(f"the smallest τ is {pairs[-1][0]:g}; the claim is about τ → 0, so go down to "
                   f"τ ≤ {SWEEP_TAU_MAX:g} (e.g. τ = 0.05).")
    shape = tuple(pairs[0][1].shape)
    want = (K if K is not None else shape[0], d if d is not None else shape[1])
    rhos = []
    for t, W in pairs:
        if tuple(W.shape) != want:
            raise Fail(f"W at τ = {t:g} has shape {tuple(W.shape)}, expected {want}: use the same K and d "
                       "for every run.")
        err = float((W.norm(dim=1) - 1).abs().max())
        if err > 1e-6:
            raise Fail(f"the rows of W at τ = {t:g} are not unit vectors (max | ||w_k|| - 1 | = {err:.1e}). "
                       "Hint: the spherical UFM keeps every w_k on the sphere; hand in res.W.")
        rhos.append(rho_of(W))
    K_, d_ = want
    for (t1, _), (t2, _), r1, r2 in zip(pairs, pairs[1:], rhos, rhos[1:]):
        if r2 < r1 - tol:
            raise Fail(f"ρ(W) drops from {r1:.4f} (τ = {t1:g}) to {r2:.4f} (τ = {t2:g}) as τ decreases. Hint: "
                       "train longer or with more restarts at small τ, and use the same K, d, n for every run.")
    best = best_known_rho(int(K_), int(d_))
    if best is not None and rhos[-1] < best - 0.01:
        raise Fail(f"at the smallest τ = {pairs[-1][0]:g}, ρ(W) = {rhos[-1]:.4f} is more than 0.01 below the "
                   "best known value for this (K, d). Hint: go down to τ ≈ 0.05 and train long enough.")
    return (f"ρ(W), recomputed from your W, rises (within {tol:g}) as τ falls over {len(pairs)} "
            f"temperatures down to τ = {pairs[-1][0]:g}.")
