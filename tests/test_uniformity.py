"""Uniformity measures: closed forms, an independent implementation, gradients, batches and bad input."""
import math

import numpy as np
import pytest
import torch

from gnc_teach.codes import riesz_energy as riesz_np
from gnc_teach.geometry import cross_polytope, random_sphere, simplex_etf
from gnc_teach.uniformity import check_measure, energy, gram_logdet, measure_label, min_separation, pair_distances

F64 = torch.float64


@pytest.mark.parametrize("K", [2, 3, 5, 8])
def test_simplex_energies_closed_form(K):
    W = simplex_etf(K, K - 1, dtype=F64)
    P, d2 = K * (K - 1) / 2, 2 * K / (K - 1)          # every squared distance of the simplex
    for s in (0.5, 1.0, 2.0, 3.0):
        assert float(energy(W, "riesz", s=s)) == pytest.approx(P * d2 ** (-s / 2), rel=1e-13)
    assert float(energy(W, "log")) == pytest.approx(-P * 0.5 * math.log(d2), rel=1e-13)
    assert float(min_separation(W)) == pytest.approx(math.sqrt(d2), rel=1e-13)
    b = math.exp(-d2)                                  # G = I + b (11ᵀ - I): eigenvalues 1 + (K-1)b, 1 - b
    assert float(gram_logdet(W, 1.0)) == pytest.approx(math.log(1 + (K - 1) * b) + (K - 1) * math.log(1 - b), abs=1e-13)


def test_riesz_matches_the_numpy_implementation_of_codes():
    # codes.riesz_energy uses differences x_i - x_j; energy() uses 2 - 2<x_i, x_j>, which loses relative
    # accuracy ~1e-16/d_ij^2 on close pairs: random codes (close pairs) agree to 1e-10, spread codes to 1e-13
    for K, d, seed in [(5, 3, 0), (12, 4, 1), (30, 3, 2)]:
        W = random_sphere(K, d, seed=seed, dtype=F64)
        for s in (0.0, 1.0, 2.0, 4.5):
            assert float(energy(W, "riesz", s=s)) == pytest.approx(riesz_np(W, s=s), rel=1e-10)
    W = cross_polytope(5, dtype=F64)
    for s in (0.0, 1.0, 4.5):
        assert float(energy(W, "riesz", s=s)) == pytest.approx(riesz_np(W, s=s), rel=1e-13)


def test_family_limits_and_reductions():
    W = cross_polytope(3, dtype=F64)
    assert float(energy(W, "riesz", s=0)) == float(energy(W, "log"))
    assert float(energy(W, "riesz", s=math.inf)) == pytest.approx(1 / math.sqrt(2), rel=1e-14)
    assert float(energy(W, "riesz", s=2, reduction="mean")) == pytest.approx(float(energy(W, "riesz", s=2)) / 15)
    assert float(energy(W, "gram_det", reduction="mean")) == pytest.approx(float(energy(W, "gram_det")) / 6)
    # the s -> inf sandwich 1/delta <= E_s^(1/s) <= P^(1/s)/delta on a random code
    X = random_sphere(9, 3, seed=3, dtype=F64)
    delta = float(min_separation(X))
    for s in (1, 8, 64):
        r = float(energy(X, "riesz", s=s)) ** (1 / s)
        assert 1 / delta - 1e-12 <= r <= 36 ** (1 / s) / delta + 1e-12
    assert pair_distances(X).shape == (36,) and float(pair_distances(X).min()) == pytest.approx(delta)


def test_batched_and_differentiable():
    X = random_sphere(6, 3, seed=0, batch=4, dtype=F64)
    E = energy(X, "riesz", s=1.5)
    assert E.shape == (4,) and torch.allclose(E[2], energy(X[2], "riesz", s=1.5))
    Y = X[1].clone().requires_grad_(True)
    for m in ("riesz", "log", "gram_det"):
        (G,) = torch.autograd.grad(energy(Y, m, s=1.5), Y)
        V = torch.randn(6, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
        eps = 1e-6          # directional derivative along a tangent direction against central differences
        T = V - (V * Y.detach()).sum(1, keepdim=True) * Y.detach()
        step = lambda t: torch.nn.functional.normalize(Y.detach() + t * T, dim=1)   # noqa: E731
        fd = (float(energy(step(eps), m, s=1.5)) - float(energy(step(-eps), m, s=1.5))) / (2 * eps)
        assert fd == pytest.approx(float((G * T).sum()), rel=1e-6, abs=1e-8), m
    assert energy(X.float(), "riesz").dtype == torch.float32


def test_coincident_points_give_a_huge_finite_energy_not_nan():
    W = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0, 1.0, 0]], dtype=F64, requires_grad=True)
    apart = torch.eye(3, dtype=F64)
    for m in ("riesz", "log", "min_separation", "gram_det"):
        E = energy(W, m)
        assert torch.isfinite(E) and float(E.detach()) > float(energy(apart, m)) + 10
        assert torch.isfinite(torch.autograd.grad(E, W)[0]).all()


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(measure="mhe"), ValueError, "measure must be one of"),
    (dict(measure="riesz", s=-1.0), ValueError, "s must be >= 0"),
    (dict(measure="riesz", s=float("nan")), ValueError, "s must be >= 0"),
    (dict(measure="riesz", s="2"), TypeError, "s must be a real number"),
    (dict(measure="gram_det", gamma=0.0), ValueError, "gamma"),
    (dict(measure="riesz", reduction="max"), ValueError, "reduction"),
])
def test_bad_measure_specs(kwargs, exc, match):
    W = simplex_etf(4, 3, dtype=F64)
    with pytest.raises(exc, match=match):
        energy(W, **kwargs)


@pytest.mark.parametrize("W, exc, match", [
    (torch.ones(1, 3, dtype=F64), ValueError, "K >= 2"),
    (torch.tensor([[1.0, 0], [float("nan"), 0]]), ValueError, "NaN"),
    (torch.tensor([[2.0, 0], [0, 1.0]]), ValueError, "unit vectors"),
    (torch.tensor([[1j, 0], [0, 1]]), TypeError, "real-valued"),
    (torch.ones(3, dtype=F64), ValueError, "at least 2-D"),
    ("W", TypeError, "torch.Tensor"),
])
def test_bad_codes_are_refused_with_the_argument_named(W, exc, match):
    with pytest.raises(exc, match=match):
        energy(W)


def test_integer_codes_are_read_as_float64():       # as everywhere in the package (the validation layer)
    assert float(energy(torch.tensor([[1, 0], [0, 1]]))) == pytest.approx(0.5)


def test_numpy_input_and_labels():
    W = np.eye(3)
    assert float(energy(W, "riesz", s=2)) == pytest.approx(1.5)
    assert check_measure("riesz", 0) == ("log", 0.0, None)
    assert check_measure("riesz", math.inf) == ("min_separation", math.inf, None)
    assert measure_label("riesz", 2.0) == "riesz s=2" and measure_label("gram_det", gamma=0.5) == "gram_det γ=0.5"
