"""Self-checks for lesson 06 (hyperspherical uniformity and the HUG loss).

The checks compare the student's codes with the package's solvers through invariants (energies, the
exact one-vs-rest distance ρ, gradient norms), never coordinates, and never print the answer. The
student's code runs under the time budget of every check (:mod:`gnc_teach.check._core`), longer here
than elsewhere because these exercises optimise (3 x 60 s for the three codes of ``riesz_descent``,
300 s for the search of ``disagreement``).
"""
from __future__ import annotations

import functools

import torch

from ._core import Fail, as_array, as_scalar, call_student, checker

__all__ = ["riesz_descent", "disagreement", "DISAGREEMENT_DIMS", "DISAGREEMENT_K_MAX", "lesson_max_gap"]

F64 = torch.float64
DISAGREEMENT_DIMS = (4, 5)
DISAGREEMENT_K_MAX = 16
RIESZ_SECONDS = 60        # student time per case of riesz_descent (three cases)
JUDGE_SECONDS = 300       # student time of the search in disagreement


def _unit_code(value, what, K, d):
    W = torch.from_numpy(as_array(value, what, (K, d)))
    err = float((W.norm(dim=1) - 1).abs().max())
    if err > 1e-8:
        raise Fail(f"the rows of {what} are not unit vectors (max | ||w|| - 1 | = {err:.1e}). Hint: the points "
                   "live on the sphere.")
    return W


def _riesz(W, s):
    from ..uniformity import _energy
    return float(_energy(W, "riesz", float(s), None, False))


def _tangent_grad_norm(W, s):
    from ..certify import riemannian_gradient
    from ..uniformity import _energy
    return float(riemannian_gradient(lambda X: _energy(X, "riesz", float(s), None, False), W).norm())


@functools.lru_cache(maxsize=64)
def _reference_energy(K, d, s):
    """The package's best-found (or proved) Riesz s-energy at (K, d), thorough settings."""
    from ..uniform_codes import optimal_code
    return optimal_code(K, d, measure="riesz", s=s, fast=False, device="cpu").value


# ----------------------------------------------------------------------------- from scratch
@checker(time_limit=3 * RIESZ_SECONDS)
def riesz_descent(fn):
    """``fn(K, d, s, seed) -> W (K, d)``: unit rows minimising the Riesz s-energy, written from scratch.

    Checked on (K, d, s) = (4, 3, 1) and (6, 3, 2) (proved optima: simplex, octahedron) and (8, 3, 1)
    (the best known Thomson code): energy within 1e-6 (relative) of the package's, and a tangent
    gradient norm below 1e-4. Your function may take 3 x 60 s in all."""
    for K, d, s in ((4, 3, 1.0), (6, 3, 2.0), (8, 3, 1.0)):
        W = _unit_code(call_student(fn, K, d, s, 0), f"your function({K}, {d}, {s}, 0)", K, d)
        E, ref = _riesz(W, s), _reference_energy(K, d, s)
        if E > ref * (1 + 1e-6):
            hint = ("Hint: run several random starts and keep the best." if E < ref * 1.05 else
                    "Hint: move the points against the gradient of the energy and project back onto the sphere.")
            raise Fail(f"K={K}, d={d}, s={s:g}: your energy {E:.9f} is above the best known {ref:.9f}. {hint}")
        g = _tangent_grad_norm(W, s)
        if g > 1e-4:
            raise Fail(f"K={K}, d={d}, s={s:g}: the energy is low enough but the tangent gradient norm is {g:.1e}; "
                       "converge further (smaller final steps).")
    return "reaches the proved optima (simplex, octahedron) and the best known Thomson code for K = 8."


# ----------------------------------------------------------------------------- open-ended judge
def lesson_max_gap() -> float:
    """The largest ρ(softmax code) - ρ(Riesz s=1 code) over the lesson's d = 3 search (the bar to beat)."""
    from ..uniform_codes import load_search
    return max(r["rho_softmax"] - r["rho_riesz1"] for r in load_search())


@checker(time_limit=JUDGE_SECONDS)
def disagreement(fn):
    """``fn() -> (K, d, W_softmax, W_riesz)`` with d in (4, 5) and 3 <= K <= 16: a softmax code and a Riesz
    s = 1 (Thomson) code whose one-vs-rest distances differ by more than the largest d = 3 gap of the
    lesson. The Thomson code must be at least as good as the package's best found (energy, relative
    1e-9) and critical (tangent gradient < 1e-6); ρ is computed exactly. 300 s for ``fn``."""
    from ..margins import rho

    out = call_student(fn)
    if not isinstance(out, (tuple, list)) or len(out) != 4:
        raise Fail("return a tuple (K, d, W_softmax, W_riesz).")
    K, d = (as_scalar(v, n) for v, n in zip(out[:2], ("K", "d")))
    if K != int(K) or d != int(d):
        raise Fail(f"K and d must be whole numbers, got K={K}, d={d}.")
    K, d = int(K), int(d)
    if d not in DISAGREEMENT_DIMS or not 3 <= K <= DISAGREEMENT_K_MAX:
        raise Fail(f"d must be one of {DISAGREEMENT_DIMS} and 3 <= K <= {DISAGREEMENT_K_MAX}; got K={K}, d={d} "
                   "(d = 3 is the lesson's own table).")
    S = _unit_code(out[2], "W_softmax", K, d)
    T = _unit_code(out[3], "W_riesz", K, d)
    E, ref = _riesz(T, 1.0), _reference_energy(K, d, 1.0)
    if E > ref * (1 + 1e-9):
        raise Fail(f"W_riesz has Riesz 1-energy {E:.10f}, above the best known {ref:.10f} at K={K}, d={d}: it is "
                   "not a Thomson code. Hint: more restarts, and polish to convergence.")
    g = _tangent_grad_norm(T, 1.0)
    if g > 1e-6:
        raise Fail(f"W_riesz is not a critical point of the energy (tangent gradient {g:.1e}); polish it.")
    gap, bar = rho(S) - rho(T), lesson_max_gap()
    if gap <= bar:
        raise Fail(f"K={K}, d={d}: ρ(W_softmax) - ρ(W_riesz) = {gap:.4f}, not above the lesson's largest d = 3 gap "
                   f"{bar:.4f}. Keep searching (and check that W_softmax is a good softmax code).")
    return (f"K={K}, d={d}: ρ(softmax) - ρ(Thomson) = {gap:.4f} > {bar:.4f}, the largest gap at d = 3 "
            f"(certified ρ; Thomson energy {E:.9f}).")
