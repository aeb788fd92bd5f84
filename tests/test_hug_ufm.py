"""The HUG spherical UFM (shared training core) and the decoupling sweep."""
import math

import numpy as np
import pytest
import torch

from gnc_teach import certify
from gnc_teach.geometry import simplex_etf
from gnc_teach.metrics import code_distance
from gnc_teach.models.hug_ufm import decoupling_sweep, train_hug_ufm
from gnc_teach.uniformity import energy

F64 = torch.float64


def test_converges_to_the_simplex_with_collapsed_self_dual_features():
    r = train_hug_ufm(4, 3, 3, steps=600, seed=1)
    assert code_distance(r.W, simplex_etf(4, 3)) < 1e-6                      # proved optimum (K <= d+1)
    res = certify.self_duality_residual(r.W, r.H, r.y)
    assert float(res["to_classifier"].max()) < 1e-3                          # features on their proxies
    assert r.history["energy"][-1] == pytest.approx(float(energy(simplex_etf(4, 3, dtype=F64), "riesz", s=2)), rel=1e-9)
    assert r.tau is None and len(r.loss) == 600 and r.history["step"][-1] == 600


def test_restarts_batch_and_the_best_is_returned():
    r = train_hug_ufm(6, 3, 2, measure="log", steps=200, restarts=3, seed=0)
    assert len(r.restart_losses) == 3 and r.best == int(np.argmin(r.restart_losses))


def test_proxy_free_returns_the_class_means():
    r = train_hug_ufm(4, 3, 3, proxies=False, steps=1000, seed=2)     # slower: both terms act on H
    M = torch.nn.functional.normalize(r.H.reshape(4, 3, 3).mean(1), dim=1)
    assert torch.allclose(r.W, M, atol=1e-12)
    assert code_distance(r.W, simplex_etf(4, 3)) < 5e-3


def test_adam_ignores_the_weights_and_gradient_steps_do_not():
    a = train_hug_ufm(8, 3, 2, steps=150, record_every=0)
    b = train_hug_ufm(8, 3, 2, steps=150, intra_weight=10.0, inter_weight=0.1, record_every=0)
    assert float((a.W - b.W).abs().max()) < 1e-4                              # Adam: up to its epsilon
    c = train_hug_ufm(8, 3, 2, steps=150, optimizer="gd", lr=1.0, record_every=0)
    e = train_hug_ufm(8, 3, 2, steps=150, optimizer="gd", lr=1.0, intra_weight=10.0, inter_weight=0.1, record_every=0)
    assert float((c.W - e.W).abs().max()) > 0.05


def test_inter_weight_zero_leaves_the_proxies_at_their_start():
    a = train_hug_ufm(5, 3, 2, steps=50, inter_weight=0.0, record_every=0, seed=3)
    b = train_hug_ufm(5, 3, 2, steps=50, inter_weight=0.0, intra_weight=0.0, record_every=0, seed=3)
    assert torch.equal(a.W, b.W)


def test_decoupling_sweep_small_grid():
    dec = decoupling_sweep(intra_weights=(0.0, 3.0), inter_weights=(0.0, 1.0), ce_scales=(0.3, 3.0), steps=120)
    gap, g1 = dec["hug_energy_gap"], dec["hug_gnc1"]
    assert gap.shape == (2, 2) and np.abs(gap[0] - gap[1]).max() <= 1e-12 * np.abs(gap).max()
    assert gap[0, 1] < gap[0, 0] and g1[0, 0] == g1[0, 1] and g1[1].max() < g1[0].min()
    assert dec["ce_gnc1"][1] < dec["ce_gnc1"][0] and dec["ce_rho_gap"][1] < dec["ce_rho_gap"][0]


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(optimizer="sgd"), ValueError, "optimizer must be one of"),
    (dict(intra_weight=-1.0), ValueError, "intra_weight"),
    (dict(inter_weight=-1.0), ValueError, "inter_weight"),
    (dict(measure="gram"), ValueError, "measure must be one of"),
    (dict(s=-2.0), ValueError, "s must be >= 0"),
    (dict(proxies="yes"), TypeError, "proxies must be True"),
    (dict(K=1), ValueError, "K must be >= 2"),
    (dict(lr=0.0), ValueError, "lr"),
])
def test_bad_input(kwargs, exc, match):
    K = kwargs.pop("K", 4)
    with pytest.raises(exc, match=match):
        train_hug_ufm(K, 3, 2, steps=5, **kwargs)


def test_decoupling_sweep_rejects_bad_settings():
    with pytest.raises(ValueError, match="intra_weights"):
        decoupling_sweep(intra_weights=(-1.0,), inter_weights=(1.0,), steps=5)
    with pytest.raises(ValueError, match="ce_scales"):
        decoupling_sweep(ce_scales=(0.0,), steps=5)
    with pytest.raises(ValueError, match="tau"):
        decoupling_sweep(tau=-1.0, steps=5)


def test_float32_runs():
    r = train_hug_ufm(4, 3, 2, steps=50, dtype=torch.float32, device="cpu", record_every=0)
    assert r.W.dtype == torch.float32 and math.isfinite(r.loss[-1])
