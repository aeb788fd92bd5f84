"""Tests for gnc_teach.metrics: values on exact configurations, shapes, K > d+1, bad inputs."""
import math

import numpy as np
import pytest
import torch

from gnc_teach import geometry, margins, metrics


def collapsed(W, n):
    """Features equal to the rows of W, n per class (class-major labels)."""
    K = W.shape[0]
    return W.repeat_interleave(n, 0), torch.arange(K).repeat_interleave(n)


def test_class_means_shape_and_values():
    H = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1])
    M = metrics.class_means(H, y)
    assert M.shape == (2, 2) and M.dtype == torch.float64
    assert torch.allclose(M, torch.tensor([[1.0, 0.0], [0.0, 4.0]], dtype=torch.float64))


def test_collapsed_etf_features_are_zero_on_every_metric():
    W = geometry.simplex_etf(5, 7, seed=3)
    H, y = collapsed(2.0 * W, 4)
    assert metrics.nc1(H, y) == pytest.approx(0.0, abs=1e-20)
    r = metrics.nc2(W, H, y)
    for v in r.as_dict().values():
        assert v == pytest.approx(0.0, abs=1e-12)
    assert metrics.nc3(W, H, y) == pytest.approx(0.0, abs=1e-24)
    assert metrics.nc4(W, H, y) == 0.0
    assert metrics.gnc1(H, y) == pytest.approx(0.0, abs=1e-20)
    assert metrics.gnc3(W, H, y) == pytest.approx(0.0, abs=1e-12)
    assert metrics.within_class_spread(H, y) == pytest.approx(0.0, abs=1e-15)


def test_nc1_known_value():
    # K=2, d=1: means ±1 (Σ_B = 1), features ±1 ± s (Σ_W = s²) -> NC1 = s²/2
    s = 0.3
    H = torch.tensor([[1 - s], [1 + s], [-1 - s], [-1 + s]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    assert metrics.nc1(H, y) == pytest.approx(s ** 2 / 2, rel=1e-12)


@pytest.mark.parametrize("fn", [metrics.nc1, metrics.gnc1])
def test_nc1_works_when_K_exceeds_d_plus_1(fn):
    g = torch.Generator().manual_seed(0)
    K, d, n = 20, 3, 6
    H = torch.randn(K * n, d, generator=g, dtype=torch.float64)
    y = torch.arange(K).repeat_interleave(n)
    v = fn(H, y)
    assert math.isfinite(v) and v > 0
    # Σ_B has full rank d here, so the pseudo-inverse is the inverse: compare with numpy
    Hn = H / H.norm(dim=1, keepdim=True) if fn is metrics.gnc1 else H
    X, Y = Hn.numpy(), y.numpy()
    M = np.stack([X[Y == k].mean(0) for k in range(K)])
    Sw = (X - M[Y]).T @ (X - M[Y]) / len(X)
    Mc = M - X.mean(0)
    Sb = Mc.T @ Mc / K
    assert v == pytest.approx(np.trace(Sw @ np.linalg.inv(Sb)) / K, rel=1e-9)


def test_nc1_invariant_to_rotation_and_scale():
    g = torch.Generator().manual_seed(1)
    H = torch.randn(30, 4, generator=g, dtype=torch.float64)
    y = torch.arange(6).repeat_interleave(5)
    Q = geometry.random_rotation(4, seed=2)
    assert metrics.nc1(3.0 * H @ Q.T, y) == pytest.approx(metrics.nc1(H, y), rel=1e-9)


def test_nc2_api_and_values():
    W = geometry.simplex_etf(4)
    r = metrics.nc2(W)
    assert r.equinorm_M is None and r.maxangle_W == pytest.approx(0.0, abs=1e-12)
    # square in the plane: equal norms, cosines {0, -1, 0, ...}: maxangle = mean |cos + 1/3|
    S = geometry.regular_polygon(4)
    assert metrics.nc2_equinorm(S) == pytest.approx(0.0, abs=1e-12)
    cos = np.array([0, -1, 0, 0, -1, 0])  # pairs (0,1),(0,2),(0,3),(1,2),(1,3),(2,3)
    assert metrics.nc2_maxangle(S) == pytest.approx(np.abs(cos + 1 / 3).mean(), abs=1e-12)
    assert metrics.nc2_equiangle(S) == pytest.approx(cos.std(), abs=1e-12)
    assert metrics.nc2_equinorm(torch.diag(torch.tensor([1.0, 3.0]))) == pytest.approx(0.5)


def test_nc3_nc4_detect_misalignment():
    W = geometry.simplex_etf(3)
    H, y = collapsed(W, 2)
    assert metrics.nc3(-W, H, y) == pytest.approx(4.0)
    assert metrics.nc4(W[[1, 2, 0]], H, y) == 1.0
    assert metrics.nc4(W, H, y, b=torch.zeros(3)) == 0.0


def test_gnc2_matches_known_rho():
    pytest.importorskip("gnc_teach.margins")
    assert metrics.gnc2(geometry.simplex_etf(5)) == pytest.approx(5 / 4, abs=1e-9)
    assert metrics.gnc2(3 * geometry.regular_polygon(6)) == pytest.approx(1 - math.cos(2 * math.pi / 6), abs=1e-9)


def test_gnc3_uses_normalised_features():
    W = geometry.simplex_etf(4, 5, seed=0)
    H, y = collapsed(W, 3)
    H = H * torch.linspace(0.5, 2.0, H.shape[0], dtype=torch.float64)[:, None]  # scale only
    assert metrics.gnc3(W, H, y) == pytest.approx(0.0, abs=1e-12)
    assert metrics.gnc1(H, y) == pytest.approx(0.0, abs=1e-20)
    assert metrics.nc1(H, y) > 1e-3


def test_code_distance_invariances():
    W = geometry.simplex_etf(6, 8, seed=1)
    Q = geometry.random_rotation(8, seed=5)
    assert metrics.code_distance(W, (W @ Q.T)[torch.randperm(6)]) == pytest.approx(0.0, abs=1e-12)
    cube = torch.tensor([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)], dtype=torch.float64)
    assert metrics.code_distance(cube, geometry.random_sphere(8, 3, seed=0)) > 0.05


def test_bad_inputs():
    H = torch.randn(6, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"y must have shape \(6,\)"):
        metrics.nc1(H, torch.arange(5))
    with pytest.raises(ValueError, match="no samples"):
        metrics.nc1(H, torch.tensor([0, 0, 2, 2, 3, 3]))
    with pytest.raises(TypeError, match="integer class labels"):
        metrics.nc1(H, np.zeros(6))
    with pytest.raises(ValueError, match="d=2"):
        metrics.nc3(torch.randn(3, 4), H, torch.tensor([0, 0, 1, 1, 2, 2]))
    with pytest.raises(ValueError, match="K=2"):
        metrics.nc4(torch.randn(2, 2), H, torch.tensor([0, 0, 1, 1, 2, 2]))
    with pytest.raises(ValueError, match="coincide"):
        metrics.nc1(torch.ones(4, 2), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="needs W"):
        metrics.nc2()
    with pytest.raises(ValueError, match="zero row"):
        metrics.gnc1(torch.zeros(4, 2), torch.tensor([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="same K"):
        metrics.code_distance(torch.randn(3, 2), torch.randn(4, 2))


def test_accepts_numpy_and_float32():
    H = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    y = np.repeat(np.arange(4), 3)
    assert isinstance(metrics.nc1(H, y), float)
    assert metrics.class_means(torch.as_tensor(H), torch.as_tensor(y)).dtype == torch.float64


# ------------------------------------------------------------------ GNC3: centred, uncentred, margin
def _cross5():
    """{±e1, ±e2, e3}: a proved-optimal softmax code for K = 5, d = 3 (rho = 1, the upper bound)."""
    return torch.tensor([[1., 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1]], dtype=torch.float64)


def test_gnc3_centred_is_positive_at_an_exact_optimum_where_the_theory_metrics_vanish():
    W, y = _cross5(), torch.arange(5).repeat(3)
    H = W[y]                                                     # every feature equal to its row
    # mu_G = e3/5, so 4 classes have cos(e_i, e_i - e3/5) = 5/sqrt(26): gnc3 = (4/5)(1 - 5/sqrt(26))
    assert metrics.gnc3(W, H, y) == pytest.approx(0.8 * (1 - 5 / math.sqrt(26)), abs=1e-15)
    assert metrics.gnc3(W, H, y) == pytest.approx(0.0155354594, abs=1e-10)
    assert metrics.gnc3_uncentred(W, H, y) == pytest.approx(0.0, abs=1e-15)
    assert metrics.gnc3_margin(W, H, y) == pytest.approx(0.0, abs=1e-15)


def test_gnc3_uncentred_and_margin_detect_a_misaligned_class():
    W, y = _cross5(), torch.arange(5)
    H = W.clone()
    H[4] = torch.tensor([0.6, 0.0, 0.8], dtype=torch.float64)   # class e3 tilted by acos(0.8)
    per = metrics.gnc3_uncentred(W, H, y, per_class=True)
    assert per.shape == (5,) and per[4] == pytest.approx(0.2, abs=1e-15) and float(per[:4].abs().max()) < 1e-15
    assert metrics.gnc3_margin(W, H, y) == pytest.approx(0.2 / 5, abs=1e-15)   # h*_k = w_k for this code


def test_gnc3_margin_uses_the_margin_direction_not_the_row():
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, -0.8]], dtype=torch.float64)
    y = torch.arange(4)
    det = margins.one_vs_rest_distance(W, return_details=True)
    H = det.h / det.h.norm(dim=1, keepdim=True)                 # features at the margin directions
    assert metrics.gnc3_margin(W, H, y) == pytest.approx(0.0, abs=1e-14)
    assert metrics.gnc3_uncentred(W, H, y) > 1e-3               # h*_k != w_k here: rho_k > 1 - max cos
