"""τ·CE, its hinge limit, per-sample margins and the HardMax objective (gnc_teach.hardmax)."""
import math

import pytest
import torch
import torch.nn.functional as F

from gnc_teach import hardmax as hm
from gnc_teach.geometry import random_sphere, regular_polygon, simplex_etf
from gnc_teach.margins import one_vs_rest_distance


def _data(K=6, d=4, n=5, seed=0):
    W = random_sphere(K, d, seed=seed)
    H = random_sphere(K * n, d, seed=seed + 1)
    y = torch.arange(K).repeat_interleave(n)
    return W, H, y


def test_ce_matches_torch_cross_entropy():
    W, H, y = _data()
    for tau in (1.0, 0.3):
        ref = F.cross_entropy(H @ W.T / tau, y)
        assert torch.allclose(hm.ce_loss(W, H, y, tau), ref, atol=1e-12)
        assert torch.allclose(hm.tau_ce(W, H, y, tau, reduction="mean"), tau * ref, atol=1e-12)


@pytest.mark.parametrize("tau", [10.0, 1.0, 0.1, 1e-3, 1e-6])
def test_tau_ce_sandwich(tau):
    """0 <= τ·CE − hinge <= τ log K, finite even where exp(a/τ) would overflow."""
    W, H, y = _data(K=7, d=3)
    gap = hm.tau_ce(W, H, y, tau) - hm.hinge(W, H, y)
    assert gap.dtype == torch.float64 and gap.shape == (35,)
    assert torch.isfinite(gap).all()
    assert float(gap.min()) >= -1e-12
    assert float(gap.max()) <= hm.tau_ce_gap_bound(7, tau) + 1e-12


def test_tau_ce_upper_bound_is_attained_when_all_logits_tie():
    # h orthogonal to all w_j: every gap is 0, so τ·CE = τ log K exactly
    W = torch.tensor([[1.0, 0, 0], [0, 1.0, 0], [-1.0, 0, 0]], dtype=torch.float64)
    H = torch.tensor([[0, 0, 1.0]], dtype=torch.float64)
    out = hm.tau_ce(W, H, torch.tensor([0]), 0.5)
    assert float(out) == pytest.approx(0.5 * math.log(3), abs=1e-15)


def test_tau_ce_decreases_with_tau_to_the_hinge():
    W, H, y = _data()
    vals = torch.stack([hm.tau_ce(W, H, y, t) for t in (1.0, 0.5, 0.1, 0.01)])
    assert (vals[1:] <= vals[:-1] + 1e-12).all()  # d/dτ (τ·LSE(a/τ)) = entropy >= 0
    assert torch.allclose(vals[-1], hm.hinge(W, H, y), atol=0.01 * math.log(6))


def test_sample_margins_and_hardmax_at_margin_directions():
    """Features at h_k* = (w_k − p_k)/||w_k − p_k|| have margin ρ_k, so HardMax = −ρ(W) (duality)."""
    W = random_sphere(8, 3, seed=4)
    det = one_vs_rest_distance(W, return_details=True)
    y = torch.arange(8).repeat(2)
    m = hm.sample_margins(W, det.h[y], y)
    assert torch.allclose(m, det.rho[y], atol=1e-10)
    assert hm.hardmax_objective(W, det.h[y], y) == pytest.approx(-float(det.rho.min()), abs=1e-10)
    # random unit features never do better than ρ_k
    H = random_sphere(2000, 3, seed=5)
    yr = torch.arange(2000) % 8
    assert (hm.sample_margins(W, H, yr) <= det.rho[yr] + 1e-12).all()


def test_known_margins():
    W = simplex_etf(4, 3)
    y = torch.arange(4)
    assert torch.allclose(hm.sample_margins(W, W, y), torch.full((4,), 4 / 3, dtype=torch.float64))
    assert hm.hardmax_objective(regular_polygon(6), regular_polygon(6), torch.arange(6)) == pytest.approx(-0.5)
    assert torch.equal(hm.hinge(W, W, y), torch.zeros(4, dtype=torch.float64))


def test_best_known_rho():
    assert hm.best_known_rho(8, 3) == pytest.approx(1 - 1 / (1 + 2 * math.sqrt(2)), abs=1e-10)
    assert hm.best_known_rho(4, 3) == pytest.approx(4 / 3)
    assert hm.best_known_rho(100, 10) == pytest.approx(0.6684178501, abs=1e-10)
    assert hm.best_known_rho(40, 7) is None


def test_rho_gap_bound():
    assert hm.rho_gap_bound(8, 40, 0.1) == pytest.approx(0.1 * math.log(2 * 40 * 7))
    with pytest.raises(ValueError, match="tau"):
        hm.rho_gap_bound(8, 40, 0.0)
    with pytest.raises(ValueError, match="N"):
        hm.rho_gap_bound(8, 0, 0.1)


def test_errors_name_the_parameter():
    W, H, y = _data()
    with pytest.raises(ValueError, match="tau"):
        hm.tau_ce(W, H, y, 0.0)
    with pytest.raises(ValueError, match="H has 3 columns"):
        hm.tau_ce(W, H[:, :3], y, 1.0)
    with pytest.raises(ValueError, match="label 9"):
        hm.hinge(W, H, torch.full_like(y, 9))
    with pytest.raises(ValueError, match="reduction"):
        hm.tau_ce(W, H, y, 1.0, reduction="avg")
    with pytest.raises(ValueError, match="taus is empty"):
        hm.tau_sweep(3, 2, 1, [])
    with pytest.raises(TypeError, match="taus"):
        hm.tau_sweep(3, 2, 1, ["a"])


def test_float32_input_stays_float32():
    W, H, y = _data()
    out = hm.tau_ce(W.float(), H.float(), y, 0.1)
    assert out.dtype == torch.float32


def test_tau_sweep_small():
    sw = hm.tau_sweep(4, 3, 2, [1.0, 0.1], steps=150, record_every=0)
    assert sw.taus == [1.0, 0.1] and len(sw.rho) == 2 and len(sw.margins) == 2
    assert sw.margins[0].shape == (8,)
    assert all(0 < r <= 4 / 3 + 1e-9 for r in sw.rho)
    assert sw.rho_star == pytest.approx(4 / 3)
    assert sw.as_dict() == dict(zip(sw.taus, sw.rho))


def test_plot_margin_distribution_labels_and_errors():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from gnc_teach.views.plotting import plot_margin_distribution
    ms = [torch.full((10,), 0.7, dtype=torch.float64), torch.linspace(0.6, 0.73, 10)]
    ax = plot_margin_distribution(ms, [1.0, 0.1], rho=[0.72, 0.735], rho_best=0.7388)
    assert ax.get_xlabel() == "temperature τ" and "margin" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "0.1"]
    with pytest.raises(ValueError, match="one non-empty array per tau"):
        plot_margin_distribution(ms, [1.0])
    plt.close("all")
