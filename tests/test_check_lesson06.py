"""Lesson-06 self-checks: right answers pass, typical mistakes fail with a hint, nothing crashes or hangs."""
import time

import pytest
import torch

from gnc_teach.check import lesson06 as chk
from gnc_teach.gallery import gallery_code
from gnc_teach.geometry import random_sphere
from gnc_teach.uniform_codes import optimal_code

F64 = torch.float64


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    monkeypatch.delenv("GNC_TEACH_STRICT_CHECKS", raising=False)


def package_descent(K, d, s, seed):
    return optimal_code(K, d, measure="riesz", s=s, fast=False).W


def stub(*args):
    raise NotImplementedError


def test_riesz_descent_right_and_wrong_answers(capsys):
    assert chk.riesz_descent(package_descent).passed
    assert "not implemented" in chk.riesz_descent(stub).message
    res = chk.riesz_descent(lambda K, d, s, seed: random_sphere(K, d, seed=seed, dtype=F64))
    assert not res.passed and "above the best known" in res.message
    res = chk.riesz_descent(lambda K, d, s, seed: 2 * package_descent(K, d, s, seed))
    assert not res.passed and "not unit vectors" in res.message
    res = chk.riesz_descent(lambda K, d, s, seed: package_descent(K, d, s, seed).T)
    assert not res.passed and "shape" in res.message
    for bad in (42, lambda *a: None, lambda *a: "W"):
        assert not chk.riesz_descent(bad).passed
    assert "✅" in capsys.readouterr().out


def _pair(K, d):
    return K, d, gallery_code("softmax", K, d), optimal_code(K, d, measure="riesz", s=1.0, fast=False).W


def test_disagreement_judge():
    assert chk.lesson_max_gap() == pytest.approx(0.0988786816, abs=1e-8)
    res = chk.disagreement(lambda: _pair(9, 4))
    assert res.passed and "K=9, d=4" in res.message
    res = chk.disagreement(lambda: _pair(12, 4))                   # a real pair, but the gap is tiny
    assert not res.passed and "not above" in res.message
    res = chk.disagreement(lambda: _pair(7, 3))                    # the lesson's own dimension
    assert not res.passed and "d must be one of" in res.message
    K, d, S, _ = _pair(9, 4)
    res = chk.disagreement(lambda: (K, d, S, random_sphere(K, d, seed=0, dtype=F64)))   # not a Thomson code
    assert not res.passed and "not a Thomson code" in res.message
    for bad in (stub, lambda: None, lambda: (9, 4), lambda: (9.5, 4, S, S), lambda: ("9", 4, S, S)):
        assert not chk.disagreement(bad).passed


def test_time_limit_and_exit_are_reported(monkeypatch):
    monkeypatch.setenv("GNC_TEACH_CHECK_TIME_LIMIT", "0.3")

    def slow(K, d, s, seed):
        time.sleep(5)

    t0 = time.perf_counter()
    res = chk.riesz_descent(slow)
    assert not res.passed and "longer than 0.3 s" in res.message and time.perf_counter() - t0 < 3
    res = chk.riesz_descent(lambda *a: exit())
    assert not res.passed and "called sys.exit()" in res.message
