"""Generic peers for the softmax-code problem: maximise rho(W) over K unit rows in R^d.

Every peer takes ``(K, d, rec, *, seed, ...)`` with ``rec`` a :class:`bench_common.Recorder` (the time cap
and the snapshots) and returns a short dict describing what it did. All of them start from the same
kind of point (i.i.d. Gaussian rows, normalised, seeded) and are scored afterwards with the exact rho
of the row-normalised snapshots.

The smoothed problem shared by the Riemannian peers is the smoothed HardMax (lesson 03):

    f_tau(W, H) = tau * logsumexp_{k, j != k} ( <w_j - w_k, h_k> / tau ),   unit rows w_k, h_k,

whose tau -> 0 limit max_{k, j != k} <w_j - w_k, h_k> has optimal value -rho* (margin duality), with
tau annealed geometrically (continuation), as is standard for a smoothed max-min problem.
"""
from __future__ import annotations

import numpy as np
import scipy.optimize
import torch


def start_point(K: int, d: int, *, seed: int, batch: int | None = None) -> np.ndarray:
    """Random unit rows ``(K, d)`` (or ``(batch, K, d)``), float64, reproducible."""
    rng = np.random.default_rng(seed)
    shape = (K, d) if batch is None else (batch, K, d)
    X = rng.standard_normal(shape)
    return X / np.linalg.norm(X, axis=-1, keepdims=True)


def smoothed_hardmax(W: torch.Tensor, H: torch.Tensor, tau: float) -> torch.Tensor:
    """tau * logsumexp over (k, j != k) of <w_j - w_k, h_k>/tau; batched over leading dims, summed."""
    S = H @ W.transpose(-1, -2)                       # S[..., k, j] = <h_k, w_j>
    M = S - torch.diagonal(S, dim1=-2, dim2=-1).unsqueeze(-1)
    eye = torch.eye(W.shape[-2], dtype=torch.bool, device=W.device)
    M = M.masked_fill(eye, float("-inf"))
    return (tau * torch.logsumexp(M.flatten(-2) / tau, dim=-1)).sum()


def geometric(frac: float, start: float, end: float) -> float:
    """Geometric annealing from ``start`` (frac = 0) to ``end`` (frac >= 1)."""
    return start * (end / start) ** min(max(frac, 0.0), 1.0)


def min_margin(W: torch.Tensor, H: torch.Tensor) -> torch.Tensor:
    """min_{k, j != k} <w_k - w_j, h_k> per restart: a certified lower bound on rho(W) for unit H."""
    S = H @ W.transpose(-1, -2)
    M = torch.diagonal(S, dim1=-2, dim2=-1).unsqueeze(-1) - S
    eye = torch.eye(W.shape[-2], dtype=torch.bool, device=W.device)
    return M.masked_fill(eye, float("inf")).flatten(-2).amin(-1)


def best_restarts(W: torch.Tensor, H: torch.Tensor, top: int = 3) -> torch.Tensor:
    """The ``top`` restarts with the largest min margin (what a user of the batch would keep; the
    snapshot keeps only these, so scoring stays cheap)."""
    with torch.no_grad():
        idx = torch.argsort(min_margin(W, H), descending=True)[:top]
        return W[idx]


# ----------------------------------------------------------------------------------------------
# (a) geoopt RiemannianAdam on the sphere, smoothed HardMax
# ----------------------------------------------------------------------------------------------
def default_restarts(K: int) -> int:
    """The batch size softmax_code uses by default (so the geoopt peer gets the same batch)."""
    return max(4, min(64, 8192 // K))


def geoopt_adam(K, d, rec, *, seed=0, restarts=None, steps=2000, lr=(0.05, 1e-4), tau=(0.1, 1e-3)):
    """RiemannianAdam on (W, H) in products of spheres (geoopt.Sphere on rows), H starting at W, with
    tau and lr annealed geometrically over ``steps``: the same surrogate, batch of restarts and
    schedule as the first phase of softmax_code, done by a generic library."""
    import geoopt

    R = default_restarts(K) if restarts is None else restarts
    sphere = geoopt.Sphere()
    W0 = torch.as_tensor(start_point(K, d, seed=seed, batch=R))
    W = geoopt.ManifoldParameter(W0.clone(), manifold=sphere)
    H = geoopt.ManifoldParameter(W0.clone(), manifold=sphere)
    opt = geoopt.optim.RiemannianAdam([W, H], lr=lr[0])
    step = 0
    while step < steps and not rec.out_of_time():
        frac = step / max(steps - 1, 1)
        for group in opt.param_groups:
            group["lr"] = geometric(frac, *lr)
        opt.zero_grad(set_to_none=True)
        smoothed_hardmax(W, H, geometric(frac, *tau)).backward()
        opt.step()
        step += 1
        rec.offer(lambda: best_restarts(W.data, H.data))
    rec.offer(lambda: best_restarts(W.data, H.data), force=True)
    return {"steps": step, "restarts": R, "lr": list(lr), "tau": list(tau)}


# ----------------------------------------------------------------------------------------------
# (b) pymanopt conjugate gradient on Oblique x Oblique, smoothed HardMax with continuation
# ----------------------------------------------------------------------------------------------
def pymanopt_cg(K, d, rec, *, seed=0, taus=(0.1, 0.03, 0.01, 3e-3, 1e-3), max_iterations=300):
    """pymanopt ConjugateGradient on the product of two Oblique(d, K) manifolds (unit columns =
    our unit rows, transposed); one CG run per tau, warm-started (continuation)."""
    import pymanopt
    from pymanopt.manifolds import Oblique, Product
    from pymanopt.optimizers import ConjugateGradient

    manifold = Product([Oblique(d, K), Oblique(d, K)])
    tau_box = [taus[0]]

    @pymanopt.function.pytorch(manifold)
    def cost(Wt, Ht):
        rec.offer(lambda: Wt.detach().T)
        return smoothed_hardmax(Wt.T, Ht.T, tau_box[0])

    problem = pymanopt.Problem(manifold, cost)
    W0 = start_point(K, d, seed=seed).T.copy()
    x = [W0, W0.copy()]
    iters = 0
    for tau in taus:
        left = rec.cap - rec.elapsed()
        if left <= 0:
            break
        tau_box[0] = tau
        opt = ConjugateGradient(max_iterations=max_iterations, max_time=left, verbosity=0, log_verbosity=0)
        res = opt.run(problem, initial_point=x)
        x, iters = res.point, iters + res.iterations
    rec.offer(lambda: x[0].T, force=True)
    return {"iterations": iters, "taus": list(taus), "max_iterations_per_tau": max_iterations}


# ----------------------------------------------------------------------------------------------
# (c) scipy SLSQP on the max-min program in (W, H, t)
# ----------------------------------------------------------------------------------------------
class _Timeout(Exception):
    pass


def slsqp(K, d, rec, *, seed=0, maxiter=1000, max_vars=2500):
    """max t s.t. <w_k - w_j, h_k> >= t (j != k), ||w_k||^2 = ||h_k||^2 = 1, with exact Jacobians.

    The problem has 2Kd+1 variables and K(K-1) inequality constraints, all dense for SLSQP; sizes
    with more than ``max_vars`` variables are not run (reported as such)."""
    n = 2 * K * d + 1
    if n > max_vars:
        return {"skipped": f"2Kd+1 = {n} variables and K(K-1) = {K * (K - 1)} dense constraints "
                           f"exceed max_vars={max_vars} for SLSQP"}
    W0 = start_point(K, d, seed=seed)
    off = ~np.eye(K, dtype=bool)
    kk, jj = np.nonzero(off)                      # constraint c = (k, j), j != k
    m = kk.size
    rows = np.arange(m)

    def unpack(x):
        return x[:K * d].reshape(K, d), x[K * d:2 * K * d].reshape(K, d), x[-1]

    def check_time():
        if rec.out_of_time():
            raise _Timeout

    def fun(x):
        check_time()
        return -x[-1]

    def grad(x):
        g = np.zeros(n)
        g[-1] = -1.0
        return g

    def ineq(x):
        check_time()
        W, H, t = unpack(x)
        return np.einsum("cd,cd->c", W[kk] - W[jj], H[kk]) - t

    def ineq_jac(x):
        W, H, _ = unpack(x)
        J = np.zeros((m, n))
        Jw = J[:, :K * d].reshape(m, K, d)
        Jw[rows, kk] += H[kk]
        Jw[rows, jj] -= H[kk]
        J[:, K * d:2 * K * d].reshape(m, K, d)[rows, kk] = W[kk] - W[jj]
        J[:, -1] = -1.0
        return J

    def eq(x):
        W, H, _ = unpack(x)
        return np.concatenate([(W * W).sum(1) - 1.0, (H * H).sum(1) - 1.0])

    def eq_jac(x):
        W, H, _ = unpack(x)
        J = np.zeros((2 * K, n))
        J[:K, :K * d].reshape(K, K, d)[np.arange(K), np.arange(K)] = 2 * W
        J[K:, K * d:2 * K * d].reshape(K, K, d)[np.arange(K), np.arange(K)] = 2 * H
        return J

    t0 = float(np.min(np.einsum("cd,cd->c", W0[kk] - W0[jj], W0[kk])))
    x0 = np.concatenate([W0.ravel(), W0.ravel(), [t0]])
    state = {"x": x0, "iters": 0}

    def callback(xk):
        state["x"], state["iters"] = xk, state["iters"] + 1
        rec.offer(lambda: unpack(xk)[0])

    status = "converged"
    try:
        res = scipy.optimize.minimize(fun, x0, jac=grad, method="SLSQP", callback=callback,
                                      constraints=[{"type": "ineq", "fun": ineq, "jac": ineq_jac},
                                                   {"type": "eq", "fun": eq, "jac": eq_jac}],
                                      options={"maxiter": maxiter, "ftol": 1e-12})
        state["x"] = res.x
        status = f"scipy: {res.message}"
    except _Timeout:
        status = "time cap"
    rec.offer(lambda: unpack(state["x"])[0], force=True)
    return {"iterations": state["iters"], "status": status}


# ----------------------------------------------------------------------------------------------
# (d) HardMax subgradient method with renormalisation
# ----------------------------------------------------------------------------------------------
def hardmax_subgradient(K, d, rec, *, seed=0, lr=0.05, decay=1e-3, max_steps=100_000):
    """Subgradient steps on F(W, H) = max_{k, j != k} <w_j - w_k, h_k>, rows renormalised after each
    step; step size lr / sqrt(1 + decay * t). Only the worst pair (k*, j*) gets a subgradient:
    w_{j*} -= s h_{k*}, w_{k*} += s h_{k*}, h_{k*} -= s (w_{j*} - w_{k*})."""
    W = start_point(K, d, seed=seed)
    H = W.copy()
    neg_inf_diag = np.diag(np.full(K, -np.inf))
    step = 0
    while step < max_steps and not rec.out_of_time():
        S = H @ W.T
        M = S - np.diag(S)[:, None] + neg_inf_diag
        k, j = divmod(int(np.argmax(M)), K)
        s = lr / np.sqrt(1.0 + decay * step)
        gw = H[k].copy()
        gh = W[j] - W[k]
        W[j] -= s * gw
        W[k] += s * gw
        H[k] -= s * gh
        for r in (j, k):
            W[r] /= np.linalg.norm(W[r])
        H[k] /= np.linalg.norm(H[k])
        step += 1
        rec.offer(lambda: W)
    rec.offer(lambda: W, force=True)
    return {"steps": step, "lr": lr, "decay": decay, "max_steps": max_steps}


PEERS = {
    "geoopt_adam": geoopt_adam,
    "pymanopt_cg": pymanopt_cg,
    "scipy_slsqp": slsqp,
    "hardmax_subgradient": hardmax_subgradient,
}
