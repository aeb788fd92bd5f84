"""The HUG loss: its value at collapse, the stop-gradient, the proxy-free form, and clear errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from gnc_teach.geometry import simplex_etf
from gnc_teach.hug import batch_proxies, hug_loss, predict
from gnc_teach.uniformity import energy

F64 = torch.float64


def _batch(N=24, K=4, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    H = 3 * torch.randn(N, d, generator=g, dtype=F64)              # not unit: normalised inside
    y = torch.arange(K).repeat(N // K)
    P = F.normalize(torch.randn(K, d, generator=g, dtype=F64), dim=1)
    return H, y, P


def test_collapse_onto_proxies_leaves_only_the_inter_term():
    P = simplex_etf(4, 3, dtype=F64)
    y = torch.arange(4).repeat(5)
    t = hug_loss(2.5 * P[y], y, P, intra_weight=3.0, inter_weight=0.5, return_terms=True)
    assert float(t.intra) < 1e-15
    assert float(t.inter) == pytest.approx(float(energy(P, "riesz", s=2, reduction="mean")), rel=1e-14)
    assert float(t.loss) == pytest.approx(0.5 * float(t.inter), rel=1e-14)


def test_intra_is_the_mean_distance_to_the_own_proxy():
    H, y, P = _batch()
    t = hug_loss(H, y, P, return_terms=True)
    want = (F.normalize(H, dim=1) - P[y]).norm(dim=1).mean()
    assert float(t.intra) == pytest.approx(float(want), rel=1e-14)


def test_stop_gradient_proxies_move_by_the_inter_term_only():
    H, y, P = _batch()
    H.requires_grad_(True)
    P.requires_grad_(True)
    for a, b in [(1.0, 1.0), (5.0, 0.2), (0.0, 2.0)]:
        gH, gP = torch.autograd.grad(hug_loss(H, y, P, intra_weight=a, inter_weight=b), (H, P))
        (gU,) = torch.autograd.grad(b * energy(P, "riesz", s=2, reduction="mean"), P)
        assert float((gP - gU).abs().max()) < 1e-14
        (gI,) = torch.autograd.grad(a * hug_loss(H, y, P, inter_weight=0.0), H)
        assert float((gH - gI).abs().max()) < 1e-14                   # the features never see alpha


def test_proxy_free_uses_the_batch_class_means():
    H, y, _ = _batch(K=5, N=25)
    M, present = batch_proxies(H, y, 5)
    assert present.all() and torch.allclose(M.norm(dim=1), torch.ones(5, dtype=F64))
    free = hug_loss(H, y, measure="log", return_terms=True)
    fixed = hug_loss(H, y, M.detach(), measure="log", return_terms=True)
    assert float(free.loss) == pytest.approx(float(fixed.loss), rel=1e-14)
    # an absent class is left out of the inter term
    keep = y != 3
    part = hug_loss(H[keep], y[keep], num_classes=5, return_terms=True)
    M2, present2 = batch_proxies(H[keep], y[keep], 5)
    assert not present2[3]
    assert float(part.inter) == pytest.approx(float(energy(M2[present2], "riesz", s=2, reduction="mean")), rel=1e-14)
    Hg = H.clone().requires_grad_(True)                              # and the features get inter gradients
    (g,) = torch.autograd.grad(hug_loss(Hg, y, intra_weight=0.0), Hg)
    assert float(g.norm()) > 0


def test_other_measures_and_prediction():
    H, y, P = _batch()
    for m in ("log", "min_separation", "gram_det"):
        t = hug_loss(H, y, P, measure=m, return_terms=True)
        assert float(t.inter) == pytest.approx(float(energy(P, m, reduction="mean")), rel=1e-14)
    assert torch.equal(predict(P[y] * 2, P), y)
    assert hug_loss(H.float(), y, P.float()).dtype == torch.float32


@pytest.mark.parametrize("change, exc, match", [
    (dict(measure="uniform"), ValueError, "measure must be one of"),
    (dict(s=-1.0), ValueError, "s must be >= 0"),
    (dict(intra_weight=-0.1), ValueError, "intra_weight"),
    (dict(inter_weight=float("nan")), ValueError, "inter_weight"),
    (dict(proxies=torch.ones(1, 3, dtype=F64) / math.sqrt(3)), ValueError, "proxies must have K >= 2"),
    (dict(proxies=2 * simplex_etf(4, 3, dtype=F64)), ValueError, "proxies must be unit vectors"),
    (dict(proxies=torch.full((4, 3), float("nan"), dtype=F64)), ValueError, "proxies contains NaN"),
    (dict(proxies=simplex_etf(4, 4, dtype=F64)), ValueError, "d = 3"),
    (dict(proxies=simplex_etf(3, 3, dtype=F64)), ValueError, "labels must lie in 0..K-1"),
    (dict(labels=torch.zeros(24)), TypeError, "labels must hold integer"),
    (dict(features=torch.zeros(24, 3, dtype=F64)), ValueError, "zero vector"),
    (dict(features="abc"), TypeError, "features must be"),
    (dict(features=[[1.0, 0, 0]]), ValueError, "labels must have shape"),
])
def test_bad_input_names_the_argument(change, exc, match):
    H, y, P = _batch()
    kw = dict(features=H, labels=y, proxies=P)
    kw.update(change)
    with pytest.raises(exc, match=match):
        hug_loss(kw.pop("features"), kw.pop("labels"), kw.pop("proxies"), **kw)


def test_proxy_free_needs_two_classes():
    H, y, _ = _batch()
    with pytest.raises(ValueError, match="at least two classes"):
        hug_loss(H[y == 1], y[y == 1])
