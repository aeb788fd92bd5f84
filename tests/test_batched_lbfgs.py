"""The batched L-BFGS behind the deep linear trainer: rows are independent problems."""
import torch

from gnc_teach._solvers.batched_lbfgs import batched_lbfgs

F64 = torch.float64


def _problems(R, P, seed=0):
    """R strictly convex quadratics 1/2 xᵀA_r x - b_rᵀx (condition number ~1e3) and a Rosenbrock row."""
    g = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(R, P, P, generator=g, dtype=F64))
    A = Q @ torch.diag_embed(torch.logspace(0, 3, P, dtype=F64).expand(R, P)) @ Q.transpose(1, 2)
    b = torch.randn(R, P, generator=g, dtype=F64)

    def fun(x):
        Ax = (A @ x[..., None])[..., 0]
        return 0.5 * (x * Ax).sum(1) - (b * x).sum(1), Ax - b
    return fun, torch.linalg.solve(A, b)


def test_solves_quadratics_to_the_rounding_of_the_objective():
    # The line search compares objective values, so it stops where f is flat to rounding:
    # f - f* ~ eps |f|, i.e. x within ~sqrt(eps |f| / λ_min) ~ 1e-7 of x* (λ_min = 1 here).
    fun, xstar = _problems(5, 12)
    x, f, g, iters = batched_lbfgs(fun, torch.zeros(5, 12, dtype=F64), gtol=1e-12)
    fstar, _ = fun(xstar)
    assert ((f - fstar) <= 1e-13 * fstar.abs().clamp_min(1)).all() and (x - xstar).abs().max() < 1e-7
    assert iters.shape == (5,) and int(iters.max()) < 200


def test_rows_do_not_interact():
    fun, _ = _problems(4, 8, seed=1)
    x0 = torch.randn(4, 8, generator=torch.Generator().manual_seed(2), dtype=F64)
    xb, fb, _, itb = batched_lbfgs(fun, x0, gtol=1e-11)

    for r in range(4):   # the same row alone: pad the batch with a converged copy of nothing else
        def single(x, r=r):
            full = xb.clone()
            full[r] = x[0]
            f, g = fun(full)
            return f[r:r + 1], g[r:r + 1]
        xs, fs, _, its = batched_lbfgs(single, x0[r:r + 1], gtol=1e-11)
        assert int(its[0]) == int(itb[r]) and torch.allclose(xs[0], xb[r], atol=1e-12, rtol=0)


def test_rosenbrock_and_float32_stop():
    def rosen(x):
        x = x.detach().requires_grad_(True)
        f = (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(1)
        g, = torch.autograd.grad(f.sum(), x)
        return f.detach(), g
    x, f, g, _ = batched_lbfgs(rosen, torch.full((2, 4), -1.0, dtype=F64))
    assert torch.allclose(x, torch.ones(2, 4, dtype=F64), atol=1e-7)
    x32, *_, it32 = batched_lbfgs(rosen, torch.full((1, 4), -1.0, dtype=torch.float32), max_iter=5000)
    assert int(it32[0]) < 5000 and torch.allclose(x32, torch.ones(1, 4), atol=1e-2)  # stops: flat to rounding
