"""Closed forms of the deep linear UFM with MSE (gnc_teach.imbalance), checked against independent
computations: the explicit M = 1 formulas, the root equation of Dang et al. for M >= 2, a brute-force
minimisation of the per-class objective, and the thresholds from both sides."""
import math

import numpy as np
import pytest

from gnc_teach import imbalance as im

N_PAPER = (200, 100, 50, 50)


def test_m1_matches_the_explicit_formulas():
    n, lam_W, lam_H = np.array(N_PAPER, float), 0.01, 0.005
    N = n.sum()
    o = im.deep_linear_optimum(N_PAPER, lam_W, lam_H, 1)
    np.testing.assert_allclose(o.w_norm2, np.clip(np.sqrt(n * lam_H / lam_W) - N * lam_H, 0, None), rtol=1e-13)
    np.testing.assert_allclose(o.h_norm2, np.clip(np.sqrt(lam_W / (n * lam_H)) - N * lam_W / n, 0, None),
                               rtol=1e-13)
    np.testing.assert_allclose(o.inner, np.clip(1 - N * np.sqrt(lam_W * lam_H / n), 0, None), rtol=1e-13)
    # W Wᵀ diagonal (orthogonal rows), and the objective is the sum of the per-class objectives
    assert np.count_nonzero(o.W_gram - np.diag(np.diag(o.W_gram))) == 0
    per_class = sum(im.class_objective(z, nk, int(N), lam_W, lam_H, 1) for z, nk in zip(o.inner, N_PAPER))
    assert o.objective == pytest.approx(per_class, rel=1e-14)
    assert o.threshold == pytest.approx(N ** 2 * lam_W * lam_H)


@pytest.mark.parametrize("M", [2, 3, 4])
def test_general_m_satisfies_the_root_equation_of_the_paper(M):
    """b/n_k = M x^{M-1}/(x^M+1)², b = M N (N λ_W^M λ_H)^{1/M}, ||w_k||² = N λ_H x^M, <w_k, h̄_k> = x^M/(x^M+1)."""
    lam_W, lam_H = 0.006, 0.004
    o = im.deep_linear_optimum(N_PAPER, lam_W, lam_H, M)
    N, n = o.N, np.array(N_PAPER, float)
    assert not o.collapsed.any()
    x = (o.inner / (1 - o.inner)) ** (1 / M)
    b = M * N * (N * lam_W ** M * lam_H) ** (1 / M)
    np.testing.assert_allclose(M * x ** (M - 1) / (x ** M + 1) ** 2, b / n, rtol=1e-10)
    np.testing.assert_allclose(o.w_norm2, N * lam_H * x ** M, rtol=1e-10)


@pytest.mark.parametrize("M", [1, 2, 3])
def test_class_fit_is_the_global_minimiser_of_the_class_objective(M):
    """Brute force: a fine grid on [0, 1] never beats the returned fit (by more than rounding)."""
    rng = np.random.default_rng(M)
    grid = np.linspace(0, 1, 200_001)
    N = 400
    for _ in range(25):
        nk = int(rng.integers(5, 300))
        lam_W, lam_H = 10 ** rng.uniform(-3, -1.3, size=2)
        z = float(im.class_fit(nk, N, lam_W, lam_H, M))
        f = im.class_objective(z, nk, N, lam_W, lam_H, M)
        assert f <= im.class_objective(grid, nk, N, lam_W, lam_H, M).min() + 1e-12
        if z > 0:  # a stationary point, and one of the listed candidates
            assert min(abs(z - r) for r in im.stationary_fits(nk, N, lam_W, lam_H, M)) < 1e-12


@pytest.mark.parametrize("M", [1, 2, 3])
def test_collapse_threshold_from_both_sides(M):
    N, lam_W, lam_H = 400, 0.01, 0.02
    nstar = im.collapse_threshold(N, lam_W, lam_H, M)
    below, above = im.class_fit([nstar * (1 - 1e-9), nstar * (1 + 1e-9)], N, lam_W, lam_H, M)
    assert below == 0
    # M = 1: the fit leaves 0 continuously; M >= 2: it jumps to (M-1)/M
    assert above == pytest.approx((M - 1) / M, abs=1e-4)
    # the two candidates have equal objective at the threshold
    if M >= 2:
        zs = im.stationary_fits(nstar, N, lam_W, lam_H, M)
        f0 = im.class_objective(0.0, nstar, N, lam_W, lam_H, M)
        assert im.class_objective(zs[-1], nstar, N, lam_W, lam_H, M) == pytest.approx(f0, rel=1e-9)


@pytest.mark.parametrize("M", [2, 3])
def test_largest_root_is_not_always_the_minimiser(M):
    """Just below the threshold a positive local minimum exists, but collapse is better."""
    N, lam_W, lam_H = 400, 0.01, 0.02
    nk = 0.9 * im.collapse_threshold(N, lam_W, lam_H, M)
    roots = im.stationary_fits(nk, N, lam_W, lam_H, M)
    assert len(roots) == 2 and roots[0] < (M - 1) / (2 * M) < roots[1]
    assert im.class_objective(roots[1], nk, N, lam_W, lam_H, M) > im.class_objective(0.0, nk, N, lam_W, lam_H, M)
    assert im.class_fit(nk, N, lam_W, lam_H, M) == 0


def test_minority_collapse_in_the_paper_setting():
    o = im.deep_linear_optimum(N_PAPER, 0.02, 0.02, 1)  # threshold 400² · 4e-4 = 64: the two classes of 50
    assert o.collapsed.tolist() == [False, False, True, True]
    assert o.w_norm2[2] == o.h_norm2[2] == o.inner[2] == 0.0
    # deeper networks collapse earlier: at λ = 0.015 (n* = 36, 58.8, 62.4) only M >= 2 collapses the minority
    n1, n2, n3 = (im.deep_linear_optimum(N_PAPER, 0.015, 0.015, M).collapsed.sum() for M in (1, 2, 3))
    assert (n1, n2, n3) == (0, 2, 2)


def test_h_norm_is_not_monotone_in_class_size():
    N, lam = 400, 0.01
    n = np.arange(20, 400)
    z = im.class_fit(n, N, lam, lam, 1)
    h2 = np.sqrt(lam / (n * lam)) - N * lam / n
    h2[z == 0] = 0
    peak = int(np.argmax(h2))
    assert 0 < peak < len(n) - 1
    assert n[peak] == pytest.approx(4 * N ** 2 * lam * lam, abs=1)  # d/dn = 0 at sqrt(n) = 2N sqrt(λ_W λ_H): n = 4 n*


def test_balanced_orthogonal_frame_and_bias_gives_simplex_etf():
    K, n = 4, (50,) * 4
    o = im.deep_linear_optimum(n, 0.005, 0.005, 2)
    np.testing.assert_allclose(o.W_gram, o.W_gram[0, 0] * np.eye(K), atol=1e-12)
    np.testing.assert_allclose(o.H_gram, o.H_gram[0, 0] * np.eye(K), atol=1e-14)
    ob = im.deep_linear_optimum(n, 0.005, 0.005, 2, bias=True)
    P = np.eye(K) - 1 / K
    np.testing.assert_allclose(ob.W_gram, ob.W_gram[0, 0] * P / P[0, 0], atol=1e-12)
    np.testing.assert_allclose(ob.bias, np.full(K, 1 / K))
    assert ob.threshold is None and ob.objective > o.objective * 0  # defined, finite
    # class means are centred (weighted by n) with the bias
    assert abs(np.sqrt(np.array(n)) @ ob.H_gram @ np.sqrt(np.array(n))) < 1e-10


def test_width_below_k_drops_the_weakest_mode():
    n = N_PAPER
    full, narrow = im.deep_linear_optimum(n, 0.005, 0.005, 1), im.deep_linear_optimum(n, 0.005, 0.005, 1, width=3)
    assert narrow.inner[:3].tolist() == full.inner[:3].tolist() and narrow.inner[3] == 0
    gain = (im.class_objective(0.0, 50, 400, 0.005, 0.005, 1)
            - im.class_objective(full.inner[3], 50, 400, 0.005, 0.005, 1))
    assert narrow.objective - full.objective == pytest.approx(gain, rel=1e-12)
    balanced = im.deep_linear_optimum((50,) * 4, 0.005, 0.005, 1, width=3)
    assert not balanced.unique  # which class is dropped is a choice


@pytest.mark.parametrize("M", [1, 2, 3])
def test_local_minima_start_with_the_global_one(M):
    lm = im.local_minima(N_PAPER, 0.01, 0.01, M)
    best = im.deep_linear_optimum(N_PAPER, 0.01, 0.01, M)
    assert lm[0][1] == pytest.approx(best.objective, rel=1e-14)
    assert lm[0][0] == int(np.count_nonzero(best.modes))
    assert [f for _, f in lm] == sorted(f for _, f in lm)
    if M == 1:
        assert len(lm) == 1
    else:  # rank 0 (everything collapsed) is always a local minimum for M >= 2
        assert (0, pytest.approx(0.5)) in [(r, f) for r, f in lm]


@pytest.mark.parametrize("bad, match", [
    ((200, 0, 50), r"n\[1\] = 0"), ((200, -3), r"n\[1\] = -3"), ((200, 2.5), r"n\[1\]"), ((7,), "at least 2"),
    ("200,100", "sequence"), (5, "sequence"), ((200, None), r"n\[1\]"),
])
def test_bad_class_sizes_name_the_argument(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        im.deep_linear_optimum(bad, 0.01, 0.01)


@pytest.mark.parametrize("kw, match", [
    (dict(lam_W=0.0), "lam_W"), (dict(lam_H=-1e-3), "lam_H"), (dict(lam_W=float("nan")), "lam_W"),
    (dict(M=0), "M"), (dict(M=1.5), "M"), (dict(width=0), "width"),
])
def test_bad_parameters_name_the_argument(kw, match):
    args = dict(n=N_PAPER, lam_W=0.01, lam_H=0.01, M=1) | kw
    width = args.pop("width", None)
    with pytest.raises((ValueError, TypeError), match=match):
        im.deep_linear_optimum(**args, width=width)
    with pytest.raises((ValueError, TypeError)):
        im.collapse_threshold(400, args["lam_W"], args["lam_H"], args["M"]) if width is None else \
            im.deep_linear_optimum(N_PAPER, 0.01, 0.01, width=width)


def test_class_fit_rejects_nonpositive_sizes():
    with pytest.raises(ValueError, match="n_k"):
        im.class_fit([10, 0], 400, 0.01, 0.01)
    with pytest.raises(ValueError, match="N"):
        im.class_fit(10, 0, 0.01, 0.01)
    assert math.isfinite(float(im.class_fit(10, 400, 0.01, 0.01, 3)))
