"""Tests for gnc_teach.models.ufm: collapse of the two models, the shared loop, restarts, schedules, errors."""
import math

import pytest
import torch

from gnc_teach import metrics
from gnc_teach.models import ufm

ANTIPRISM_RHO = 0.73880  # square antiprism, the best known d=3, K=8 softmax code (lesson 03)


def test_train_ufm_collapses_to_simplex_etf():
    K, d, n = 5, 6, 4
    r = ufm.train_ufm(K, d, n, steps=600)
    assert r.W.shape == (K, d) and r.H.shape == (K * n, d) and r.y.tolist() == [k for k in range(K) for _ in range(n)]
    assert r.W.dtype == torch.float64 and r.tau is None
    assert len(r.loss) == 600 and r.loss[-1] < r.loss[0]
    for key in ("nc1", "nc2", "nc2_equinorm", "nc3", "nc4"):
        assert len(r.history[key]) == len(r.history["step"])
    assert r.history["step"][-1] == 600
    assert r.history["nc1"][-1] < 1e-8
    assert r.history["nc2"][-1] < 1e-4
    assert r.history["nc3"][-1] < 1e-6
    assert r.history["nc4"][-1] == 0.0
    assert metrics.nc2(W=r.W).maxangle_W < 1e-4  # classifier rows: simplex ETF angles


def test_spherical_done_when_target():
    """The project's "done when": K=8, d=3, n=5, tau=0.05 with the defaults."""
    r = ufm.train_spherical_ufm(K=8, d=3, n=5, tau=0.05)
    assert metrics.within_class_spread(r.H, r.y) < 1e-4
    assert float((r.W[r.y] * r.H).sum(1).mean()) > 0.999
    assert torch.allclose(r.W.norm(dim=1), torch.ones(8, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(r.H.norm(dim=1), torch.ones(40, dtype=torch.float64), atol=1e-12)
    pytest.importorskip("gnc_teach.margins")
    assert abs(metrics.gnc2(r.W) - ANTIPRISM_RHO) < 1e-3
    assert r.history["gnc2"][-1] == pytest.approx(metrics.gnc2(r.W))
    assert r.history["gnc3"][-1] < 1e-6 and r.history["tau"][-1] == 0.05


def test_restarts_run_as_one_batch_and_best_is_returned():
    r = ufm.train_spherical_ufm(6, 2, 3, 0.2, steps=300, restarts=3, record_every=0, seed=1)
    assert len(r.restart_losses) == 3 and 0 <= r.best < 3
    assert r.restart_losses[r.best] == min(r.restart_losses)
    assert r.history["step"] == [300]  # record_every=0: only the final state
    # the returned loss at the target tau equals the best restart's final loss
    with torch.no_grad():
        final = ufm._ce(r.W[None], r.H[None], r.y, 0.2)
    assert float(final) == pytest.approx(r.restart_losses[r.best], rel=1e-9)


def test_shared_loop_is_used_by_both(monkeypatch):
    calls = []
    real = ufm._fit

    def spy(*args, **kw):
        calls.append(kw["sphere"])
        return real(*args, **kw)

    monkeypatch.setattr(ufm, "_fit", spy)
    ufm.train_ufm(3, 2, 2, steps=5)
    ufm.train_spherical_ufm(3, 2, 2, 1.0, steps=5)
    assert calls == [False, True]


def test_schedules_sequence_and_callable():
    r = ufm.train_spherical_ufm(4, 3, 2, 0.1, steps=40, schedule=[1.0, 0.5, 0.1, 0.1], record_every=10)
    assert r.history["tau"][:4] == [1.0, 0.5, 0.1, 0.1]
    r = ufm.train_spherical_ufm(4, 3, 2, 0.1, steps=20, schedule=lambda t: 0.3, record_every=10)
    assert r.history["tau"][0] == 0.3 and r.tau == 0.1
    r = ufm.train_spherical_ufm(4, 3, 2, 0.1, steps=20, record_every=10)  # default: anneal from 1
    assert r.history["tau"][0] == 1.0 and r.history["tau"][-1] == pytest.approx(0.1)


def test_spherical_simplex_for_K_le_d_plus_1():
    r = ufm.train_spherical_ufm(4, 3, 3, 0.1, steps=400, record_every=0)
    G = r.W @ r.W.T
    off = G[~torch.eye(4, dtype=torch.bool)]
    assert torch.allclose(off, torch.full_like(off, -1 / 3), atol=1e-4)


def test_float32_and_device_arguments():
    r = ufm.train_spherical_ufm(3, 2, 2, 0.5, steps=20, dtype=torch.float32, device="cpu", record_every=0)
    assert r.W.dtype == torch.float32 and r.W.device.type == "cpu"


@pytest.mark.parametrize("kw, exc, pattern", [
    (dict(K=1), ValueError, "K must be >= 2"),
    (dict(d=0), ValueError, "d must be >= 1"),
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(tau=0.0), ValueError, "tau"),
    (dict(tau=float("nan")), ValueError, "tau"),
    (dict(tau=-1.0), ValueError, "tau"),
    (dict(schedule="fast"), TypeError, "schedule"),
    (dict(schedule=5), TypeError, "schedule"),
    (dict(schedule=[0.5, -1.0]), ValueError, "schedule"),
    (dict(restarts=0), ValueError, "restarts"),
])
def test_spherical_validation(kw, exc, pattern):
    args = dict(K=3, d=2, n=2, tau=0.5, steps=5)
    args.update(kw)
    with pytest.raises(exc, match=pattern):
        ufm.train_spherical_ufm(**args)


def test_ufm_validation():
    with pytest.raises(ValueError, match="K must be >= 2"):
        ufm.train_ufm(1, 2, 2)
    with pytest.raises(ValueError, match="lam_W"):
        ufm.train_ufm(3, 2, 2, lam_W=-1.0)
    with pytest.raises(TypeError, match="steps"):
        ufm.train_ufm(3, 2, 2, steps=1.5)


def test_too_much_weight_decay_gives_the_trivial_minimiser_without_crashing():
    r = ufm.train_ufm(3, 4, 2, lam_W=0.5, lam_H=0.5, steps=200)
    assert float(r.W.norm()) < 1e-3 and float(r.H.norm()) < 1e-3
    assert r.loss[-1] == pytest.approx(math.log(3), abs=1e-5)  # CE of the all-zero logits
    assert len(r.history["nc1"]) == len(r.history["step"])


def test_small_tau_stays_finite_and_approaches_the_tammes_margin():
    # At tau = 0.01 the CE underflows to 0 in float64 (CE ~ exp(-rho/tau)); the objective tau*log(CE)
    # must still give finite values and gradients, and rho must move closer to the tau -> 0 optimum
    # 0.738796 (square antiprism) than the tau = 0.05 run does (0.73861).
    r = ufm.train_spherical_ufm(8, 3, 5, 0.01)
    assert torch.isfinite(r.W).all() and torch.isfinite(r.H).all()
    assert all(math.isfinite(v) for v in r.loss)
    assert abs(r.history["gnc2"][-1] - 0.7387961250) < 2e-5
    assert r.history["spread"][-1] < 1e-10


def test_tau_log_ce_matches_the_direct_formula_where_ce_is_representable():
    g = torch.Generator().manual_seed(0)
    W = torch.nn.functional.normalize(torch.randn(2, 5, 3, generator=g, dtype=torch.float64), dim=-1)
    H = torch.nn.functional.normalize(torch.randn(2, 10, 3, generator=g, dtype=torch.float64), dim=-1)
    y = ufm.ufm_labels(5, 2)
    for tau in (1.0, 0.1, 0.02):
        obj, ce = ufm._tau_log_ce(W, H, y, tau)
        direct = ufm._ce(W, H, y, tau)
        torch.testing.assert_close(ce, direct, rtol=1e-12, atol=0)
        torch.testing.assert_close(obj, tau * torch.log(direct), rtol=1e-12, atol=1e-14)
