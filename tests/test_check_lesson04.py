"""Tests for the lesson-04 self-checks: right answers pass, typical mistakes fail with a hint, nothing crashes."""
import pytest
import torch

from gnc_teach.check import lesson04 as chk

pytest.importorskip("gnc_teach.margins")


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


# ----------------------------------------------------------------------------- reference answers
def project(X, G):
    return G - (X * G).sum(dim=1, keepdim=True) * X


def hessian(A, x):
    P = torch.eye(len(x), dtype=A.dtype) - torch.outer(x, x)
    return 2 * (P @ A @ P - (x @ A @ x) * P)


def bounds(W, k, h, lam):
    h = h / h.norm()
    others = torch.cat([W[:k], W[k + 1:]])
    return float(((W[k] - others) @ h).min()), float((W[k] - lam @ W).norm())


def find_rattlers(W, tol):
    from gnc_teach.margins import one_vs_rest_distance
    r = one_vs_rest_distance(W)
    return [k for k in range(len(r)) if float(r[k]) > float(r.min()) + tol]


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("check, good", [(chk.riemannian_gradient, project), (chk.sphere_hessian, hessian),
                                         (chk.certificate, bounds), (chk.rattler, find_rattlers)])
def test_right_answers_pass_and_stubs_fail(check, good, capsys):
    assert check(good).passed
    res = check(stub)
    assert not res.passed and "not implemented" in res.message
    assert not check(42).passed
    assert not check(lambda *a: "nonsense").passed
    assert "✅" in capsys.readouterr().out


def test_gradient_mistakes():
    assert "not tangent" in chk.riemannian_gradient(lambda X, G: G).message
    # normalising the projected gradient: tangent, but it removed a tangent part too
    res = chk.riemannian_gradient(lambda X, G: project(X, G) / project(X, G).norm())
    assert not res.passed and "normal part" in res.message
    assert "shape" in chk.riemannian_gradient(lambda X, G: project(X, G)[:, :1]).message


def test_hessian_mistakes():
    # the projected Euclidean Hessian misses the curvature term
    res = chk.sphere_hessian(lambda A, x: 2 * (torch.eye(len(x), dtype=A.dtype) - torch.outer(x, x)) @ A
                             @ (torch.eye(len(x), dtype=A.dtype) - torch.outer(x, x)))
    assert not res.passed and "curvature" in res.message
    assert "tangent space" in chk.sphere_hessian(lambda A, x: 2 * A).message


def test_certificate_mistakes():
    # forgetting to normalise h
    res = chk.certificate(lambda W, k, h, lam: (float(((W[k] - torch.cat([W[:k], W[k + 1:]])) @ h).min()),
                                                float((W[k] - lam @ W).norm())))
    assert not res.passed and ("normalise" in res.message or "h/||h||" in res.message)
    # the hull point includes w_k itself: distance to the wrong hull
    assert not chk.certificate(lambda W, k, h, lam: (0.0, 0.0)).passed
    assert "pair" in chk.certificate(lambda W, k, h, lam: 1.0).message


def test_rattler_mistakes():
    res = chk.rattler(lambda W, tol: list(range(W.shape[0])))
    assert not res.passed and "binding" in res.message
    res = chk.rattler(lambda W, tol: [])
    assert not res.passed and "missed" in res.message
    # ignoring tol fails on the big-tolerance case
    assert not chk.rattler(lambda W, tol: find_rattlers(W, 1e-9)).passed
    assert "0..3" in chk.rattler(lambda W, tol: [99]).message or not chk.rattler(lambda W, tol: [99]).passed


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError):
        chk.rattler(stub)
