"""Lesson-01 self-checks: right answers pass, typical wrong answers get the specific message, stubs fail,
garbage never crashes a check, and the reference (the UFM's minimum value) agrees with the package's trainer."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from gnc_teach import check, geometry
from gnc_teach.check.lesson01 import UFM_CASES, ufm_minimum, ufm_objective
from gnc_teach.models.ufm import train_ufm


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    # The root conftest makes failed checks raise; here we inspect the returned result instead.
    monkeypatch.setenv("GNC_TEACH_STRICT_CHECKS", "0")


def stub(*args, **kwargs):
    raise NotImplementedError()


def failed(result, pattern):
    assert not result.passed, str(result)
    assert re.search(pattern, result.message), result.message


GARBAGE = [None, 3, "abc", lambda *a, **k: None, lambda *a, **k: "abc", lambda *a, **k: [[1, 2], [3]],
           lambda *a, **k: torch.zeros(2, 2, 2), lambda *a, **k: 1 / 0, lambda *a, **k: float("nan"),
           lambda *a, **k: (torch.zeros(2), None), lambda *a, **k: {"W": 1}, lambda: 0]


@pytest.mark.parametrize("name", ["ufm_training", "spread_points"])
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
    with pytest.raises(AssertionError, match="ufm_training: not implemented"):
        check.ufm_training(stub)


# ------------------------------------------------------------------ the UFM's minimum, against the package
@pytest.mark.parametrize("case", UFM_CASES)
def test_reference_minimum_is_what_train_ufm_reaches(case):
    K, d, n, lam_W, lam_H = case
    run = train_ufm(K, d, n, lam_W=lam_W, lam_H=lam_H, steps=3000, record_every=0, seed=0)
    assert abs(ufm_objective(run.W, run.H, n, lam_W, lam_H) - run.loss[-1]) < 1e-12   # the same objective
    assert abs(run.loss[-1] - ufm_minimum(K, n, lam_W, lam_H)) < 1e-12


def test_minimum_above_the_threshold_is_log_K():
    assert ufm_minimum(4, 5, 0.2, 0.2) == math.log(4)           # K sqrt(lam^2 n) = 1.79 >= 1
    assert ufm_minimum(4, 5, 0.05, 0.05) < math.log(4) - 1e-3    # 0.45 < 1: below the threshold


def _trained(K, d, n, lam_W, lam_H, seed=0):
    run = train_ufm(K, d, n, lam_W=lam_W, lam_H=lam_H, steps=3000, record_every=0, seed=seed)
    return run.W, run.H


def test_ufm_training_accepts_the_package_and_numpy():
    assert check.ufm_training(_trained)
    assert check.ufm_training(lambda *a, **k: tuple(x.numpy() for x in _trained(*a, **k)))


def test_ufm_training_names_typical_mistakes():
    def shuffled(*a, **k):
        W, H = _trained(*a, **k)
        return W, H[torch.randperm(len(H), generator=torch.Generator().manual_seed(0))]
    failed(check.ufm_training(shuffled), "class-major")

    def short(K, d, n, lam_W, lam_H, seed=0):             # stopped early: above the minimum
        run = train_ufm(K, d, n, lam_W=lam_W, lam_H=lam_H, steps=20, record_every=0, seed=seed)
        return run.W, run.H
    failed(check.ufm_training(short), r"above the global minimum .*train until it stops changing")
    failed(check.ufm_training(lambda K, d, n, *a, **k: (torch.zeros(K, d), torch.zeros(K * n, d))),
           "collapsed to W = H = 0")
    failed(check.ufm_training(lambda K, d, n, *a, **k: _trained(K, d, n, *a, **k)[::-1]), "shape")


# ------------------------------------------------------------------ the spread judge
def test_spread_points_judge():
    best = {(4, 3): geometry.simplex_etf(4, 3), (6, 3): geometry.cross_polytope(3)}
    from gnc_teach.gallery import gallery_code
    best[8, 3], best[13, 3] = gallery_code("tammes", 8, 3), gallery_code("tammes", 13, 3)
    assert check.spread_points(lambda K, d: best[K, d])
    cube = geometry.cube()                                      # largest cosine 1/3 > 0.2620
    failed(check.spread_points(lambda K, d: cube if K == 8 else best[K, d]), r"\(8, 3\): largest cosine 0\.33333")
    moved = geometry.perturb(best[6, 3], 1e-3, seed=0)          # next to the proved optimum: must fail
    failed(check.spread_points(lambda K, d: moved if K == 6 else best[K, d]), r"\(6, 3\)")
    failed(check.spread_points(lambda K, d: 2 * best[K, d]), "not unit vectors")
    failed(check.spread_points(lambda K, d: np.ones((d, K))), "shape")
