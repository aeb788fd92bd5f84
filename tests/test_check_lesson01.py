"""Lesson-01 self-checks: right answers pass, typical wrong answers get the specific message,
stubs fail, and garbage never crashes a check."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from gnc_teach import check, geometry, metrics


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    # The root conftest makes failed checks raise; here we inspect the returned result instead.
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "0")


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: fill in this part")


def failed(result, pattern):
    assert not result.passed, str(result)
    import re
    assert re.search(pattern, result.message), result.message


GARBAGE = [None, 3, "abc", lambda *a: None, lambda *a: "abc", lambda *a: [[1, 2], [3]],
           lambda *a: torch.zeros(2, 2, 2), lambda *a: 1 / 0, lambda *a: float("nan"),
           lambda *a: torch.tensor([1j]), lambda *a: {"W": 1}, lambda: 0]


@pytest.mark.parametrize("name", check.lesson01.__all__)
def test_stub_and_garbage_fail_without_crashing(name, capsys):
    fn = getattr(check, name)
    failed(fn(stub), "not implemented yet")
    for g in GARBAGE:
        r = fn(g)
        assert not r.passed and r.message
    out = capsys.readouterr().out
    assert "✅" not in out and out.count("❌") == len(GARBAGE) + 1


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="simplex_etf: not implemented"):
        check.simplex_etf(stub)


# ------------------------------------------------------------------ simplex_etf
def test_simplex_etf_accepts_torch_numpy_and_rotations():
    assert check.simplex_etf(lambda K, d: geometry.simplex_etf(K, d))
    assert check.simplex_etf(lambda K, d: geometry.simplex_etf(K, d, seed=3).numpy())
    assert check.simplex_etf(lambda K, d: geometry.simplex_etf(K, d, dtype=torch.float32).tolist())


def _no_error(K, d):
    return torch.eye(K)[:, :d] if d < K - 1 else geometry.simplex_etf(K, d)


def _silent_error(K, d):
    if d < K - 1:
        raise ValueError()
    return geometry.simplex_etf(K, d)


def _wrong_error(K, d):
    if d < K - 1:
        raise RuntimeError("no")
    return geometry.simplex_etf(K, d)


@pytest.mark.parametrize("fn, pattern", [
    (lambda K, d: torch.eye(K, d), "rows are not unit vectors: for K=2, d=1 row 1 has norm 0"),
    (lambda K, d: 2 * geometry.simplex_etf(K, d), "rows are not unit vectors.*norm 2"),
    (lambda K, d: geometry.simplex_etf(K, d).T, r"shape \(1, 2\), expected shape \(2, 1\)"),
    (lambda K, d: torch.eye(K) - 1 / K, r"shape \(2, 2\), expected shape \(2, 1\)"),
    (lambda K, d: torch.nn.functional.normalize(torch.ones(K, d), dim=1), "do not sum to zero"),
    (lambda K, d: torch.cat([geometry.simplex_etf(K, d)[:1], -geometry.simplex_etf(K, d)[1:]])
     if K > 2 else geometry.simplex_etf(K, d), "do not sum to zero"),
    (_no_error, r"returned a result, but no simplex ETF of 5 vectors exists in R\^3"),
    (_silent_error, "ValueError without a message"),
    (_wrong_error, "raised RuntimeError; for d < K-1 raise a ValueError"),
    (lambda K, d: None, "returned None"),
])
def test_simplex_etf_wrong_answers(fn, pattern):
    failed(check.simplex_etf(fn), pattern)


def test_simplex_etf_equal_angles_but_wrong_value():
    # Unit rows with zero sum but unequal angles (a square in a plane, K=4, d=3).
    def square(K, d):
        if K == 4:
            return torch.tensor([[1., 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]])
        return geometry.simplex_etf(K, d)
    failed(check.simplex_etf(square), r"K=4, d=3 rows 0 and 2 have inner product -1, .* -1/\(K-1\) = -0.3333")


# ------------------------------------------------------------------ simplex_gap
def _gap(W):
    return geometry.max_cos(W) + 1 / (W.shape[0] - 1)


def test_simplex_gap_accepts_float_tensor_and_numpy_scalar():
    assert check.simplex_gap(_gap)
    assert check.simplex_gap(lambda W: torch.tensor(_gap(W)))
    assert check.simplex_gap(lambda W: np.float64(_gap(W)))


def _with_diagonal(W):
    Wn = W / W.norm(dim=1, keepdim=True)
    return (Wn @ Wn.T).max() + 1 / (W.shape[0] - 1)


def _inner(W):
    G = W @ W.T
    G.fill_diagonal_(-np.inf)
    return G.max() + 1 / (W.shape[0] - 1)


@pytest.mark.parametrize("fn, pattern", [
    (_with_diagonal, "diagonal cos"),
    (_inner, "right for unit rows only"),
    (lambda W: geometry.max_cos(W) - 1 / (W.shape[0] - 1), "sign slip"),
    (lambda W: -1.0, "negative"),
    (lambda W: 0.0, r"your gap 0 is wrong"),
    (lambda W: torch.ones(3), "one number"),
])
def test_simplex_gap_wrong_answers(fn, pattern):
    failed(check.simplex_gap(fn), pattern)


# ------------------------------------------------------------------ class_means and nc1
def test_class_means_and_nc1_accept_the_reference():
    assert check.class_means(metrics.class_means)
    assert check.class_means(lambda H, y: metrics.class_means(H, y).numpy())
    assert check.nc1(metrics.nc1)
    # float32 answers are accepted too (tolerances allow for the lost digits)
    assert check.class_means(lambda H, y: metrics.class_means(H.float(), y).float())
    assert check.nc1(lambda H, y: metrics.nc1(H.float(), y))


def _in_order_of_appearance(H, y):
    order = list(dict.fromkeys(y.tolist()))
    return torch.stack([H[y == k].mean(0) for k in order])


@pytest.mark.parametrize("fn, pattern", [
    (lambda H, y: torch.stack([H[y == k].sum(0) for k in range(int(y.max()) + 1)]), "class sums"),
    (lambda H, y: H.mean(0).expand(int(y.max()) + 1, -1), "global mean"),
    (_in_order_of_appearance, "wrong order"),
    (lambda H, y: metrics.class_means(H, y).T, "transpose"),
    (lambda H, y: metrics.class_means(H, y) + 0.1, "not the mean of its class"),
])
def test_class_means_wrong_answers(fn, pattern):
    failed(check.class_means(fn), pattern)


def _nc1_parts(H, y, *, inv=False, unbiased=False):
    K = int(y.max()) + 1
    M = metrics.class_means(H, y)
    D = H - M[y]
    Mc = M - H.mean(0)
    Sw = D.T @ D / (len(H) - unbiased)
    Sb = Mc.T @ Mc / K
    P = torch.linalg.inv(Sb) if inv else torch.linalg.pinv(Sb)
    return torch.trace(Sw @ P) / K


def _nc1_raises_on_singular(H, y):
    if H.shape[1] >= int(y.max()) + 1:
        raise torch.linalg.LinAlgError("singular")
    return metrics.nc1(H, y)


@pytest.mark.parametrize("fn, pattern", [
    (lambda H, y: metrics.nc1(H, y) * (int(y.max()) + 1), "off by a factor K"),
    (lambda H, y: _nc1_parts(H, y, unbiased=True), "unbiased"),
    (lambda H, y: _nc1_parts(H, y, inv=True), "pseudo-inverse"),
    (_nc1_raises_on_singular, "raised _?LinAlgError.*pseudo-inverse"),
    (lambda H, y: metrics.nc1(H, y) + 0.5, "not tr"),
    (lambda H, y: 1.0 if torch.allclose(H, metrics.class_means(H, y)[y]) else metrics.nc1(H, y),
     "full collapse"),
])
def test_nc1_wrong_answers(fn, pattern):
    failed(check.nc1(fn), pattern)


def test_nc1_detects_missing_invariance():
    calls = []

    def not_invariant(H, y):
        calls.append(1)
        return metrics.nc1(H, y) * (1.5 if len(calls) == 6 else 1.0)
    failed(check.nc1(not_invariant), "rotated, scaled and shifted")


# ------------------------------------------------------------------ spread_points
def _good_spread(K, d):
    if K <= d + 1:
        return geometry.simplex_etf(K, d, seed=0)
    # Triangular bipyramid: max cos 0, the best possible for K=5 on S^2.
    return torch.cat([geometry.simplex_etf(3, 2).double() @ torch.eye(2, 3, dtype=torch.float64),
                      torch.tensor([[0., 0, 1], [0, 0, -1]], dtype=torch.float64)])


def test_spread_points_passes_good_configurations():
    r = check.spread_points(_good_spread)
    assert r and "max cos = 0.000" in r.message


@pytest.mark.parametrize("fn, pattern", [
    (lambda K, d: 2 * _good_spread(K, d), "not unit vectors"),
    (lambda K, d: geometry.random_sphere(K, d, seed=0), r"for K=3, d=2 your points have max cos"),
    (lambda K, d: _good_spread(K, d) if K <= d + 1 else geometry.random_sphere(K, d, seed=1),
     r"for K=5, d=3 your max cos"),
])
def test_spread_points_wrong_answers(fn, pattern):
    failed(check.spread_points(fn), pattern)
