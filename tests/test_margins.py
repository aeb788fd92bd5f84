"""Tests for gnc_teach.margins: known answers, certificates, an independent reference, invariances."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy.optimize import nnls

from gnc_teach import margins as margins_module
from gnc_teach._solvers import wolfe as _wolfe
from gnc_teach.geometry import (cross_polytope, max_cos, random_rotation, random_sphere, regular_polygon,
                                simplex_etf)
from gnc_teach.margins import (OneVsRest, known_rho_star, margins, one_vs_rest_distance, rho,
                               rho_lower_bound, rho_upper_bound)

F64 = torch.float64
GAP = 1e-10  # the certified accuracy in float64


@pytest.fixture(params=["compiled", "torch"])
def engine(request, monkeypatch):
    """Both CPU paths: the compiled per-row solver (numba, the default on a CPU) and the batched torch
    solver (the GPU path, and the fallback of an install without numba)."""
    if request.param == "torch":
        monkeypatch.setattr(margins_module, "_compiled", lambda: None)
    return request.param


def reference_rho(W) -> np.ndarray:
    """Independent slow reference: Lawson–Hanson LDP trick with scipy's NNLS, one row at a time.

    min_{u>=0} ‖[Vᵀ; 1ᵀ]u − e‖ with V the shifted others v_j = w_j − w_k; then λ = u/Σu.
    """
    W = np.asarray(W, dtype=np.float64)
    out = []
    for k in range(len(W)):
        V = np.delete(W, k, axis=0) - W[k]
        A = np.vstack([V.T, np.ones(len(V))])
        b = np.zeros(A.shape[0])
        b[-1] = 1.0
        u, _ = nnls(A, b, maxiter=50 * A.shape[1])
        out.append(np.linalg.norm((u / u.sum()) @ V))
    return np.array(out)


def icosahedron():
    phi = (1 + math.sqrt(5)) / 2
    P = []
    for a in (-1, 1):
        for b in (-phi, phi):
            P += [(0, a, b), (a, b, 0), (b, 0, a)]
    W = torch.tensor(P, dtype=F64)
    return W / W.norm(dim=1, keepdim=True)


def cube():
    W = torch.tensor([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=F64)
    return W / math.sqrt(3)


def square_antiprism():
    """The Tammes-optimal 8-point code: two squares at heights ±h, turned by 45°, all edges equal."""
    r2 = 1 / (1 + math.sqrt(2) / 4)  # from 2r² = (2 − √2)r² + 4h² and r² + h² = 1
    r, h = math.sqrt(r2), math.sqrt(1 - r2)
    pts = [(r * math.cos(t), r * math.sin(t), z) for i in range(4)
           for t, z in ((i * math.pi / 2, h), (i * math.pi / 2 + math.pi / 4, -h))]
    return torch.tensor(pts, dtype=F64)


def check_certificate(det: OneVsRest, W, *, gap=GAP):
    """The bounds and the support/weight representation of p are consistent."""
    W = torch.as_tensor(W, dtype=F64)
    K = W.shape[0]
    assert det.rho.shape == det.lower.shape == det.upper.shape == det.gap.shape == (K,)
    assert det.p.shape == det.h.shape == W.shape
    assert (det.lower <= det.rho + 1e-12).all() and (det.rho <= det.upper + 1e-12).all()
    assert float(det.gap.max()) <= gap
    assert torch.allclose(det.gap, det.upper - det.lower)
    sup, wts = det.support, det.weights.to(F64)
    assert sup.dtype == torch.long and sup.shape == wts.shape
    assert ((sup >= -1) & (sup < K)).all()
    assert (sup != torch.arange(K).unsqueeze(1)).all()  # w_k never supports its own hull point
    assert (wts >= 0).all() and torch.allclose(wts.sum(1), torch.ones(K, dtype=F64))
    assert (wts[sup < 0] == 0).all()
    p = torch.einsum("km,kmd->kd", wts, W[sup.clamp_min(0)])
    assert torch.allclose(p, det.p.to(F64), atol=1e-12)
    assert torch.allclose((W - p).norm(dim=1), det.upper.to(F64), atol=1e-12)
    assert float(det.certificate.max()) <= gap * max(1.0, float(W.norm(dim=1).max())) ** 2
    unit = det.rho > 0
    assert torch.allclose(det.h[unit].norm(dim=1), torch.ones(int(unit.sum()), dtype=det.h.dtype))
    assert (det.h[~unit] == 0).all()


# ---------------------------------------------------------------- known answers

@pytest.mark.parametrize("K", [2, 3, 4, 5, 8, 12])
def test_simplex_etf_rho_and_centroid(K):
    for W in (simplex_etf(K), simplex_etf(K, K + 3, seed=1)):
        det = one_vs_rest_distance(W, return_details=True)
        assert torch.allclose(det.rho, torch.full((K,), K / (K - 1), dtype=F64), atol=1e-12)
        assert torch.allclose(det.p, -W / (K - 1), atol=1e-12)  # the centroid of the others
        assert torch.allclose(det.h, W, atol=1e-12)             # self-duality: h_k = w_k
        check_certificate(det, W)
    assert rho(simplex_etf(K)) == pytest.approx(K / (K - 1), abs=1e-12)


@pytest.mark.parametrize("K", [3, 4, 5, 6, 7, 10, 17, 40])
def test_regular_polygon(K):
    W = regular_polygon(K)
    det = one_vs_rest_distance(W, return_details=True)
    assert torch.allclose(det.rho, torch.full((K,), 1 - math.cos(2 * math.pi / K), dtype=F64), atol=1e-12)
    check_certificate(det, W)
    if K >= 4:  # the nearest hull point is the midpoint of the chord of the two neighbours
        mid = (W.roll(1, 0) + W.roll(-1, 0)) / 2
        assert torch.allclose(det.p, mid, atol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_cross_polytope(d):
    W = cross_polytope(d)
    det = one_vs_rest_distance(W, return_details=True)
    expected = 2.0 if d == 1 else 1.0  # d = 1: two antipodal points, distance 2
    assert torch.allclose(det.rho, torch.full((2 * d,), expected, dtype=F64), atol=1e-12)
    check_certificate(det, W)


@pytest.mark.parametrize("name, W, expected", [
    ("icosahedron", icosahedron(), 1 - 1 / math.sqrt(5)),
    ("cube", cube(), 2 / 3),
    ("square antiprism", square_antiprism(), 0.7387961253),
])
def test_platonic_and_antiprism(name, W, expected):
    det = one_vs_rest_distance(W, return_details=True)
    assert float(det.rho.min()) == pytest.approx(expected, abs=1e-9), name
    check_certificate(det, W)


@pytest.mark.parametrize("W", [simplex_etf(6), regular_polygon(9), cross_polytope(4), icosahedron(),
                               square_antiprism()], ids=["etf", "polygon", "cross", "icosa", "antiprism"])
def test_rho_equals_one_minus_max_cos_for_symmetric_codes(W):
    assert rho(W) == pytest.approx(1 - max_cos(W), abs=1e-12)
    assert rho_lower_bound(W) == pytest.approx(1 - max_cos(W), abs=1e-15)


def test_cube_is_strictly_above_its_cosine_bound():
    # cube: max cos = 1/3, so 1 − max_cos = 2/3 = ρ as well; the antiprism beats it
    assert rho(cube()) < rho(square_antiprism())


# ---------------------------------------------------------------- certificates and the reference

@pytest.mark.parametrize("K, d", [(3, 2), (5, 2), (9, 3), (20, 3), (16, 4), (30, 5), (40, 3), (6, 10),
                                  (11, 10), (25, 24), (60, 8), (120, 6)])
def test_matches_reference_and_certifies(K, d, engine):
    W = random_sphere(K, d, seed=K * 100 + d)
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert np.allclose(det.rho.numpy(), reference_rho(W), atol=1e-8)


@pytest.mark.parametrize("K, d, seed", [(200, 10, 0), (300, 3, 1), (150, 40, 2), (400, 16, 3)])
def test_certificates_larger_random_codes(K, d, seed, engine):
    W = random_sphere(K, d, seed=seed)
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert rho_lower_bound(W) <= float(det.rho.min()) + 1e-12 <= rho_upper_bound(K, d) + 2e-12


def test_non_unit_rows_scale():
    W = random_sphere(30, 4, seed=5) * torch.linspace(0.5, 2.0, 30, dtype=F64).unsqueeze(1)
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert np.allclose(det.rho.numpy(), reference_rho(W), atol=1e-8)
    assert torch.allclose(one_vs_rest_distance(3 * W), 3 * det.rho, atol=1e-12)


def test_few_candidates_still_exact(engine):
    # a deliberately tiny candidate set forces the enlarge-and-resolve rounds
    W = random_sphere(120, 6, seed=7)
    a = one_vs_rest_distance(W, return_details=True, candidates=3)
    check_certificate(a, W)
    assert torch.allclose(a.rho, one_vs_rest_distance(W), atol=1e-12)
    b = one_vs_rest_distance(W, return_details=True, candidates=3, max_rounds=0)  # straight to all rows
    check_certificate(b, W)
    assert torch.allclose(b.rho, a.rho, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(K=st.integers(2, 25), d=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_property_random_codes(K, d, seed):
    W = random_sphere(K, d, seed=seed)
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert np.allclose(det.rho.numpy(), reference_rho(W), atol=1e-8)


@settings(max_examples=20, deadline=None)
@given(K=st.integers(3, 12), d=st.integers(2, 4), seed=st.integers(0, 10_000))
def test_property_lattice_codes_with_ties(K, d, seed):
    # integer points: many ties, coplanar and collinear points, duplicates
    g = torch.Generator().manual_seed(seed)
    W = torch.randint(-2, 3, (K, d), generator=g).to(F64)
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    # the NNLS reference can stall on such ties; it is still a feasible point, hence >= the true value
    assert (torch.as_tensor(reference_rho(W)) >= det.lower - 1e-8).all()


@pytest.mark.parametrize("name", ["icosahedron", "cube", "square antiprism", "cross-polytope"])
@pytest.mark.parametrize("noise", [1e-12, 1e-9])
def test_nearly_degenerate_symmetric_codes_certify(name, noise, engine):
    # numerically optimised codes are symmetric codes up to ~1e-9: faces with (almost) coplanar
    # points, where the support is (almost) affinely dependent (degenerate pivots)
    base = {"icosahedron": icosahedron(), "cube": cube(), "square antiprism": square_antiprism(),
            "cross-polytope": cross_polytope(3)}[name]
    g = torch.Generator().manual_seed(1)
    W = base + noise * torch.randn(base.shape, generator=g, dtype=F64)
    W = W / W.norm(dim=1, keepdim=True)
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert np.allclose(det.rho.numpy(), reference_rho(W), atol=1e-8)


# ---------------------------------------------------------------- the compiled CPU path

def test_compiled_path_is_available():
    # numba is a dependency: without it the CPU would silently fall back to the ~10x slower torch loop
    assert margins_module._compiled() is not None


def _eps():
    return 64 * torch.finfo(F64).eps * 5


def test_compiled_candidate_solver_matches_torch():
    # repeated candidates (the widening rounds pad with one) and warm starts, against the lockstep solver
    W = random_sphere(300, 8, seed=11)
    C = margins_module._nearest(W, 15, 1024)
    C = torch.cat([C[:, :4], C], dim=1)
    rows = torch.arange(300)
    V = W[C] - W.unsqueeze(1)
    lam_t = margins_module._min_norm_point(V, eps=_eps())
    kernels = margins_module._compiled()
    for init in (None, (lam_t > 0).numpy()):
        lam_c = torch.from_numpy(kernels.min_norm_rows(W.numpy(), rows.numpy(), C.numpy(), init, _eps()))
        assert (lam_c >= 0).all() and torch.allclose(lam_c.sum(1), torch.ones(300, dtype=F64), atol=1e-14)
        P_c, P_t = (torch.einsum("km,kmd->kd", lam, W[C]) for lam in (lam_c, lam_t))
        assert torch.allclose(P_c, P_t, atol=1e-12)


def test_compiled_final_weights_stay_a_simplex_point():
    # if rounding breaks the Cholesky factor, a vertex (a feasible point) is returned, never NaN
    kernels = margins_module._compiled()
    QF = np.array([[1.0, 2.0], [2.0, 1.0]])   # indefinite: no Cholesky factor
    L, u, z = np.zeros((2, 2)), np.zeros(2), np.zeros(2)
    kernels._final_weights(QF, L, u, z, 2)
    assert u.tolist() == [1.0, 0.0]
    kernels._final_weights(np.array([[2.0, 1.0], [1.0, 2.0]]), L, u, z, 2)
    assert np.allclose(u, [0.5, 0.5])


def test_fused_and_round_paths_agree(monkeypatch):
    W = random_sphere(400, 12, seed=2)
    a = one_vs_rest_distance(W, return_details=True)           # K <= FUSED_MAX_K: one compiled pass
    monkeypatch.setattr(margins_module, "FUSED_MAX_K", 0)      # candidate rounds, compiled solves
    b = one_vs_rest_distance(W, return_details=True)
    for det in (a, b):
        check_certificate(det, W)
    assert torch.allclose(a.rho, b.rho, atol=1e-13)


def _rings(n_rings, per_ring):
    """Points on latitude circles of S^2 (rings turned by half a step in turn): many coplanar faces."""
    rows = []
    for i in range(n_rings):
        z = -1 + (2 * i + 1) / n_rings
        r, off = math.sqrt(1 - z * z), (i % 2) * math.pi / per_ring
        rows += [[r * math.cos(2 * math.pi * j / per_ring + off), r * math.sin(2 * math.pi * j / per_ring + off), z]
                 for j in range(per_ring)]
    return torch.tensor(rows, dtype=F64)


@pytest.mark.parametrize("kind", ["random", "rings"])
def test_multiple_pricing_finds_the_same_nearest_points(kind, monkeypatch):
    # from K = 400 the compiled pass re-prices the few most violating rows of its last full pass first;
    # the optimality test still prices all rows, so the certified distances are the same
    kernels = margins_module._compiled()
    W = random_sphere(450, 9, seed=4) if kind == "random" else _rings(30, 15)
    assert W.shape[0] >= kernels.MULTIPLE_PRICING_MIN_K
    a = one_vs_rest_distance(W, return_details=True)
    monkeypatch.setattr(kernels, "MULTIPLE_PRICING_MIN_K", 10 ** 9)
    b = one_vs_rest_distance(W, return_details=True)
    for det in (a, b):
        check_certificate(det, W)
    assert torch.allclose(a.rho, b.rho, atol=1e-13)


def test_top_keeps_the_largest_entries():
    kernels = margins_module._compiled()
    w = np.array([0.3, -np.inf, 2.0, 1.0, 5.0, -1.0, 2.5])
    cand, cv = np.empty(3, dtype=np.int64), np.empty(3)
    assert kernels._top(w, cand, cv) == 3 and sorted(cand.tolist()) == [2, 4, 6] and sorted(cv) == [2.0, 2.5, 5.0]
    assert kernels._top(w[:2], cand, cv) == 2


@pytest.mark.parametrize("seed", range(5))
def test_compiled_exchange_on_near_coplanar_faces(seed, monkeypatch):
    # the nearest face of w_k is a square whose corners are 1e-7 off one plane (as in optimised codes):
    # its triangles are almost affinely dependent, so the compiled pass must exchange a corner for
    # another (simplex pivot) instead of stopping; it then certifies and agrees with the torch solver
    g = torch.Generator().manual_seed(seed)
    square = torch.tensor([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0], [-1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]], dtype=F64)
    square[:, 2] = 1e-7 * torch.randn(4, generator=g, dtype=F64)
    above = torch.cat([0.8 * (2 * torch.rand(1, 2, generator=g, dtype=F64) - 1), torch.ones(1, 1, dtype=F64)], 1)
    W = torch.cat([above, square, torch.tensor([[0.0, 0.0, -3.0]], dtype=F64)])
    X = W.contiguous()
    scale = float(X.norm(dim=1).max())
    assert margins_module._fused(X, 64 * torch.finfo(F64).eps * (1 + 4 * scale ** 2), 1e-10 * scale) is not None
    a = one_vs_rest_distance(W, return_details=True)
    monkeypatch.setattr(margins_module, "_compiled", lambda: None)
    b = one_vs_rest_distance(W, return_details=True)
    check_certificate(a, W)
    assert torch.allclose(a.rho, b.rho, atol=1e-13)
    assert a.rho[0].item() == pytest.approx(1.0, abs=1e-6)   # the square's plane is z ~ 0


def test_fused_path_hands_degenerate_rows_to_the_rounds(monkeypatch):
    # a cross-polytope moved by 1e-7: the compiled pass stops on an almost affinely dependent point
    # and its certificate fails; the general rounds (degenerate pivots) then certify every row
    g = torch.Generator().manual_seed(10)
    W = torch.nn.functional.normalize(cross_polytope(6, dtype=F64) + 1e-7 * torch.randn(12, 6, generator=g,
                                                                                         dtype=F64), dim=1)
    calls = []
    fused = margins_module._fused
    monkeypatch.setattr(margins_module, "_fused", lambda *a: calls.append(fused(*a)) or calls[-1])
    det = one_vs_rest_distance(W, return_details=True)
    assert calls == [None]
    assert float(det.gap.max()) <= GAP


@pytest.mark.parametrize("d,seed", [(4, 2), (5, 22), (7, 9)])
def test_faces_within_1e9_of_affine_dependence_certify(engine, d, seed, monkeypatch):
    # a cross-polytope moved by 1e-9: a face's fourth point lies ~1e-9 off the affine hull of the others,
    # which the Cholesky solvers see as a 1e-18 pivot, i.e. rounding; they ended 6e-10 from the optimum
    # (gap up to 1.3e-9). Wolfe's method with QR steps (_wolfe) takes those rows and certifies them.
    g = torch.Generator().manual_seed(seed)
    W = torch.nn.functional.normalize(cross_polytope(d, dtype=F64) + 1e-9 * torch.randn(2 * d, d, generator=g,
                                                                                         dtype=F64), dim=1)
    calls = []
    wolfe_rows = margins_module._wolfe_rows
    monkeypatch.setattr(margins_module, "_wolfe_rows", lambda X, rows, atol: calls.append(rows.numel()) or
                        wolfe_rows(X, rows, atol))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)      # every row certifies: no warning
        det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert engine == "torch" or calls   # the compiled path needs the last resort on these three
    assert np.allclose(det.rho.numpy(), reference_rho(W.numpy()), atol=1e-7)   # NNLS: ~1e-7 accurate


def test_near_duplicate_rows_certify(engine):
    # twins 1e-8 apart: rho_k ~ 1e-8, so h_k = (w_k - p_k)/rho_k needs w_k - p_k from the differences
    # w_j - w_k (p_k itself is only known to ~1e-16); before that, 18 of these 20 codes had gaps ~1e-8
    for seed in range(20):
        B = random_sphere(8, 5, seed=seed).double()
        g = torch.Generator().manual_seed(seed)
        W = torch.nn.functional.normalize(torch.cat([B, B[:4]]) + 1e-8 * torch.randn(12, 5, generator=g, dtype=F64),
                                          dim=1)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            det = one_vs_rest_distance(W, return_details=True)
        check_certificate(det, W)
        assert float(det.rho.min()) < 1e-7


def test_bounds_stay_valid_where_float64_cannot_certify(engine):
    # a point 1e-9 above the middle of a face of size ~2 (off the sphere): h_k is only known to
    # ~eps/1e-9 rad, so the gap is ~1e-7 > tol. The warning says so, and lower <= rho_k <= upper still holds.
    R = random_rotation(3, seed=4).double()
    delta = 1e-9
    W = torch.tensor([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, -1.0], [0.3, 0.2, delta]],
                     dtype=F64) @ R.T
    with pytest.warns(RuntimeWarning, match="did not certify"):
        det = one_vs_rest_distance(W, return_details=True)
    k = 4   # its nearest hull point is (0.3, 0.2, 0) rotated: rho_4 = delta up to ~1e-16
    assert float(det.lower[k]) <= delta + 1e-15 and float(det.upper[k]) >= delta - 1e-15
    assert float(det.gap[k]) <= 1e-6
    assert float(det.gap[:4].max()) <= GAP


def test_wolfe_min_norm_point_matches_the_active_set():
    # a plain convex QP: the same nearest points as the main solver, weights >= 0 summing to 1
    for seed in range(20):
        W = random_sphere(15, 4, seed=seed).double()
        det = one_vs_rest_distance(W, return_details=True)
        X = W.numpy()
        for k in range(15):
            V = np.delete(X, k, axis=0) - X[k]
            S, u = _wolfe.min_norm_point(V, start=int(np.argmin((V * V).sum(1))), atol=1e-13)
            assert (u >= 0).all() and u.sum() == pytest.approx(1.0, abs=1e-14)
            assert np.allclose(X[k] + u @ V[S], det.p[k].numpy(), atol=1e-12)


# ---------------------------------------------------------------- invariances and dtypes

def test_rotation_and_permutation_invariance():
    W = random_sphere(50, 5, seed=3)
    r = one_vs_rest_distance(W)
    R = random_rotation(5, seed=4)
    assert torch.allclose(one_vs_rest_distance(W @ R.T), r, atol=1e-12)
    perm = torch.randperm(50, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(one_vs_rest_distance(W[perm]), r[perm], atol=1e-12)


def test_thread_count_is_restored():
    n = torch.get_num_threads()
    one_vs_rest_distance(random_sphere(50, 4, seed=0))
    assert torch.get_num_threads() == n


def test_float32_and_numpy_inputs():
    W = random_sphere(40, 4, seed=2)
    r64 = one_vs_rest_distance(W)
    r32 = one_vs_rest_distance(W.float())
    assert r32.dtype == torch.float32 and r64.dtype == F64
    assert torch.allclose(r32.double(), r64, atol=1e-5)
    det = one_vs_rest_distance(W.float(), return_details=True)
    assert det.p.dtype == det.h.dtype == det.gap.dtype == torch.float32
    assert torch.allclose(one_vs_rest_distance(W.numpy()), r64, atol=1e-15)
    assert torch.allclose(one_vs_rest_distance(W.tolist()), r64, atol=1e-15)
    strided = W.T.contiguous().T                          # the same values in a column-major view
    assert not strided.is_contiguous()
    assert torch.allclose(one_vs_rest_distance(strided), r64, atol=1e-15)
    grad = W.clone().requires_grad_(True)                 # a leaf of an autograd graph is fine too
    assert torch.allclose(one_vs_rest_distance(grad), r64, atol=1e-15)


# ---------------------------------------------------------------- degenerate cases

def test_interior_point_has_zero_distance():
    W = torch.tensor([[1.0, 0], [-1, 0], [0, 1], [0, -1], [0.1, 0.2]], dtype=F64)
    det = one_vs_rest_distance(W, return_details=True)
    assert det.rho[4] == 0 and det.lower[4] == 0 and (det.h[4] == 0).all()
    assert float(det.upper[4]) <= 1e-12
    check_certificate(det, W)
    assert np.allclose(det.rho.numpy(), reference_rho(W), atol=1e-8)


def test_duplicate_rows_have_zero_distance():
    W = random_sphere(6, 3, seed=1)
    W = torch.cat([W, W[:1]])
    det = one_vs_rest_distance(W, return_details=True)
    assert det.rho[0] == 0 and det.rho[6] == 0 and (det.rho[1:6] > 0).all()
    check_certificate(det, W)


def test_two_classes():
    W = torch.tensor([[1.0, 2.0, 2.0], [0.0, -1.0, 2.0]], dtype=F64)
    det = one_vs_rest_distance(W, return_details=True)
    assert torch.allclose(det.rho, torch.full((2,), float((W[0] - W[1]).norm()), dtype=F64))
    assert det.support.tolist() == [[1], [0]]
    check_certificate(det, W)


def test_one_dimensional_and_collinear_codes():
    W = torch.tensor([[1.0], [-1.0], [0.5]], dtype=F64)
    assert torch.allclose(one_vs_rest_distance(W), torch.tensor([0.5, 1.5, 0.0], dtype=F64))
    L = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], dtype=F64)  # on a line
    det = one_vs_rest_distance(L, return_details=True)
    assert torch.allclose(det.rho, torch.tensor([math.sqrt(2), 0, 0, math.sqrt(2)], dtype=F64), atol=1e-12)
    check_certificate(det, L)


def test_low_rank_code_in_high_dimension():
    W = random_sphere(20, 3, seed=4) @ torch.linalg.qr(torch.randn(10, 3, dtype=F64))[0].T  # rank 3 in R^10
    det = one_vs_rest_distance(W, return_details=True)
    check_certificate(det, W)
    assert np.allclose(det.rho.numpy(), reference_rho(W), atol=1e-8)


def test_all_rows_equal():
    det = one_vs_rest_distance(torch.ones(4, 3, dtype=F64), return_details=True)
    assert (det.rho == 0).all()


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("bad, exc, msg", [
    (torch.ones(1, 3), ValueError, "W must have at least"),
    (torch.ones(3), ValueError, "W must be 2-D"),
    (torch.ones(2, 3, 4), ValueError, "W must be 2-D"),
    (torch.tensor([[1.0, float("nan")], [0.0, 1.0]]), ValueError, "W contains NaN"),
    (torch.tensor([[1.0, float("inf")], [0.0, 1.0]]), ValueError, "W contains NaN"),
    ("abc", TypeError, "W must"),
    ([["a", "b"], ["c", "d"]], TypeError, "W must"),
    (None, TypeError, "W must"),
    (torch.ones(2, 2, dtype=torch.complex64), TypeError, "W must be real"),
])
def test_bad_input(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        one_vs_rest_distance(bad)


def test_bad_options():
    W = simplex_etf(3)
    with pytest.raises(ValueError, match="tol"):
        one_vs_rest_distance(W, tol=-1.0)
    with pytest.raises(TypeError, match="candidates"):
        one_vs_rest_distance(W, candidates=2.5)


# ---------------------------------------------------------------- bounds, closed forms, margins

def test_rho_upper_bound_and_known_values():
    assert rho_upper_bound(4, 3) == pytest.approx(4 / 3)
    assert rho_upper_bound(5, 3) == 1.0
    assert known_rho_star(5, 4) == pytest.approx(5 / 4)
    assert known_rho_star(7, 2) == pytest.approx(1 - math.cos(2 * math.pi / 7))
    assert known_rho_star(3, 2) == pytest.approx(1.5)
    assert known_rho_star(6, 3) == 1.0 and known_rho_star(5, 3) == 1.0
    assert known_rho_star(3, 1) == 0.0
    assert known_rho_star(100, 10) is None and known_rho_star(8, 3) is None
    with pytest.raises(ValueError, match="K"):
        rho_upper_bound(1, 3)
    with pytest.raises(TypeError, match="d"):
        known_rho_star(4, 2.0)


@pytest.mark.parametrize("K, d", [(3, 2), (5, 4), (7, 2), (6, 3), (5, 3), (12, 2)])
def test_known_rho_star_is_attained(K, d):
    if K <= d + 1:
        W = simplex_etf(K, d)
    elif d == 2:
        W = regular_polygon(K)
    else:
        W = cross_polytope(d)[:K]
    assert rho(W) == pytest.approx(known_rho_star(K, d), abs=1e-12)
    assert rho(W) <= rho_upper_bound(K, d) + 1e-12


def test_margins_duality():
    W = random_sphere(15, 3, seed=8)
    det = one_vs_rest_distance(W, return_details=True)
    g = torch.Generator().manual_seed(0)
    for k in (0, 7, 14):
        m = margins(W, det.h[k], k)
        assert m.shape == (14,)
        assert float(m.min()) == pytest.approx(float(det.rho[k]), abs=1e-12)  # equality at h = h_k
        others = [j for j in range(15) if j != k]
        assert torch.allclose(m, (W[k] - W[others]) @ det.h[k])
        for _ in range(20):  # any unit h does no better
            h = torch.randn(3, generator=g, dtype=F64)
            assert float(margins(W, h / h.norm(), k).min()) <= float(det.rho[k]) + 1e-12
    with pytest.raises(ValueError, match="k=15"):
        margins(W, det.h[0], 15)
    with pytest.raises(ValueError, match="h must"):
        margins(W, torch.ones(4), 0)


# ---------------------------------------------------------------- scale

def test_moderate_scale(engine):
    W = random_sphere(2000, 32, seed=0)
    det = one_vs_rest_distance(W, return_details=True)
    assert float(det.gap.max()) <= GAP
    assert (det.lower <= det.upper + 1e-12).all()  # rounding only
    assert det.support.shape[1] <= 33  # an affinely independent support in R^32


@pytest.mark.slow
def test_large_scale_10k_by_128():
    W = random_sphere(10_000, 128, seed=0)
    det = one_vs_rest_distance(W, return_details=True)
    assert float(det.gap.max()) <= GAP
    assert float(det.rho.min()) >= 1 - max_cos(W) - 1e-12


def test_near_degenerate_face_certifies(engine):
    """Regression: an optimised softmax code (K=100, d=10, from softmax_code's search) where row 10's
    nearest face holds 11 almost affinely dependent points (Schur complement ~1e-15). The rank-one
    updated inverse had drifted and retired the row with a 5e-8 certificate violation; the solver now
    confirms optimality with an exact inverse before it retires a row."""
    import pathlib
    import warnings

    import numpy as np
    W = torch.from_numpy(np.load(pathlib.Path(__file__).parent / "data" /
                                 "softmax_code_K100_d10_near_degenerate_face.npy"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        det = one_vs_rest_distance(W, return_details=True)
    assert float(det.gap.max()) <= 1e-10
    assert float(det.rho[10]) == pytest.approx(0.66457602461, abs=1e-10)
    assert float(det.rho.min()) == pytest.approx(0.6644348144352622, abs=1e-12)


@pytest.mark.parametrize("d", [3, 4, 5, 6])
def test_perturbed_cross_polytopes_certify(d, engine):
    """Regression: cross-polytopes moved by 1e-7 or 1e-5 have faces with (almost) affinely dependent
    points. A Schur downdate right after a near-dependent add gave a wrong inverse, and the active set
    cycled (gaps up to 1.6e-7); drops now re-invert exactly. (At 1e-9 a few rows still end with gaps
    of ~1e-9, reported honestly by the certificate: see the closing note of the solver issue.)"""
    import warnings
    for seed in range(15):
        g = torch.Generator().manual_seed(seed)
        for eps in (1e-7, 1e-5):
            W = torch.nn.functional.normalize(
                cross_polytope(d, dtype=torch.float64) + eps * torch.randn(2 * d, d, generator=g, dtype=torch.float64),
                dim=1)
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                det = one_vs_rest_distance(W, return_details=True)
            assert float(det.gap.max()) <= 1e-10, (seed, eps)
            assert float((det.lower - 1e-12 <= det.rho).all()) and float((det.rho <= det.upper + 1e-12).all())


def test_rho_lower_bound_per_class_is_attained_exactly_at_self_dual_classes():
    from gnc_teach import geometry
    C = geometry.cube(device="cpu")
    lb = rho_lower_bound(C, per_class=True)
    assert lb.shape == (8,) and torch.allclose(lb, torch.full((8,), 2 / 3, dtype=torch.float64), atol=1e-15)
    assert abs(float(lb.min()) - rho_lower_bound(C)) < 1e-15
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, -0.8]], dtype=torch.float64)
    det = one_vs_rest_distance(W, return_details=True)
    slack = det.rho - rho_lower_bound(W, per_class=True)
    self_dual = (det.h / det.h.norm(dim=1, keepdim=True) - W).norm(dim=1) < 1e-10
    assert (slack >= -1e-15).all() and torch.equal(slack < 1e-12, self_dual) and not self_dual.all()
