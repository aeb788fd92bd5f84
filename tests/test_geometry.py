"""gnc_teach.geometry: values, shapes, dtypes, bad inputs, and invariants (hypothesis)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gnc_teach import geometry as G

F64 = torch.float64
EXACT = 1e-12  # float64 closed forms are exact to a few ulps
small_K = st.integers(min_value=2, max_value=9)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
hyp = settings(max_examples=25, deadline=None)


def etf_gram(K):
    Gm = torch.full((K, K), -1.0 / (K - 1), dtype=F64)
    return Gm.fill_diagonal_(1.0)


# ------------------------------------------------------------------------------------ simplex_etf
@pytest.mark.parametrize("K, d", [(2, 1), (3, 2), (4, 3), (5, 4), (3, 7), (10, 9), (10, 12)])
def test_simplex_etf_values_shape_dtype(K, d):
    W = G.simplex_etf(K, d)
    assert W.shape == (K, d) and W.dtype == F64 and W.device.type in ("cpu", "cuda")
    assert torch.allclose(W @ W.T, etf_gram(K).to(W.device), atol=EXACT)
    assert W.sum(0).abs().max() < EXACT
    # canonical orientation: padded with zeros beyond K-1 columns
    assert W[:, K - 1:].abs().max() == 0 if d > K - 1 else True


def test_simplex_etf_default_d_and_known_values():
    assert G.simplex_etf(3).shape == (3, 2)
    W = G.simplex_etf(2, device="cpu")
    assert torch.allclose(W.abs(), torch.ones(2, 1, dtype=F64)) and float(W.sum()) == 0.0
    # K=3: an equilateral triangle, side sqrt(3)
    W = G.simplex_etf(3, device="cpu")
    D = torch.cdist(W, W)
    assert torch.allclose(D[~torch.eye(3, dtype=torch.bool)], torch.full((6,), math.sqrt(3), dtype=F64))


def test_simplex_etf_float32_and_seeded_rotation():
    W = G.simplex_etf(4, 5, dtype=torch.float32, device="cpu")
    assert W.dtype == torch.float32
    A, B = G.simplex_etf(4, 5, seed=1, device="cpu"), G.simplex_etf(4, 5, seed=1, device="cpu")
    assert torch.equal(A, B)
    C = G.simplex_etf(4, 5, seed=2, device="cpu")
    assert not torch.allclose(A, C)
    assert torch.allclose(A @ A.T, C @ C.T, atol=EXACT)


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((5, 3), {}, ValueError, r"needs d >= K-1 = 4, got d=3.*softmax code"),
    ((1,), {}, ValueError, r"K must be >= 2"),
    ((3, 0), {}, ValueError, r"d must be >= 1"),
    ((3.0,), {}, TypeError, r"K must be an integer"),
    ((3, "2"), {}, TypeError, r"d must be an integer"),
    ((True,), {}, TypeError, r"K must be an integer"),
    ((3,), {"dtype": torch.int64}, TypeError, r"dtype=.* is not supported"),
    ((3,), {"device": "nonsense"}, ValueError, r"is not a device"),
])
def test_simplex_etf_bad_inputs(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        G.simplex_etf(*args, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
def test_cuda_request_without_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        G.simplex_etf(3, device="cuda")


@hyp
@given(K=small_K, extra=st.integers(0, 4), seed=seeds)
def test_simplex_etf_properties(K, extra, seed):
    d = K - 1 + extra
    W = G.simplex_etf(K, d, seed=seed, device="cpu")
    # unit rows, Gram = ETF Gram, zero sum
    assert torch.allclose(W.norm(dim=1), torch.ones(K, dtype=F64), atol=1e-12)
    assert torch.allclose(G.gram(W), etf_gram(K), atol=1e-12)
    assert W.sum(0).norm() < 1e-12
    # tight frame on its span: W^T W = K/(K-1) P, P the orthogonal projection onto the row space
    P = W.T @ torch.linalg.pinv(W @ W.T) @ W
    assert torch.allclose(W.T @ W, K / (K - 1) * P, atol=1e-11)
    assert torch.allclose(P @ P, P, atol=1e-11) and abs(float(torch.trace(P)) - (K - 1)) < 1e-10
    # the simplex bound is attained
    assert abs(G.max_cos(W) - G.simplex_bound(K)) < 1e-12
    assert G.is_simplex_etf(W)


# ------------------------------------------------------------------------------------ polygon, cross-polytope
@pytest.mark.parametrize("K", [2, 3, 5, 8])
def test_regular_polygon(K):
    W = G.regular_polygon(K, device="cpu")
    assert W.shape == (K, 2) and W.dtype == F64
    assert torch.allclose(W[0], torch.tensor([1.0, 0.0], dtype=F64))
    assert torch.allclose(W.norm(dim=1), torch.ones(K, dtype=F64), atol=EXACT)
    assert abs(G.max_cos(W) - math.cos(2 * math.pi / K)) < 1e-12
    assert abs(G.min_angle(W) - 360 / K) < 1e-9
    assert W.sum(0).norm() < 1e-12
    assert G.is_simplex_etf(W) == (K <= 3)


def test_regular_polygon_bad_input():
    with pytest.raises(ValueError, match="K must be >= 2"):
        G.regular_polygon(1)
    with pytest.raises(TypeError, match="K must be an integer"):
        G.regular_polygon(2.5)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_cross_polytope(d):
    W = G.cross_polytope(d, device="cpu", dtype=torch.float32)
    assert W.shape == (2 * d, d) and W.dtype == torch.float32
    assert torch.equal(W[0], torch.eye(d)[0]) and torch.equal(W[1], -torch.eye(d)[0])
    assert torch.equal(W.abs().sum(1), torch.ones(2 * d))
    # orthogonal or antipodal: max cos 0 for d >= 2, -1 for d = 1 (the digon)
    assert G.max_cos(W) == (0.0 if d > 1 else -1.0)
    with pytest.raises(ValueError, match="d must be >= 1"):
        G.cross_polytope(0)


# ------------------------------------------------------------------------------------ random
@pytest.mark.parametrize("d", [1, 2, 3, 6])
def test_random_rotation_is_orthogonal_and_seeded(d):
    Q = G.random_rotation(d, seed=3, device="cpu")
    assert Q.shape == (d, d) and Q.dtype == F64
    assert torch.allclose(Q @ Q.T, torch.eye(d, dtype=F64), atol=1e-12)
    assert torch.equal(Q, G.random_rotation(d, seed=3, device="cpu"))
    assert G.random_rotation(d, seed=3, dtype=torch.float32, device="cpu").dtype == torch.float32
    with pytest.raises(ValueError, match="d must be >= 1"):
        G.random_rotation(0, seed=0)


def test_random_rotation_seeds_differ_and_default_seed_is_fixed():
    assert not torch.allclose(G.random_rotation(4, seed=0), G.random_rotation(4, seed=1))
    assert torch.equal(G.random_rotation(4), G.random_rotation(4))


def test_random_sphere_shapes_norms_batch():
    X = G.random_sphere(7, 4, seed=0, device="cpu")
    assert X.shape == (7, 4) and X.dtype == F64
    assert torch.allclose(X.norm(dim=1), torch.ones(7, dtype=F64), atol=1e-12)
    B = G.random_sphere(7, 4, seed=0, batch=5, device="cpu", dtype=torch.float32)
    assert B.shape == (5, 7, 4) and B.dtype == torch.float32
    assert torch.allclose(B.norm(dim=-1), torch.ones(5, 7), atol=1e-6)
    assert torch.equal(G.random_sphere(3, 2, seed=9), G.random_sphere(3, 2, seed=9))
    for bad, match in [((0, 3), "K must be >= 1"), ((3, 0), "d must be >= 1")]:
        with pytest.raises(ValueError, match=match):
            G.random_sphere(*bad)
    with pytest.raises(ValueError, match="batch must be >= 1"):
        G.random_sphere(3, 2, batch=0)


def test_random_sphere_is_roughly_uniform():
    X = G.random_sphere(20000, 3, seed=1, device="cpu")
    # mean ~ 0 and second moment ~ I/d for the uniform distribution on S^2
    assert X.mean(0).norm() < 0.03
    assert torch.allclose(X.T @ X / len(X), torch.eye(3, dtype=F64) / 3, atol=0.02)


# ------------------------------------------------------------------------------------ normalize, gram, cosines
def test_normalize_rows_batch_and_zero_row():
    X = torch.tensor([[3.0, 4.0], [0.0, -2.0]], dtype=F64)
    assert torch.allclose(G.normalize_rows(X), torch.tensor([[0.6, 0.8], [0.0, -1.0]], dtype=F64))
    B = torch.randn(2, 3, 4, dtype=F64)
    assert torch.allclose(G.normalize_rows(B).norm(dim=-1), torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="zero row"):
        G.normalize_rows(torch.zeros(2, 3))


def test_gram_values_types_and_bad_inputs():
    W = [[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]]
    Gm = G.gram(W)
    assert Gm.shape == (3, 3) and Gm.dtype == F64
    assert torch.equal(Gm, torch.tensor(np.array(W) @ np.array(W).T))
    assert G.gram(np.eye(2, dtype=np.float32)).dtype == torch.float32
    assert G.gram(torch.eye(3, dtype=torch.int64)).dtype == F64
    with pytest.raises(ValueError, match="W must be 2-D"):
        G.gram(torch.ones(3))
    with pytest.raises(TypeError, match="W must be a torch.Tensor or numpy array"):
        G.gram("abc")
    with pytest.raises(ValueError, match="NaN or infinite"):
        G.gram([[1.0, float("nan")]])


def test_max_cos_and_min_angle_values():
    W = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=F64)  # rows need not be unit
    assert abs(G.max_cos(W) - math.sqrt(0.5)) < 1e-12
    assert abs(G.min_angle(W) - 45.0) < 1e-9
    assert G.max_cos(torch.tensor([[1.0, 0.0], [2.0, 0.0]])) == 1.0
    assert G.min_angle(torch.tensor([[1.0, 0.0], [2.0, 0.0]])) == 0.0
    assert abs(G.min_angle(G.simplex_etf(4)) - math.degrees(math.acos(-1 / 3))) < 1e-9
    assert isinstance(G.max_cos(W), float) and isinstance(G.min_angle(W), float)


def test_max_cos_chunking_agrees_with_dense():
    X = G.random_sphere(50, 5, seed=2, device="cpu")
    C = X @ X.T
    C.fill_diagonal_(-2)
    dense = float(C.max())
    for chunk in (1, 7, 50, 4096):
        assert abs(G.max_cos(X, chunk=chunk) - dense) < 1e-14


def test_max_cos_bad_inputs():
    with pytest.raises(ValueError, match="at least 2 rows"):
        G.max_cos(torch.ones(1, 3))
    with pytest.raises(ValueError, match="zero row"):
        G.max_cos(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="at least 2 rows"):
        G.min_angle([[1.0, 2.0]])


def test_simplex_bound_and_is_simplex_etf():
    assert G.simplex_bound(2) == -1.0 and G.simplex_bound(5) == -0.25
    with pytest.raises(ValueError, match="K must be >= 2"):
        G.simplex_bound(1)
    W = G.simplex_etf(4, 6, seed=0)
    assert G.is_simplex_etf(W) and G.is_simplex_etf(W.float(), tol=1e-6)
    assert not G.is_simplex_etf(2 * W)                       # not unit
    assert not G.is_simplex_etf(G.cross_polytope(2))          # square: not equiangular
    assert not G.is_simplex_etf(W + 1e-6) and G.is_simplex_etf(W + 1e-9, tol=1e-7)
    with pytest.raises(ValueError, match="at least 2 rows"):
        G.is_simplex_etf(W[:1])


# ------------------------------------------------------------------------------------ invariants
@hyp
@given(K=st.integers(2, 12), d=st.integers(1, 6), seed=seeds, rot=seeds)
def test_gram_and_max_cos_are_rotation_invariant(K, d, seed, rot):
    X = G.random_sphere(K, d, seed=seed, device="cpu")
    Q = G.random_rotation(d, seed=rot, device="cpu")
    assert torch.allclose(G.gram(X @ Q.T), G.gram(X), atol=1e-12)
    assert abs(G.max_cos(X @ Q.T) - G.max_cos(X)) < 1e-12
    assert abs(G.min_angle(X @ Q.T) - G.min_angle(X)) < 1e-5  # acos amplifies rounding near 0°/180°


@hyp
@given(K=st.integers(2, 12), d=st.integers(1, 6), seed=seeds)
def test_simplex_bound_holds_for_random_configurations(K, d, seed):
    X = G.random_sphere(K, d, seed=seed, device="cpu")
    assert G.max_cos(X) >= G.simplex_bound(K) - 1e-12


@hyp
@given(K=st.integers(2, 10), d=st.integers(1, 5), seed=seeds,
       scales=st.lists(st.floats(0.1, 10.0), min_size=10, max_size=10))
def test_max_cos_is_scale_and_permutation_invariant(K, d, seed, scales):
    X = G.random_sphere(K, d, seed=seed, device="cpu")
    s = torch.tensor(scales[:K], dtype=F64)[:, None]
    perm = torch.randperm(K, generator=torch.Generator().manual_seed(seed))
    assert abs(G.max_cos(s * X) - G.max_cos(X)) < 1e-12
    assert abs(G.max_cos(X[perm]) - G.max_cos(X)) < 1e-12


@hyp
@given(d=st.integers(1, 5), extra=st.integers(0, 4), seed=seeds)
def test_orthoplex_bound_k_at_least_d_plus_2_has_a_nonnegative_cosine(d, extra, seed):
    # Rankin: any d+2 unit vectors in R^d have two at cosine >= 0 (so the ETF's -1/(K-1) is far away)
    X = G.random_sphere(d + 2 + extra, d, seed=seed, device="cpu")
    assert G.max_cos(X) >= -1e-12


def test_orthoplex_bound_is_attained_and_sharp():
    assert G.max_cos(G.cross_polytope(3)[:5]) == 0.0              # {±e1, ±e2, e3}: K = d+2, max cos 0
    assert G.max_cos(G.simplex_etf(4, 3)) < 0                     # K = d+1: negative is possible


def test_perturb_moves_every_row_by_about_eps_and_keeps_unit_rows():
    W = G.simplex_etf(5, 4, seed=1)
    for eps in (1e-6, 1e-2):
        V = G.perturb(W, eps, seed=3)
        assert V.shape == W.shape and V.dtype == F64
        assert float((V.norm(dim=1) - 1).abs().max()) < 1e-15
        step = (V - W).norm(dim=1)
        assert float(step.min()) > 0.99 * eps and float(step.max()) < 1.01 * eps
        assert G.max_cos(V) > G.simplex_bound(5)                  # off the equality case, strictly
    assert torch.equal(G.perturb(W, 1e-3, seed=3), G.perturb(W, 1e-3, seed=3))
    with pytest.raises(ValueError, match="eps"):
        G.perturb(W, -1.0)


def test_cube_is_the_unit_cube_with_max_cos_one_third():
    C = G.cube(device="cpu")
    assert C.shape == (8, 3) and C.dtype == F64
    assert float((C.norm(dim=1) - 1).abs().max()) < 1e-15
    assert abs(G.max_cos(C) - 1 / 3) < 1e-15 and float(C.sum(0).norm()) < 1e-15
