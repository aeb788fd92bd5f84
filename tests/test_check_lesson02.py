"""The self-checks of lesson 02: pass on correct answers, fail (with a message, no crash) on wrong ones,
and never print the answer."""
from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest

from gnc_teach import check
from gnc_teach.check import lesson02
from gnc_teach.margins import one_vs_rest_distance, rho


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    # Failed checks must return a result here, not raise (the root conftest turns strict mode on).
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "0")


def failed(result, pattern):
    assert not result.passed, str(result)
    assert re.search(pattern, result.message), result.message


def certified(x, V):
    """The package's answer: weights of the nearest point and the margin direction."""
    det = one_vs_rest_distance(np.vstack([x[None, :], V]), return_details=True)
    lam = np.zeros(len(V))
    lam[np.asarray(det.support[0]) - 1] = np.asarray(det.weights[0])
    h = np.asarray(det.h[0]) if float(det.rho[0]) > 1e-12 else np.eye(len(x))[0]
    return lam, h


def test_the_reference_answer_passes_and_the_stub_fails():
    assert check.hull_certificate(certified)
    failed(check.hull_certificate(lambda x, V: (_ for _ in ()).throw(NotImplementedError())), "not implemented")
    assert check.rho_from_scratch(lambda W: rho(W))


def test_hull_certificate_catches_each_kind_of_mistake():
    failed(check.hull_certificate(lambda x, V: (np.full(len(V), 1 / len(V)), certified(x, V)[1])),
           "not the nearest one")
    failed(check.hull_certificate(lambda x, V: (2 * certified(x, V)[0], certified(x, V)[1])), "convex weights")
    failed(check.hull_certificate(lambda x, V: (certified(x, V)[0], -certified(x, V)[1])), "does not close")
    failed(check.hull_certificate(lambda x, V: (certified(x, V)[0], 2 * certified(x, V)[1])), "unit vector")
    failed(check.hull_certificate(lambda x, V: certified(x, V)[0]), "pair")


def test_rho_from_scratch_hints():
    def with_itself(W):
        return min(np.linalg.norm(W[k] - W[k]) for k in range(len(W)))
    failed(check.rho_from_scratch(with_itself), "Only the others count")
    failed(check.rho_from_scratch(lambda W: float(one_vs_rest_distance(W).max())), "largest")
    failed(check.rho_from_scratch(lambda W: rho(W) + 1e-6), "too large")
    failed(check.rho_from_scratch(lambda W: one_vs_rest_distance(W)), "one number")


def test_messages_never_print_the_reference_value():
    W = lesson02._polygon(5)
    truth = rho(W)
    res = check.rho_from_scratch(lambda W: 0.5 * rho(W))
    for digits in (f"{truth:.3f}", f"{truth:.4f}", f"{truth:.6f}"):
        assert digits not in res.message


def cell24():
    rows = {tuple(v) for i, j in itertools.combinations(range(4), 2) for a in (1, -1) for b in (1, -1)
            for v in [[a if t == i else b if t == j else 0 for t in range(4)]]}
    return np.array(sorted(rows)) / math.sqrt(2)


def test_beat_the_gallery_judge():
    from gnc_teach.gallery import gallery_code
    assert abs(rho(cell24()) - 0.5) < 1e-12
    assert check.beat_the_gallery(cell24)
    stored = gallery_code("softmax", 24, 4).numpy()
    assert lesson02.GALLERY_24_4 <= rho(stored) < lesson02.TARGET_24_4     # the stored code does not pass
    failed(check.beat_the_gallery(lambda: stored), "Not yet")
    failed(check.beat_the_gallery(lambda: 2 * cell24()), "unit vectors")
    failed(check.beat_the_gallery(lambda: cell24()[:20]), "shape")


GARBAGE = [None, 3, "abc", lambda *a: None, lambda *a: "abc", lambda *a: [[1, 2], [3]], lambda *a: (None, None),
           lambda *a: 1 / 0, lambda *a: float("nan"), lambda *a: (np.full(3, np.nan), np.zeros(2)), lambda *a, b: 0]


@pytest.mark.parametrize("name", ["hull_certificate", "rho_from_scratch", "beat_the_gallery"])
def test_garbage_fails_without_crashing(name, capsys):
    fn = getattr(check, name)
    for g in GARBAGE:
        r = fn(g)
        assert not r.passed and r.message
    out = capsys.readouterr().out
    assert "✅" not in out and out.count("❌") == len(GARBAGE)


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "1")
    with pytest.raises(AssertionError, match="hull_certificate"):
        check.hull_certificate(lambda x, V: 0.0)
