"""Self-checks for lesson 04 (certificates for the spherical UFM: Riemannian derivatives, duality, rattlers).

Each check tests properties on a few inputs (tangency, finite differences on geodesics, certified
brackets from :func:`gnc_teach.margins.one_vs_rest_distance`), never compares with a printed answer.
"""
from __future__ import annotations

import math

import torch

from ._core import Fail, as_array, as_scalar, call_student, checker

__all__ = ["riemannian_gradient", "sphere_hessian", "certificate", "rattler"]

F64 = torch.float64


# ----------------------------------------------------------------------------- reference helpers
def _sphere(m, d, seed):
    X = torch.randn(m, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
    return X / X.norm(dim=1, keepdim=True)


def _exp(X, V, t):
    """Row-wise exponential map of the sphere: x cos(t|v|) + v/|v| sin(t|v|)."""
    nv = V.norm(dim=1, keepdim=True)
    return X * torch.cos(t * nv) + V / nv.clamp_min(1e-300) * torch.sin(t * nv)


def _square_antiprism():
    z2 = 1 / (2 * math.sqrt(2) + 1)
    z, s = math.sqrt(z2), math.sqrt(1 - z2)
    rows = [[s * math.cos(k * math.pi / 2 + o), s * math.sin(k * math.pi / 2 + o), h]
            for h, o in ((z, 0.0), (-z, math.pi / 4)) for k in range(4)]
    return torch.tensor(rows, dtype=F64)


def _pole_and_triangle():
    rows = [[math.cos(a), math.sin(a), 0.0] for a in (0, 2 * math.pi / 3, 4 * math.pi / 3)] + [[0, 0, 1.0]]
    return torch.tensor(rows, dtype=F64)


def _details(W):
    from ..margins import one_vs_rest_distance
    return one_vs_rest_distance(W, return_details=True)


# ----------------------------------------------------------------------------- checks
@checker
def riemannian_gradient(fn):
    """``fn(X, G) -> V``: project the Euclidean gradients ``G (m,d)`` onto the tangent spaces of the unit
    rows of ``X``. Checks tangency, that only the normal part was removed, and the directional derivative
    of f(X) = Σ_i <a_i, x_i>³ along geodesics against finite differences."""
    for m, d, seed in ((1, 2, 0), (5, 3, 1), (4, 6, 2)):
        X = _sphere(m, d, seed)
        A = torch.randn(m, d, generator=torch.Generator().manual_seed(seed + 10), dtype=F64)
        G = 3 * (X * A).sum(dim=1, keepdim=True) ** 2 * A            # ∇ of Σ <a_i, x_i>^3
        V = torch.from_numpy(as_array(call_student(fn, X.clone(), G.clone()), "your result", (m, d)))
        normal = (V * X).sum(dim=1)
        if float(normal.abs().max()) > 1e-10:
            i = int(normal.abs().argmax())
            raise Fail(f"the result is not tangent: <x_i, v_i> = {float(normal[i]):.3g} for row i={i} "
                       f"(m={m}, d={d}). Hint: the tangent space at x is {{v : <x, v> = 0}}.")
        R = G - V                                                    # what was removed
        par = (R * X).sum(dim=1, keepdim=True) * X
        if float((R - par).abs().max()) > 1e-10:
            raise Fail("you removed more than the normal part of G: G - V should be a multiple of x in "
                       "every row. Hint: subtract only the component of g_i along x_i.")
        f = lambda Z: float(((Z * A).sum(dim=1) ** 3).sum())        # noqa: E731
        T = torch.randn(m, d, generator=torch.Generator().manual_seed(seed + 20), dtype=F64)
        T = T - (T * X).sum(dim=1, keepdim=True) * X
        eps = 1e-6
        fd = (f(_exp(X, T, eps)) - f(_exp(X, T, -eps))) / (2 * eps)
        if abs(fd - float((V * T).sum())) > 1e-6 * (1 + abs(fd)):
            raise Fail("<V, t> does not match the finite-difference derivative of f along a geodesic "
                       "in direction t. Hint: do not rescale the projected gradient.")
    return "tangent, only the normal part removed, and it matches finite differences (3 cases)."


@checker
def sphere_hessian(fn):
    """``fn(A, x) -> Hx (d,d)``: the Riemannian Hessian of f(x) = xᵀAx on the unit sphere at ``x``, as a
    symmetric matrix acting on the tangent space. Checks symmetry, P Hx P = Hx, and the second derivative
    of f along geodesics at random unit x (a critical point is not needed)."""
    for d, seed in ((2, 0), (3, 1), (5, 2)):
        B = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=F64)
        A = (B + B.T) / 2
        x = _sphere(1, d, seed + 5)[0]
        Hx = torch.from_numpy(as_array(call_student(fn, A.clone(), x.clone()), "your Hessian", (d, d)))
        if float((Hx - Hx.T).abs().max()) > 1e-10:
            raise Fail(f"your Hessian is not symmetric (d={d}). Hint: a Hessian is a symmetric matrix.")
        P = torch.eye(d, dtype=F64) - torch.outer(x, x)
        if float((P @ Hx @ P - Hx).abs().max()) > 1e-10:
            raise Fail(f"your Hessian does not act on the tangent space only (P H P != H, d={d}). Hint: "
                       "sandwich with the projector P = I - x xᵀ.")
        f = lambda z: float(z @ A @ z)                               # noqa: E731
        g = torch.Generator().manual_seed(seed + 7)
        for _ in range(3):
            t = P @ torch.randn(d, generator=g, dtype=F64)
            eps = 1e-4
            fd = (f(_exp(x[None], t[None], eps)[0]) - 2 * f(x) + f(_exp(x[None], t[None], -eps)[0])) / eps**2
            if abs(fd - float(t @ Hx @ t)) > 1e-5 * (1 + abs(fd)):
                raise Fail(f"tᵀ H t does not match the second derivative of f along the geodesic in a "
                           f"tangent direction t (d={d}). Hint: the sphere bends, so the Riemannian Hessian "
                           "has a curvature term involving <x, ∇f(x)>.")
    return "symmetric, tangent, and matches second derivatives along geodesics (3 dimensions)."


@checker
def certificate(fn):
    """``fn(W, k, h, lam) -> (lower, upper)``: lower = the worst one-vs-rest margin of the unit direction
    h/||h||, upper = the distance from w_k to the hull point Σ_j lam_j w_j. Checks lower <= ρ_k <= upper on
    random certificates, exactness of both formulas, and a tiny gap at the optimal certificate."""
    cases = [(_square_antiprism(), 0), (_sphere(7, 3, 3), 2), (_sphere(12, 4, 4), 5)]
    for W, k in cases:
        K, d = W.shape
        det = _details(W)
        lo_ref, up_ref = float(det.lower[k]), float(det.upper[k])
        g = torch.Generator().manual_seed(K)
        for trial in range(3):
            h = torch.randn(d, generator=g, dtype=F64) * 3.0           # not unit on purpose
            lam = torch.rand(K, generator=g, dtype=F64)
            lam[k] = 0.0
            lam = lam / lam.sum()
            out = call_student(fn, W.clone(), k, h.clone(), lam.clone())
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                raise Fail("return a pair (lower, upper).")
            lower, upper = as_scalar(out[0], "lower"), as_scalar(out[1], "upper")
            others = torch.cat([W[:k], W[k + 1:]])
            true_lower = float(((W[k] - others) @ (h / h.norm())).min())
            true_upper = float((W[k] - lam @ W).norm())
            if lower > up_ref + 1e-9:
                raise Fail(f"your lower bound exceeds the one-vs-rest distance of class {k} (K={K}, d={d}), "
                           "so it is not a lower bound. Hint: normalise h, and take the worst class j != k.")
            if upper < lo_ref - 1e-9:
                raise Fail(f"your upper bound is below the one-vs-rest distance of class {k} (K={K}, d={d}). "
                           "Hint: measure the distance to a point of the hull of the OTHER classes.")
            if abs(lower - true_lower) > 1e-9 or abs(upper - true_upper) > 1e-9:
                raise Fail(f"valid, but not the bounds this (h, lam) certifies (K={K}, d={d}): lower should "
                           "use h/||h|| and all j != k; upper the point Σ_j lam_j w_j.")
        hs = torch.as_tensor(det.h[k], dtype=F64)
        lam = torch.zeros(K, dtype=F64)
        sup, wts = torch.as_tensor(det.support[k]).long(), torch.as_tensor(det.weights[k], dtype=F64)
        lam[sup[sup >= 0]] = wts[sup >= 0]
        out = call_student(fn, W.clone(), k, hs, lam)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Fail("return a pair (lower, upper).")
        gap = as_scalar(out[1], "upper") - as_scalar(out[0], "lower")
        if not -1e-12 <= gap <= 1e-8:
            raise Fail(f"at the optimal (h*, λ*) the gap upper - lower should be ~0, got {gap:.2e}.")
    return "valid brackets for random (h, λ), and a gap < 1e-8 at the optimal certificate (3 codes)."


@checker
def rattler(fn):
    """``fn(W, tol) -> list of class indices`` whose one-vs-rest constraint is not binding (ρ_k > ρ + tol).
    Checked on codes with and without rattlers, and invariance under rotation and relabelling."""
    from ..geometry import random_rotation

    base = [(_square_antiprism(), 1e-6), (_pole_and_triangle(), 1e-6), (_sphere(9, 3, 8), 1e-6)]
    Q = random_rotation(3, seed=1).to(F64)
    perm = torch.tensor([3, 0, 2, 1])
    base.append((_pole_and_triangle()[perm] @ Q.T, 1e-6))
    base.append((_pole_and_triangle(), 0.5))                        # a big tol hides the slack of ~0.34
    for W, tol in base:
        det = _details(W)
        rho_k = det.rho
        want = sorted(int(k) for k in torch.nonzero(rho_k > float(rho_k.min()) + tol).flatten())
        out = call_student(fn, W.clone(), tol)
        try:
            got = sorted(int(k) for k in (out.tolist() if isinstance(out, torch.Tensor) else out))
        except (TypeError, ValueError):
            raise Fail(f"return a list of class indices, got {type(out).__name__}.") from None
        K = W.shape[0]
        if any(k < 0 or k >= K for k in got):
            raise Fail(f"class indices must lie in 0..{K - 1}.")
        extra, missing = set(got) - set(want), set(want) - set(got)
        if extra:
            raise Fail(f"you listed a class whose constraint is binding (ρ_k within tol of ρ(W)), K={K}, "
                       f"tol={tol}. Hint: compare every ρ_k with the minimum over k.")
        if missing:
            raise Fail(f"you missed {len(missing)} class(es) with ρ_k > ρ(W) + tol (K={K}, tol={tol}). "
                       "Hint: compute all K one-vs-rest distances.")
    return "right rattlers on 5 codes (with/without rattlers, rotated and relabelled, two tolerances)."
