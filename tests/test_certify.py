"""Tests for gnc_teach.certify: Riemannian calculus on products of spheres and the one-vs-rest certificates."""
import json
import math

import pytest
import torch

from gnc_teach import certify as C
from gnc_teach.geometry import random_sphere, simplex_etf

F64 = torch.float64
Z2 = 1 / (2 * math.sqrt(2) + 1)  # square antiprism (Tammes N=8): max cos = z^2


def square_antiprism():
    """The Tammes-optimal 8-point code: two squares at heights ±z, turned 45° against each other."""
    z, s = math.sqrt(Z2), math.sqrt(1 - Z2)
    rows = [[s * math.cos(k * math.pi / 2), s * math.sin(k * math.pi / 2), z] for k in range(4)]
    rows += [[s * math.cos(k * math.pi / 2 + math.pi / 4), s * math.sin(k * math.pi / 2 + math.pi / 4), -z]
             for k in range(4)]
    return torch.tensor(rows, dtype=F64)


def pole_and_triangle():
    """K=4, d=3: an equatorial triangle and the north pole. ρ_pole = 1, ρ_k = sqrt(1.8) for the others."""
    rows = [[math.cos(a), math.sin(a), 0.0] for a in (0, 2 * math.pi / 3, 4 * math.pi / 3)] + [[0, 0, 1.0]]
    return torch.tensor(rows, dtype=F64)


def collapsed(W, n):
    y = torch.arange(W.shape[0]).repeat_interleave(n)
    return W[y].clone(), y


def sphere_exp(X, V, t):
    """Exponential map of the product of spheres (row-wise great circles)."""
    nv = V.norm(dim=1, keepdim=True)
    safe = torch.where(nv > 0, nv, torch.ones_like(nv))
    return X * torch.cos(t * nv) + V / safe * torch.sin(t * nv)


def random_problem(K=5, d=3, n=2, seed=0):
    W = random_sphere(K, d, seed=seed)
    y = torch.arange(K).repeat_interleave(n)
    H = random_sphere(K * n, d, seed=seed + 100)
    return W, H, y


# ----------------------------------------------------------------------------- the objective
def test_spherical_ce_matches_hardmax_ce_and_log_form():
    hardmax = pytest.importorskip("gnc_teach.hardmax")
    W, H, y = random_problem()
    for tau in (1.0, 0.3, 0.05):
        ref = float(hardmax.ce_loss(W, H, y, tau))
        assert float(C.spherical_ce(W, H, y, tau)) == pytest.approx(ref, rel=1e-12)
        assert float(C.spherical_ce(W, H, y, tau, log=True)) == pytest.approx(tau * math.log(ref), rel=1e-10)


def test_log_ce_is_finite_where_ce_underflows_the_naive_formula():
    W = square_antiprism()
    H, y = collapsed(W, 1)
    tau = 0.004  # CE ~ exp(-0.739/0.004) ~ 1e-80: a logsumexp difference would round to 0
    val = float(C.spherical_ce(W, H, y, tau, log=True))
    assert math.isfinite(val)
    # τ log CE is sandwiched around the HardMax value -(1 - max cos) = -ρ (proved bound)
    lo, hi = C.tau_log_ce_bound(-(1 - Z2), tau, K=8, N=8)
    assert lo <= val <= hi


# ----------------------------------------------------------------------------- Riemannian gradient
def test_riemannian_gradient_is_tangent_and_matches_finite_differences():
    W, H, y = random_problem(seed=1)
    f = C.ufm_objective(5, y, 0.4)
    X = C.stack(W, H)
    G = C.riemannian_gradient(f, X)
    assert G.shape == X.shape and G.dtype == F64
    assert float((G * X).sum(dim=1).abs().max()) < 1e-14
    V = C.project_tangent(X, torch.randn(X.shape, generator=torch.Generator().manual_seed(2), dtype=F64))
    eps = 1e-6
    fd = (float(f(sphere_exp(X, V, eps))) - float(f(sphere_exp(X, V, -eps)))) / (2 * eps)
    assert fd == pytest.approx(float((G * V).sum()), rel=1e-6, abs=1e-9)


def test_gradient_vanishes_at_collapsed_simplex_etf():
    W = simplex_etf(4, 3, seed=0)
    H, y = collapsed(W, 3)
    G = C.riemannian_gradient(C.ufm_objective(4, y, 0.5), C.stack(W, H))
    assert float(G.norm()) < 1e-13


# ----------------------------------------------------------------------------- Riemannian Hessian
def test_hessian_is_symmetric_and_matches_second_derivative_along_geodesics():
    W, H, y = random_problem(K=4, n=1, seed=3)
    f = C.ufm_objective(4, y, 0.5)
    X = C.stack(W, H)
    Hs = C.riemannian_hessian(f, X)
    assert Hs.shape == (X.numel(), X.numel())
    assert torch.allclose(Hs, Hs.T, atol=1e-14)
    g = torch.Generator().manual_seed(4)
    for _ in range(3):
        V = C.project_tangent(X, torch.randn(X.shape, generator=g, dtype=F64))
        eps = 1e-4
        fd = (float(f(sphere_exp(X, V, eps))) - 2 * float(f(X)) + float(f(sphere_exp(X, V, -eps)))) / eps**2
        v = V.reshape(-1)
        assert fd == pytest.approx(float(v @ Hs @ v), rel=1e-5, abs=1e-7)


def test_tangent_basis_and_rotation_directions():
    X = random_sphere(6, 4, seed=5)
    B = C.tangent_basis(X)
    assert B.shape == (24, 18)
    assert torch.allclose(B.T @ B, torch.eye(18, dtype=F64), atol=1e-12)
    assert float((B.reshape(6, 4, 18) * X[:, :, None]).sum(dim=1).abs().max()) < 1e-14  # columns are tangent
    R = C.rotation_directions(X)
    assert R.shape == (24, 6)   # dim so(4) = 6
    # rotations are tangent: no component along any x_i
    assert float((R.reshape(6, 4, 6) * X[:, :, None]).sum(dim=1).abs().max()) < 1e-14


def test_hessian_report_at_collapsed_simplex_etf():
    W = simplex_etf(4, 3, seed=0)
    H, y = collapsed(W, 2)
    rep = C.hessian_min_eig_tangent(C.ufm_objective(4, y, 0.5), C.stack(W, H))
    assert rep.n_variables == 36 and rep.n_symmetry == 3
    assert rep.grad_norm < 1e-13 and rep.symmetry_residual < 1e-12
    assert len(rep.eigenvalues) == 24 and len(rep.transverse) == 21
    assert rep.min_eig > 1e-3            # strict local minimum modulo rotations
    assert sorted(abs(e) for e in rep.eigenvalues)[:3] == pytest.approx([0, 0, 0], abs=1e-12)


def test_newton_polishes_a_perturbed_etf_to_a_critical_point():
    W = simplex_etf(4, 3, seed=0)
    H, y = collapsed(W, 1)
    X = C.stack(W, H) + 1e-3 * random_sphere(8, 3, seed=7)
    X = X / X.norm(dim=1, keepdim=True)
    f = C.ufm_objective(4, y, 0.5, log=True)
    Xs, norms = C.riemannian_newton(f, X, steps=15)
    assert norms[0] > 1e-5 and norms[-1] < 1e-12
    assert C.hessian_min_eig_tangent(f, Xs).min_eig > 0


def test_bad_inputs_raise_clear_errors():
    X = random_sphere(4, 3, seed=0)
    f = C.ufm_objective(2, torch.tensor([0, 1]), 1.0)
    with pytest.raises(ValueError, match="unit vectors"):
        C.riemannian_gradient(f, 2 * X)
    with pytest.raises(TypeError, match="scalar"):
        C.riemannian_gradient(lambda Z: Z.sum(dim=1), X)
    with pytest.raises(ValueError, match="d >= 2"):
        C.tangent_basis(torch.ones(3, 1, dtype=F64))
    with pytest.raises(ValueError, match="tau"):
        C.ufm_objective(2, torch.tensor([0, 1]), 0.0)
    with pytest.raises(TypeError, match="X must be"):
        C.riemannian_gradient(f, "not a matrix")


# ----------------------------------------------------------------------------- one-vs-rest certificates
def test_lower_and_upper_bounds_sandwich_the_pole_distance():
    W = pole_and_triangle()
    # class 3 (pole): h = e3 gives lower 1; the centroid of the triangle (origin) gives upper 1
    assert C.margin_lower_bound(W, 3, [0, 0, 2.0]) == pytest.approx(1.0, abs=1e-15)
    assert C.hull_upper_bound(W, 3, [1 / 3, 1 / 3, 1 / 3, 0]) == pytest.approx(1.0, abs=1e-15)
    # any h and any lam bracket it
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        h = torch.randn(3, generator=g, dtype=F64)
        lam = torch.rand(4, generator=g, dtype=F64)
        lam[3] = 0
        lam /= lam.sum()
        assert C.margin_lower_bound(W, 3, h) <= 1 + 1e-12 <= C.hull_upper_bound(W, 3, lam) + 2e-12
    with pytest.raises(ValueError, match="simplex weights"):
        C.hull_upper_bound(W, 3, [0.5, 0.5, 0.5, 0])
    with pytest.raises(ValueError, match="length d=3"):
        C.margin_lower_bound(W, 0, [1.0, 0.0])
    with pytest.raises(ValueError, match="class index"):
        C.margin_lower_bound(W, 4, [1.0, 0.0, 0.0])


def test_duality_gap_on_square_antiprism():
    pytest.importorskip("gnc_teach.margins")
    cert = C.duality_gap(square_antiprism())
    assert cert.max_gap < 1e-10
    assert float(cert.gap.min()) >= -1e-12
    assert float(cert.kkt.max()) < 1e-10
    assert torch.allclose(cert.rho, torch.full((8,), 1 - Z2, dtype=F64), atol=1e-10)
    assert C.rattlers(square_antiprism()) == []


def test_rattlers_of_pole_and_triangle():
    pytest.importorskip("gnc_teach.margins")
    W = pole_and_triangle()
    cert = C.duality_gap(W)
    assert torch.allclose(cert.rho, torch.tensor([math.sqrt(1.8)] * 3 + [1.0], dtype=F64), atol=1e-9)
    assert C.rattlers(W, tol=1e-6) == [0, 1, 2]
    with pytest.raises(ValueError, match="tol"):
        C.rattlers(W, tol=-1.0)


def test_class_spread_and_gnc1_except_rattlers():
    W = pole_and_triangle()
    H, y = collapsed(W, 3)
    H[1] = torch.tensor([math.cos(0.1), math.sin(0.1), 0.0], dtype=F64)   # class 0 rattles by 0.1 rad
    s = C.class_spread(H, y)
    assert s.shape == (4,)
    assert float(s[0]) == pytest.approx(2 * math.sin(0.05), rel=1e-12)
    assert float(s[1:].abs().max()) == 0
    out = C.gnc1_except_rattlers(H, y, [0])
    assert out["max_non_rattler"] == 0 and out["max_rattler"] == pytest.approx(2 * math.sin(0.05))
    assert C.gnc1_except_rattlers(H, y)["max_rattler"] is None
    with pytest.raises(ValueError, match="rattler_classes"):
        C.gnc1_except_rattlers(H, y, [7])


def test_self_duality_residual_on_square_antiprism():
    pytest.importorskip("gnc_teach.margins")
    W = square_antiprism()
    H, y = collapsed(W, 2)
    r = C.self_duality_residual(W, H, y)
    assert float(r["to_classifier"].max()) < 1e-14
    # the antiprism is also a Tammes code, so the margin direction h*_k is w_k itself
    assert float(r["to_margin"].max()) < 1e-8


def test_square_antiprism_constructor_matches_the_test_construction():
    W = C.square_antiprism()
    assert W.dtype == F64 and W.shape == (8, 3)
    assert torch.allclose(W.norm(dim=1), torch.ones(8, dtype=F64), atol=1e-15)
    G = W @ W.T
    G.fill_diagonal_(-2)
    assert float(G.max()) == pytest.approx(Z2, abs=1e-15)


def test_newton_escapes_a_saddle():
    # the collapsed regular square in d=3 (K=4 on a great circle) is a critical point of CE by symmetry,
    # but not a minimum (the simplex ETF is better); the saddle-free step must leave it
    W = torch.tensor([[1.0, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]], dtype=F64)
    H, y = collapsed(W, 1)
    f = C.ufm_objective(4, y, 0.5, log=True)
    X0 = C.stack(W, H)
    assert C.hessian_min_eig_tangent(f, X0).min_eig < 0            # a saddle
    X = X0 + 1e-4 * random_sphere(8, 3, seed=1)
    X, norms = C.riemannian_newton(f, X / X.norm(dim=1, keepdim=True), steps=40)
    rep = C.hessian_min_eig_tangent(f, X)
    assert rep.grad_norm < 1e-10 and rep.min_eig > 0 and float(f(X)) < float(f(X0))


def test_certified_path_on_square_antiprism_problem():
    pytest.importorskip("gnc_teach.models.ufm")
    pytest.importorskip("gnc_teach.margins")
    path = C.certified_ufm_path(8, 3, 1, [0.3, 0.1], warm_steps=200, seed=0)
    assert [p.tau for p in path] == [0.3, 0.1]
    for p in path:
        assert p.grad_norm < 1e-12 and p.hessian.min_eig > 0 and p.hessian.n_symmetry == 3
        assert 0 <= p.rho_upper - p.rho_lower < 1e-10
    rho_best = 1 - Z2
    assert 0 < rho_best - path[1].rho_upper < rho_best - path[0].rho_upper    # ρ(W_τ) rises towards ρ_best


# ----------------------------------------------------------------------------- softmax vs Tammes search
def test_shipped_search_cache_is_complete_and_consistent():
    rows = C.load_search()
    grid = {(d, K) for d, Ks in C.SEARCH_GRID.items() for K in Ks}
    assert {(r["d"], r["K"]) for r in rows} == grid and len(rows) == len(grid)
    for r in rows:
        assert r["verdict"] in C.VERDICTS
        assert r["max_gap"] < 1e-12
        assert r["rho_tammes"] >= r["one_minus_cos_tammes"] - 1e-12       # rho >= 1 - max cos (proved)
        assert r["rho_softmax"] == max(r["rho_softmax_w"], r["rho_softmax_random"])
        assert r["angle_sloane"] == C.sloane_angle(r["K"], r["d"])
        if r["K"] <= 2 * r["d"]:
            assert r["rho_tammes"] == pytest.approx(1.0, abs=1e-9)         # rho* = 1 for d+2 <= K <= 2d


def _same_rows(a, b):
    """Row lists equal but for the run time, NaN equal to NaN (rho_ufm is NaN when the UFM route was not run)."""
    def key(r):
        return {k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items() if k != "seconds"}
    return [key(r) for r in a] == [key(r) for r in b]


def test_softmax_vs_tammes_small_case(tmp_path):
    pytest.importorskip("gnc_teach.codes")
    r = C.softmax_vs_tammes(3, 6, restarts=4, ufm=False)
    assert r["verdict"] == "agree" and r["rho_tammes"] == pytest.approx(1.0, abs=1e-9)
    assert r["angle_tammes"] == pytest.approx(90.0, abs=1e-6) and math.isnan(r["rho_ufm"])
    assert set(C.SEARCH_FIELDS) <= set(r)
    assert r["rho_softmax_random"] == pytest.approx(1.0, abs=1e-9)          # the independent start agrees
    assert r["angle_sloane"] == 90.0 and C.sloane_angle(31, 3) is None and C.sloane_angle(6, 4) is None


def test_search_writes_as_it_goes_and_resumes(tmp_path, monkeypatch):
    path, results = tmp_path / "s.csv", tmp_path / "s.jsonl"
    real = C.softmax_vs_tammes

    def crash_on_k6(d, K, **kw):
        if K == 6:
            raise KeyboardInterrupt            # the run stops during the second configuration
        return real(d, K, **kw)

    monkeypatch.setattr(C, "softmax_vs_tammes", crash_on_k6)
    with pytest.raises(KeyboardInterrupt):
        C.run_search(path, grid={3: [5, 6]}, effort=0, ufm_max_K=0, verbose=False)
    assert [json.loads(ln)["K"] for ln in results.read_text().splitlines()] == [5]   # saved when finished
    (first,) = C.load_search(path)
    assert (first["d"], first["K"], first["effort"]) == (3, 5, 0)

    calls = []
    monkeypatch.setattr(C, "softmax_vs_tammes", lambda d, K, **kw: calls.append(K) or real(d, K, **kw))
    C.run_search(path, grid={3: [5, 6]}, effort=0, ufm_max_K=0, resume=True, verbose=False)
    assert calls == [6]                                          # only the missing configuration
    rows = C.load_search(path)
    assert [r["K"] for r in rows] == [5, 6] and _same_rows(rows[:1], [first])
    C.run_search(path, grid={3: [5, 6]}, effort=0, ufm_max_K=0, resume=True, redo=[(3, 5)], verbose=False)
    assert calls == [6, 5]                                       # --redo recomputes a configuration
    assert _same_rows(C.load_search(path), rows)                 # the rounds depend on the seed only
    assert "effort=0 rounds per solver" in path.read_text()


def test_softmax_vs_tammes_both_starts_are_reported():
    pytest.importorskip("gnc_teach.codes")
    r = C.softmax_vs_tammes(3, 8, restarts=4, ufm=False, h_start="both")
    assert r["h_start"] == "both" and r["verdict"] == "agree"
    assert r["rho_softmax"] == max(r["rho_softmax_w"], r["rho_softmax_random"])
    assert r["rho_softmax_random"] == pytest.approx(1 - 1 / (1 + 2 * math.sqrt(2)), abs=1e-9)
    with pytest.raises(ValueError, match="h_start"):
        C.softmax_vs_tammes(3, 8, h_start="W")


def test_softmax_vs_tammes_rejects_bad_sizes():
    with pytest.raises(TypeError, match="K must be an integer"):
        C.softmax_vs_tammes(3, 5.5)
    with pytest.raises(ValueError, match="d must be >= 2"):
        C.softmax_vs_tammes(1, 5)


def test_best_known_d3_k19_code_has_one_rattler():
    gallery = pytest.importorskip("gnc_teach.gallery")
    W = gallery.gallery_code("softmax", 19, 3)
    assert len(C.rattlers(W, tol=1e-6)) == 1
