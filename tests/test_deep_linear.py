"""The deep linear UFM trainer (gnc_teach.models.deep_linear) against the closed forms.

The required numbers (lesson 07): K = 4, n = (200, 100, 50, 50), float64, trained lengths within 1e-6 relative of
the closed form for M = 1 and 1e-4 for M = 2, 3, for several λ including minority collapse (the whole
grid runs by default: it takes a few seconds).
"""
import numpy as np
import pytest
import torch

from gnc_teach import imbalance, metrics
from gnc_teach.models import deep_linear as dl

N_PAPER = (200, 100, 50, 50)
TOL = {1: 1e-6, 2: 1e-4, 3: 1e-4}


def _assert_matches_closed_form(r, M):
    e = dl.closed_form_errors(r)
    for key in ("w_norm2", "h_norm2", "inner", "collapsed", "gram"):
        assert e[key] <= TOL[M], (key, e)
    assert -1e-12 <= e["objective_gap"] <= 1e-10, e  # never below the global minimum


@pytest.mark.parametrize("M", [1, 2, 3])
@pytest.mark.parametrize("lam", [0.005, 0.01, 0.015, 0.02])
def test_closed_form_paper_setting(M, lam):
    """The whole grid (about 0.1-1 s per case): at λ = 0.015 the minority collapses for M = 2, 3 only,
    at λ = 0.02 for every depth."""
    r = dl.train_deep_linear_ufm(N_PAPER, M=M, lam_W=lam, lam_H=lam, restarts=1 if M == 1 else 16, device="cpu")
    _assert_matches_closed_form(r, M)
    expected = imbalance.deep_linear_optimum(N_PAPER, lam, lam, M).collapsed
    assert r.minima[0].collapsed == tuple(np.flatnonzero(expected))
    assert expected.any() == (lam == 0.02 or (lam == 0.015 and M > 1))


def test_unequal_penalties_wider_layers_and_more_classes():
    n = (120, 60, 30, 30, 10)
    r = dl.train_deep_linear_ufm(n, d=[7, 6], M=2, lam_W=0.02, lam_H=0.004, device="cpu")
    _assert_matches_closed_form(r, 2)
    assert [W.shape for W in r.layers] == [(6, 7), (5, 6)] and r.H.shape == (250, 7)


def test_every_minimum_reached_is_a_predicted_local_minimum():
    r = dl.train_deep_linear_ufm(N_PAPER, M=3, lam_W=0.01, lam_H=0.01, device="cpu")
    predicted = imbalance.local_minima(N_PAPER, 0.01, 0.01, 3)
    assert r.multiple_minima  # restarts from many scales do end in different minima here
    for m in r.minima:
        rank, f = min(predicted, key=lambda p: abs(p[1] - m.objective))
        assert abs(f - m.objective) <= 1e-10 and rank == m.rank
    assert sum(len(m.restarts) for m in r.minima) == 16
    assert "distinct minima" in r.report() and "lowest" in r.report()


def test_restart_views_and_objective_function_agree():
    r = dl.train_deep_linear_ufm(N_PAPER, M=2, lam_W=0.01, lam_H=0.01, restarts=4, device="cpu")
    for k in range(4):
        v = r.restart(k)
        f = dl.deep_linear_objective(v.layers, v.H, v.y, lam_W=0.01, lam_H=0.01)
        assert f == pytest.approx(r.restart_objectives[k], rel=1e-12) and v.best == k
    assert r.restart(r.best).objective == r.objective == min(r.restart_objectives)
    assert r.grad_norm <= 1e-8


def test_nc1_at_every_layer_and_alignment():
    r = dl.train_deep_linear_ufm(N_PAPER, M=3, lam_W=0.005, lam_H=0.005, device="cpu")
    nc1s = metrics.nc1_layers(r.layers, r.H, r.y)
    assert len(nc1s) == 3 and max(nc1s) < 1e-16
    assert torch.allclose(metrics.class_alignment(r.W, r.H, r.y), torch.ones(4, dtype=torch.float64), atol=1e-9)
    # class means entering every layer have the predicted lengths
    o = imbalance.deep_linear_optimum(N_PAPER, 0.005, 0.005, 3)
    Z = r.H
    for m, Wm in enumerate(r.layers):
        got = metrics.class_means(Z, r.y).pow(2).sum(1).numpy()
        np.testing.assert_allclose(got, o.feature_norm2[m], rtol=1e-6)
        Z = Z @ Wm.T


def test_balanced_bias_free_orthogonal_frame_and_bias_simplex_etf():
    n = (40,) * 4
    r = dl.train_deep_linear_ufm(n, M=2, lam_W=0.005, lam_H=0.005, device="cpu")
    assert metrics.orthogonal_frame_error(r.W) < 1e-8
    assert metrics.orthogonal_frame_error(r.class_means) < 1e-8
    assert metrics.simplex_etf_error(r.W) > 0.5  # an orthogonal frame is not an ETF
    rb = dl.train_deep_linear_ufm(n, d=3, M=2, lam_W=0.005, lam_H=0.005, bias=True, device="cpu")
    assert metrics.simplex_etf_error(rb.W) < 1e-8 and metrics.simplex_etf_error(rb.class_means) < 1e-8
    assert torch.allclose(rb.b, torch.full((4,), 0.25, dtype=torch.float64), atol=1e-8)
    _assert_matches_closed_form(rb, 2)


def test_narrow_width_is_refused_unless_asked_and_then_matches_the_rank_constrained_optimum():
    with pytest.raises(ValueError, match=r"d=3.*allow_narrow"):
        dl.train_deep_linear_ufm(N_PAPER, d=3)
    r = dl.train_deep_linear_ufm(N_PAPER, d=3, lam_W=0.005, lam_H=0.005, restarts=2, allow_narrow=True,
                                 device="cpu")
    o = imbalance.deep_linear_optimum(N_PAPER, 0.005, 0.005, 1, width=3)
    assert r.objective == pytest.approx(o.objective, rel=1e-10)
    assert r.objective > imbalance.deep_linear_optimum(N_PAPER, 0.005, 0.005, 1).objective + 1e-3


def test_cross_entropy_trains_and_has_no_closed_form():
    r = dl.train_deep_linear_ufm((40, 40, 5, 5), M=1, lam_W=5e-3, lam_H=5e-3, loss="ce", restarts=2, device="cpu")
    assert r.grad_norm <= 1e-8 and r.loss == "ce"
    w = r.W.norm(dim=1)
    assert w[0] > w[2]  # the majority classifier is longer (measured, not proved)
    with pytest.raises(ValueError, match="mse"):
        dl.closed_form_errors(r)


def test_float32_runs_and_keeps_its_dtype():
    r = dl.train_deep_linear_ufm((20, 10, 5, 5), M=2, lam_W=0.01, lam_H=0.01, restarts=4, dtype=torch.float32,
                                 device="cpu")
    assert r.H.dtype == torch.float32 and all(W.dtype == torch.float32 for W in r.layers)
    o = imbalance.deep_linear_optimum((20, 10, 5, 5), 0.01, 0.01, 2)
    assert abs(r.objective - o.objective) < 1e-4


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (the trainer runs on the GPU there)")
def test_cuda_matches_cpu():
    kw = dict(M=2, lam_W=0.015, lam_H=0.015, restarts=8)
    gpu = dl.train_deep_linear_ufm(N_PAPER, device="cuda", **kw)
    assert gpu.H.device.type == "cuda"
    cpu = dl.train_deep_linear_ufm(N_PAPER, device="cpu", **kw)
    assert gpu.objective == pytest.approx(cpu.objective, rel=1e-10)


@pytest.mark.parametrize("kw, err, match", [
    (dict(n=(200, 0)), ValueError, r"n\[1\]"), (dict(n=(200, 1.5)), TypeError, r"n\[1\]"),
    (dict(M=0), ValueError, "M"), (dict(d=[4, 4]), ValueError, "M widths"), (dict(d="4"), TypeError, "d must"),
    (dict(lam_W=-1.0), ValueError, "lam_W"), (dict(lam_H=float("inf")), ValueError, "lam_H"),
    (dict(loss="hinge"), ValueError, "loss"), (dict(restarts=0), ValueError, "restarts"),
    (dict(init_scale=(0, 1)), ValueError, r"init_scale\[0\]"), (dict(init_scale="big"), TypeError, "init_scale"),
    (dict(bias=True, d=2), ValueError, r">= 3"),
])
def test_bad_input_names_the_argument(kw, err, match):
    args = dict(n=N_PAPER) | kw
    with pytest.raises(err, match=match):
        dl.train_deep_linear_ufm(args.pop("n"), **args)


def test_objective_validates_shapes():
    H, y = torch.zeros(6, 3, dtype=torch.float64), dl.class_labels((3, 3))
    with pytest.raises(ValueError, match=r"layers\[1\]"):
        dl.deep_linear_objective([torch.zeros(3, 3), torch.zeros(2, 4)], H, y, lam_W=0.1, lam_H=0.1)
    with pytest.raises(TypeError, match="layers"):
        dl.deep_linear_objective(torch.zeros(2, 3), H, y, lam_W=0.1, lam_H=0.1)
    # zero model: the MSE is 1/2 (every sample misses its one-hot target by 1)
    assert dl.deep_linear_objective([torch.zeros(2, 3)], H, y, lam_W=0.1, lam_H=0.1) == pytest.approx(0.5)


@pytest.mark.parametrize("M", [1, 2])
def test_imbalanced_with_bias_matches_the_svd_closed_form(M):
    """With a bias the target is (I - π1ᵀ) D^{1/2}, not diagonal: the closed form goes through its SVD."""
    r = dl.train_deep_linear_ufm(N_PAPER, M=M, lam_W=0.01, lam_H=0.01, bias=True, device="cpu")
    _assert_matches_closed_form(r, M)
    pi = torch.tensor(N_PAPER, dtype=torch.float64) / 400
    assert torch.allclose(r.b, pi, atol=1e-8)  # the optimal bias is the class proportions
    assert r.H.mean(0).norm() < 1e-8  # and the features are centred
