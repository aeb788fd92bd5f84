"""L-BFGS for R independent problems at once: ``x (R, P)``, one objective per row.

Every row keeps its own curvature pairs, its own step length (backtracking Armijo) and its own stopping
test, so the batch runs the same iterations as R separate runs (up to rounding), in one tensor on the
device. Used by :mod:`gnc_teach.models.deep_linear`, whose closed forms need gradient norms of ~1e-10:
there L-BFGS needs tens of iterations where full-batch Adam needs tens of thousands of steps.
"""
from __future__ import annotations

import torch

from .._stop import tick

__all__ = ["batched_lbfgs"]


def _direction(g, S, Y, RHO):
    """Two-loop recursion, row by row: d = -H_k g with each row's own (s, y) pairs (rho = 0 skips one)."""
    q = g.clone()
    alphas = []
    for s, y, rho in zip(reversed(S), reversed(Y), reversed(RHO)):
        a = rho * (s * q).sum(1)
        alphas.append(a)
        q -= a[:, None] * y
    if S:
        s, y = S[-1], Y[-1]
        yy = (y * y).sum(1)
        gamma = torch.where((RHO[-1] > 0) & (yy > 0), (s * y).sum(1) / yy.clamp_min(torch.finfo(g.dtype).tiny),
                            torch.ones_like(yy))
    else:  # first step: a small step of length 1e-3 along -g
        gamma = 1e-3 / g.norm(dim=1).clamp_min(torch.finfo(g.dtype).tiny)
    r = gamma[:, None] * q
    for (s, y, rho), a in zip(zip(S, Y, RHO), reversed(alphas)):
        r += s * (a - rho * (y * r).sum(1))[:, None]
    return -r


def batched_lbfgs(fun, x, *, max_iter: int = 3000, gtol: float | None = None, history: int = 20,
                  c1: float = 1e-4, max_halvings: int = 50, patience: int = 10, progress=None, stop=None):
    """Minimise R independent smooth objectives. ``fun(x) -> (f (R,), grad (R, P))``.

    Stops a row when its gradient norm is <= ``gtol`` (default 0.01·sqrt(machine epsilon): 1.5e-10 in
    float64, 3.5e-6 in float32), when its line search finds no acceptable step (where the objective is flat
    to rounding, a step is still accepted if it lowers the gradient norm), after ``patience`` iterations in
    a row without progress (the objective falls by no more than rounding and the gradient norm stays
    above half its best value), or after ``max_iter`` iterations.
    ``progress``: an optional tqdm-like object updated once per iteration; ``stop``: an optional callable
    asked after every iteration (:class:`gnc_teach._stop.Stop`), True ends the run with the current iterate.
    Returns ``x, f, g, iterations (R,) long``.
    """
    eps = torch.finfo(x.dtype).eps
    gtol = 0.01 * eps ** 0.5 if gtol is None else gtol
    f, g = fun(x)
    R = x.shape[0]
    active = torch.ones(R, dtype=torch.bool, device=x.device)
    iters = torch.zeros(R, dtype=torch.long, device=x.device)
    stalled = torch.zeros(R, dtype=torch.long, device=x.device)
    gbest = g.norm(dim=1)
    S, Y, RHO = [], [], []
    for _ in range(max_iter):
        gnorm = g.norm(dim=1)
        active &= gnorm > gtol
        if not bool(active.any()):
            break
        d = _direction(g, S, Y, RHO)
        slope = (d * g).sum(1)
        uphill = slope >= 0                       # lost curvature information: fall back to -g
        d = torch.where(uphill[:, None], -g, d)
        slope = torch.where(uphill, -(g * g).sum(1), slope)
        d = torch.where(active[:, None], d, torch.zeros_like(d))
        t = torch.ones(R, dtype=x.dtype, device=x.device)
        todo = active.clone()
        x_new, f_new, g_new = x.clone(), f.clone(), g.clone()
        for _ in range(max_halvings):
            ft, gt = fun(x + t[:, None] * d)
            armijo = ft <= f + c1 * t * slope
            flat = ((ft - f).abs() <= 8 * eps * f.abs()) & (gt.norm(dim=1) < gnorm)
            ok = todo & torch.isfinite(ft) & (armijo | flat)
            x_new = torch.where(ok[:, None], x + t[:, None] * d, x_new)
            f_new = torch.where(ok, ft, f_new)
            g_new = torch.where(ok[:, None], gt, g_new)
            todo &= ~ok
            if not bool(todo.any()):
                break
            t = torch.where(todo, 0.5 * t, t)
        active &= ~todo                           # no acceptable step: converged to rounding
        gbest = torch.minimum(gbest, gnorm)
        improved = (f_new < f - 4 * eps * f.abs()) | (g_new.norm(dim=1) < 0.5 * gbest)
        stalled = torch.where(improved, torch.zeros_like(stalled), stalled + 1)
        active &= stalled < patience
        iters += active.long()
        s, y = x_new - x, g_new - g
        sy = (s * y).sum(1)
        S.append(s)
        Y.append(y)
        RHO.append(torch.where(sy > 0, 1 / sy.clamp_min(torch.finfo(x.dtype).tiny), torch.zeros_like(sy)))
        if len(S) > history:
            S.pop(0), Y.pop(0), RHO.pop(0)
        x, f, g = x_new, f_new, g_new
        if tick(progress, stop):
            break
    return x, f, g, iters
