"""Property tests (hypothesis) of the one-vs-rest distance ρ_k(W) = dist(w_k, conv{w_j : j ≠ k}).

Proved facts, checked on random codes: margin duality with h = w_k gives 1 − max_{j≠k} cos(w_j, w_k) ≤ ρ_k
for unit rows; every w_j lies in the hull, so ρ_k ≤ min_{j≠k} ‖w_k − w_j‖; ρ(W) ≤ K/(K−1) for unit rows
(the simplex ETF bound); ρ is invariant under rotations and permutations of the rows and positively
homogeneous, ρ(cW) = c ρ(W), for every c > 0 that float64 can hold (1e-300 .. 1e300); and the
certified bounds lower ≤ ρ_k ≤ upper bracket an independent scipy NNLS reference.
"""
import math

import numpy as np
import torch
from hypothesis import given, settings, strategies as st

from gnc_teach.geometry import random_rotation, random_sphere
from gnc_teach.margins import one_vs_rest_distance
from test_margins import reference_rho

F64 = torch.float64
codes = dict(K=st.integers(2, 16), d=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
prop = settings(max_examples=25, deadline=None)
TOL = 1e-10   # the solver certifies every row to a gap <= 1e-10 (relative to the largest row)


def _cos(W):
    G = W @ W.T
    return G.fill_diagonal_(-math.inf)


@prop
@given(**codes)
def test_rho_lies_between_one_minus_max_cos_and_the_nearest_row(K, d, seed):
    W = random_sphere(K, d, seed=seed)
    rho = one_vs_rest_distance(W)
    one_minus_cos = 1 - _cos(W).max(dim=1).values            # per class k: h = w_k in margin duality
    D = torch.cdist(W, W).fill_diagonal_(math.inf)
    assert (one_minus_cos <= rho + TOL).all()
    assert (rho <= D.min(dim=1).values + TOL).all()
    assert float(rho.min()) <= K / (K - 1) + TOL


@prop
@given(**codes, rot=st.integers(0, 2**31 - 1))
def test_rho_is_invariant_under_rotations_and_permutations(K, d, seed, rot):
    W = random_sphere(K, d, seed=seed)
    rho = one_vs_rest_distance(W)
    Q = random_rotation(d, seed=rot)
    assert torch.allclose(one_vs_rest_distance(W @ Q.T), rho, atol=1e-9)
    perm = torch.randperm(K, generator=torch.Generator().manual_seed(rot))
    assert torch.allclose(one_vs_rest_distance(W[perm]), rho[perm], atol=1e-9)


@prop
@given(**codes, mantissa=st.floats(1.0, 9.99), exponent=st.integers(-300, 300))
def test_rho_is_positively_homogeneous_within_float64(K, d, seed, mantissa, exponent):
    # ρ(cW) = c ρ(W) for every c > 0 whose scaled code float64 can hold: 1e160 W must not overflow the
    # squared norms to inf (ρ = 0 was returned), nor 1e-200 W underflow them to 0
    W = random_sphere(K, d, seed=seed)
    c = mantissa * 10.0 ** exponent
    rho = one_vs_rest_distance(W)
    scaled = one_vs_rest_distance(c * W)
    assert torch.isfinite(scaled).all()
    zero = rho <= TOL
    assert (scaled[zero] <= TOL * c).all()
    assert torch.allclose(scaled[~zero] / c, rho[~zero], rtol=1e-9, atol=0)


@settings(max_examples=20, deadline=None)
@given(**codes)
def test_certified_bounds_bracket_an_nnls_reference(K, d, seed):
    W = random_sphere(K, d, seed=seed)
    det = one_vs_rest_distance(W, return_details=True)
    ref = torch.as_tensor(reference_rho(W))
    # the NNLS point is feasible, so ref >= ρ_k >= lower; upper is the certified distance (ρ_k + gap)
    assert (det.lower <= ref + 1e-9).all()
    assert (det.lower <= det.upper + 1e-12).all() and float(det.gap.max()) <= TOL   # gap may be -1 ulp
    assert np.allclose(det.upper.numpy(), ref.numpy(), atol=1e-8)
