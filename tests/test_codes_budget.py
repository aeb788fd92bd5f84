"""Tests for the anytime search of gnc_teach.codes (budget=, effort=, target=, callback=, Ctrl-C) and its
exact polish by sequential linear programming (gnc_teach._solvers.slp).

No timing assertions beyond a generous bound on a short budget (speed is measured in benchmarks/).
Deliberately weak first rounds (few restarts and steps) leave room for the later rounds to improve.
"""
import math

import numpy as np
import pytest
import torch

from gnc_teach import codes, references
from gnc_teach._solvers import polish as P
from gnc_teach._solvers import slp
from gnc_teach.geometry import simplex_etf

F64 = torch.float64
WEAK = dict(restarts=2, steps=60, seed=3, device="cpu")     # a poor first round: later rounds have work to do
TAMMES = references.tammes_d3()


def test_defaults_are_the_one_shot_solver():
    res = codes.tammes_code(8, 3, fast=True)
    assert (res.rounds, res.hops, res.interrupted, res.history) == (0, 0, False, [])
    assert "stopped_by" not in res.certificate


def test_short_budget_returns_in_time():
    res = codes.thomson_code(6, 3, restarts=4, steps=50, budget=0.5, device="cpu")
    assert res.certificate["stopped_by"] == "budget" and res.rounds >= 1
    assert res.seconds <= 0.5 + 15.0          # generous: one unfinished round at most, on a loaded machine
    assert res.energy == pytest.approx(references.thomson_d3()[6]["energy"], rel=1e-9)


@pytest.mark.parametrize("solver,K,better", [
    (codes.tammes_code, 14, lambda a, b: a.min_angle >= b.min_angle),
    (codes.softmax_code, 14, lambda a, b: a.rho >= b.rho),
    (codes.thomson_code, 16, lambda a, b: a.energy <= b.energy),
])
def test_more_effort_never_returns_worse(solver, K, better):
    runs = [solver(K, 3, effort=e, **WEAK) for e in (0, 2, 5)]
    assert [r.rounds for r in runs] == [0, 2, 5]
    for a, b in zip(runs[1:], runs):
        assert better(a, b)
        assert [v for _, v in a.history[:len(b.history)]] == [v for _, v in b.history]   # the same rounds first


def test_hop_rounds_improve_a_poor_first_round():
    # 2 restarts of 60 steps end 0.38 deg below the record at N = 16; hop rounds climb to Sloane's angle
    first = codes.tammes_code(16, 3, effort=0, **WEAK)
    more = codes.tammes_code(16, 3, effort=6, **WEAK)
    ref = TAMMES[16]["min_angle_deg"]
    assert first.min_angle < ref - 1e-3
    assert ref - 1e-6 <= more.min_angle <= ref + 1e-7 + 1e-6
    assert more.hops > 0 and len(more.history) >= 2
    assert more.certificate["kkt_residual"] <= 1e-9 and more.certificate["polish"] == "slp"


def test_rounds_do_not_depend_on_the_clock():
    a = codes.tammes_code(10, 3, effort=3, **WEAK)
    b = codes.tammes_code(10, 3, effort=3, **WEAK)
    assert torch.equal(a.W, b.W) and a.hops == b.hops == 96


def test_interrupt_returns_the_best_so_far():
    def ctrl_c(progress):
        if progress.round == 2:
            raise KeyboardInterrupt            # what Ctrl-C raises in the middle of a search

    stopped = codes.tammes_code(14, 3, effort=10, callback=ctrl_c, **WEAK)
    assert stopped.interrupted and stopped.certificate["stopped_by"] == "interrupt"
    assert stopped.rounds == 2
    assert torch.equal(stopped.W, codes.tammes_code(14, 3, effort=2, **WEAK).W)   # the best after 2 rounds
    assert "interrupted" in stopped.summary()


def test_a_real_ctrl_c_between_rounds_returns_the_best_so_far():
    import signal

    def press_ctrl_c(progress):
        if progress.round == 2:
            signal.raise_signal(signal.SIGINT)  # the solver's handler only sets the package's stop flag

    with pytest.warns(RuntimeWarning, match="interrupted"):
        stopped = codes.tammes_code(14, 3, effort=10, callback=press_ctrl_c, **WEAK)
    assert stopped.interrupted and stopped.certificate["stopped_by"] == "interrupt" and stopped.rounds == 2
    assert torch.equal(stopped.W, codes.tammes_code(14, 3, effort=2, **WEAK).W)


def test_interrupt_in_the_first_round_is_raised(monkeypatch):
    def ctrl_c(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(codes, "_smooth_phase", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        codes.tammes_code(8, 3, effort=3, **WEAK)     # nothing found yet: nothing to return


def test_callback_progress_and_stop():
    seen = []

    def cb(p):
        seen.append(p)
        return p.round == 3

    res = codes.softmax_code(9, 3, effort=10, callback=cb, **WEAK)
    assert res.certificate["stopped_by"] == "callback" and res.rounds == 3
    assert [p.round for p in seen] == [1, 2, 3]
    assert [p.move for p in seen] == ["hops", "hops", "hops"]
    assert all(b.best >= a.best for a, b in zip(seen, seen[1:])) and seen[-1].best == pytest.approx(res.rho)
    assert seen[-1].hops == 96 and seen[-1].restarts == WEAK["restarts"]


def test_restart_rounds_draw_new_starts():
    seen = []
    codes.thomson_code(8, 3, effort=4, callback=lambda p: seen.append(p.move), **WEAK)
    assert seen == ["hops", "hops", "hops", "restarts"]


def test_target_stops_the_search():
    res = codes.tammes_code(12, 3, effort=50, target=63.4)      # the icosahedron (63.4349 deg) is found at once
    assert res.certificate["stopped_by"] == "target" and res.rounds == 0
    assert res.min_angle >= 63.4


def test_progress_bar_shows_the_best_value(capsys):
    codes.thomson_code(6, 3, effort=2, progress=True, **WEAK)
    err = capsys.readouterr().err
    assert "best E 9.98528" in err            # the octahedron's energy 9.985281374


def test_result_records_how_it_was_found():
    res = codes.thomson_code(8, 3, effort=2, **WEAK)
    out = res.to_dict(with_W=False)
    assert out["rounds"] == 2 and out["hops"] == res.hops > 0 and out["interrupted"] is False
    assert out["history"] and all(len(h) == 2 for h in out["history"])
    assert "rounds after the first" in res.summary()


@pytest.mark.parametrize("kw,err,match", [
    (dict(budget=-1), ValueError, "budget must be a positive number"),
    (dict(budget="1"), ValueError, "budget"),
    (dict(budget=float("inf")), ValueError, "budget"),
    (dict(effort=-1), ValueError, "effort must be >= 0"),
    (dict(effort=1.5), TypeError, "effort must be an integer"),
    (dict(target=1.0), ValueError, "need a budget"),
    (dict(effort=1, target="x"), ValueError, "target must be a finite number"),
    (dict(effort=1, callback=3), TypeError, "callback must be callable"),
])
@pytest.mark.parametrize("solver", [codes.softmax_code, codes.tammes_code, codes.thomson_code])
def test_bad_anytime_options(solver, kw, err, match):
    with pytest.raises(err, match=match):
        solver(6, 3, **kw)


# ----------------------------------------------------------------------------- the SLP polish
def _perturbed(X, scale, seed=0):
    return P._unit(X + scale * np.random.default_rng(seed).standard_normal(X.shape))


def test_slp_reaches_the_icosahedron():
    p = (1 + math.sqrt(5)) / 2
    ico = P._unit(np.array([[0, s1, s2 * p] for s1 in (1, -1) for s2 in (1, -1)]
                           + [[s1, s2 * p, 0] for s1 in (1, -1) for s2 in (1, -1)]
                           + [[s2 * p, 0, s1] for s1 in (1, -1) for s2 in (1, -1)], dtype=float))
    X, value, info = slp.maxmin_slp(_perturbed(ico, 0.02), slp.tammes_constraints, slp.tammes_objective)
    assert -value == pytest.approx(1 / math.sqrt(5), abs=1e-12)        # max cos of the icosahedron
    assert P.tammes_kkt(X)[0] <= 1e-10 and info["slp_accepted"] > 0


def test_slp_softmax_reaches_the_simplex():
    # K = 4 in R^3: rho* = 4/3 (the regular simplex), with H = W at the optimum
    W = simplex_etf(4, 3).double().numpy()
    X0 = np.vstack([_perturbed(W, 0.05), _perturbed(W, 0.05, seed=1)])
    X, value, _ = slp.maxmin_slp(X0, slp.softmax_constraints(4), slp.softmax_objective(4), radius=0.01)
    assert value == pytest.approx(4 / 3, abs=1e-10)


def test_tangent_bases_are_orthonormal_and_tangent():
    X = P._unit(np.random.default_rng(0).standard_normal((20, 5)))
    X[0] = [-1, 0, 0, 0, 0]                                            # the sign branch of the reflection
    B = slp.tangent_bases(X)
    assert np.abs(np.einsum("md,mdk->mk", X, B)).max() <= 1e-15
    assert np.allclose(np.einsum("mdk,mdl->mkl", B, B), np.eye(4), atol=1e-15)


def test_slp_stops_at_the_deadline():
    import time
    X = _perturbed(np.eye(3)[[0, 1, 2, 0, 1, 2]] * np.array([1, 1, 1, -1, -1, -1])[:, None], 0.1)
    _, _, info = slp.maxmin_slp(X, slp.tammes_constraints, slp.tammes_objective, deadline=time.perf_counter() - 1)
    assert info["slp_iterations"] == 0


def test_riesz_value_and_gradient_match_the_pairwise_sums():
    X = P._unit(np.random.default_rng(2).standard_normal((30, 3)))
    V = np.random.default_rng(3).standard_normal(X.shape)
    for s in (0.0, 1.0, 2.5):
        E, G = P._riesz_value_grad(X, s)
        assert E == pytest.approx(P.riesz_energy_np(X, s), rel=1e-13)
        h = 1e-6
        fd = (P._riesz_value_grad(X + h * V, s)[0] - P._riesz_value_grad(X - h * V, s)[0]) / (2 * h)
        assert fd == pytest.approx((G * V).sum(), rel=1e-6)


def test_large_softmax_codes_search_by_fresh_batches():
    # above K = 64 hop rounds did not help softmax codes (d = 10, K = 100): every round is a fresh batch of
    # the one-shot solver's restarts; more rounds never give a worse code
    moves = []
    res = codes.softmax_code(66, 2, effort=2, restarts=4, steps=20, polish=False, device="cpu",
                             callback=lambda p: moves.append(p.move))
    assert moves == ["restarts", "restarts"] and res.restarts == 3 * 4 and res.hops == 0
    first = codes.softmax_code(66, 2, effort=0, restarts=4, steps=20, polish=False, device="cpu")
    assert res.rho >= first.rho
    assert 0 < res.rho <= 1 - math.cos(2 * math.pi / 66) + 1e-12                # at most the 66-gon's rho*



def test_basins_polished_before_are_not_polished_again(monkeypatch):
    # the icosahedron is the only good basin of 12 points in R^3: most later candidates fall back into it,
    # and are not polished again; the search ends at the same code as without the memory
    calls = []
    real = slp.maxmin_slp
    monkeypatch.setattr(slp, "maxmin_slp", lambda *a, **k: calls.append(1) or real(*a, **k))
    res = codes.tammes_code(12, 3, effort=8, seed=1, device="cpu")
    with_memory = len(calls)
    monkeypatch.setattr(codes, "BASIN_MEMORY_MAX_K", 0)                # no memory: every candidate polished
    calls.clear()
    plain = codes.tammes_code(12, 3, effort=8, seed=1, device="cpu")
    assert with_memory < len(calls) / 2
    assert res.rounds == plain.rounds == 8
    assert res.min_angle == pytest.approx(plain.min_angle, abs=1e-9) == pytest.approx(63.4349488229, abs=1e-9)
    sig = codes._signature(res.W)
    assert codes._matches(sig + 5e-3, [sig]) and not codes._matches(sig + 2e-2, [sig])


def test_large_softmax_searches_anneal_longer(monkeypatch):
    # above K = 64 every search round anneals over SOFTMAX_SEARCH_STEPS (more good codes per second than the
    # one-shot 1000 steps, measured at d = 10, K = 100) unless steps is given; the one-shot solver keeps 1000
    seen, smooth = [], codes._smooth_phase

    def spy(X0, **kw):
        seen.append(kw["steps"])
        return smooth(X0, **kw)

    monkeypatch.setattr(codes, "_smooth_phase", spy)
    monkeypatch.setattr(codes, "SOFTMAX_SEARCH_STEPS", 30)
    common = dict(restarts=2, polish=False, device="cpu")
    codes.softmax_code(66, 2, effort=1, **common)
    codes.softmax_code(66, 2, effort=0, steps=20, **common)
    codes.softmax_code(66, 2, **common)
    codes.softmax_code(60, 2, effort=0, **common)          # K <= 64: the one-shot steps
    assert seen == [30, 30, 20, 1000, 1000]
