"""τ explorer: the pure view and the widget driven headlessly (set .value, click, read the state)."""
import importlib
import math

import pytest

pytest.importorskip("ipywidgets")

# the package re-exports the function tau_explorer, which shadows the module name as an attribute
te = importlib.import_module("gnc_teach.views.widgets.tau_explorer")

SMALL = dict(K=5, d=2, n=2, steps=60, seed=0)  # tiny runs: correctness of the wiring, not of training
GRID = (1.0, 0.3, 0.1)


def test_snap_tau_is_log_nearest():
    assert te.snap_tau(0.05) == pytest.approx(10 ** -1.25)
    assert te.snap_tau(5.0) == 1.0
    assert te.snap_tau(0.2, GRID) == 0.3  # |log 0.2 − log 0.3| < |log 0.2 − log 0.1|
    with pytest.raises(ValueError, match="tau"):
        te.snap_tau(0.0)


def test_tau_view_untrained_then_trained():
    v = te.tau_view(0.31, train=False, grid=GRID, seed=1, K=5, d=2, n=2, steps=60)
    assert v["tau"] == 0.3 and v["run"] is None and not v["trained"]
    assert "not trained" in te.tau_label(v)
    v = te.tau_view(0.31, train=True, grid=GRID, seed=1, K=5, d=2, n=2, steps=60)
    run = v["run"]
    assert v["trained"] and te.is_trained(0.3, grid=GRID, seed=1, K=5, d=2, n=2, steps=60)
    assert 0 < run["rho"] <= 1 - math.cos(2 * math.pi / 5) + 1e-9  # d = 2: ρ* = 1 − cos(2π/K), proved
    assert v["rho_best"] == pytest.approx(1 - math.cos(2 * math.pi / 5))
    assert set(run) >= {"gnc1", "gnc3", "cos_wy_h", "min_margin", "history", "loss"}
    assert run["min_margin"] <= run["rho"] + 1e-12  # no sample beats ρ_k (margin duality)
    assert v["curve"] == [(0.3, run["rho"])]
    assert "GNC2" in te.tau_label(v)


def test_explorer_headless():
    box = te.tau_explorer(grid=GRID, draw=False, **SMALL)
    slider, button = box.controls["tau"], box.controls["train"]
    assert box.state["tau"] == 1.0
    slider.value = 0.1
    assert box.state["tau"] == 0.1 and (box.state["run"] is None or box.state["trained"])
    button.click()
    assert box.errors == {} and box.progress.value == len(GRID) and not button.disabled
    assert box.state["trained"] and [t for t, _ in box.state["curve"]] == list(GRID)
    slider.value = 0.2  # snaps to the nearest grid value and reads the cache
    assert slider.value == pytest.approx(0.3) and box.state["tau"] == 0.3
    assert box.state["run"]["rho"] == dict(box.state["curve"])[0.3]
    assert "τ = 0.3" in box.label.value and box.seconds >= 0


def test_explorer_draws_without_a_kernel():
    import matplotlib
    matplotlib.use("Agg")
    box = te.tau_explorer(grid=GRID, draw=True, **SMALL)
    box.controls["train"].click()
    assert box.state["trained"] and box.draw_seconds >= box.seconds


def test_draw_tau_view_labels_axes():
    import matplotlib.pyplot as plt
    v = te.tau_view(0.1, grid=GRID, **SMALL)
    a1, a2 = te.draw_tau_view(v)
    assert a1.get_xlabel().startswith("temperature") and a1.get_ylabel() and a2.get_xlabel()
    assert a1.get_xscale() == "log"
    plt.close("all")


def test_explorer_callable_with_no_args_builds_without_training(monkeypatch):
    calls = []
    monkeypatch.setattr(te, "_run", lambda *a: calls.append(a))
    box = te.tau_explorer(draw=False)
    assert calls == []  # building never trains: only the button does
    assert box.state["tau"] == 1.0 and isinstance(box.label.value, str)


def test_view_from_sweep_matches_the_sweep():
    from gnc_teach.hardmax import tau_sweep
    sw = tau_sweep(4, 3, 2, [1.0, 0.2], steps=60, record_every=10)
    v = te.view_from_sweep(sw)
    assert v["tau"] == 0.2 and v["curve"] == [(1.0, sw.rho[0]), (0.2, sw.rho[1])]
    assert v["run"]["rho"] == pytest.approx(sw.rho[1], abs=1e-12)
    assert v["rho_best"] == pytest.approx(4 / 3)
    assert "GNC2" in te.tau_label(v)


def test_a_failing_run_is_reported_and_the_rest_still_train(monkeypatch):
    real = te.tau_run

    def flaky(tau, *args):
        if tau == 0.3:
            raise RuntimeError("solver did not converge")
        return real(tau, *args)

    monkeypatch.setattr(te, "tau_run", flaky)
    box = te.tau_explorer(grid=GRID, draw=False, K=5, d=2, n=2, steps=40, seed=3)
    box.controls["train"].click()
    assert list(box.errors) == [0.3] and "did not converge" in box.errors[0.3]
    assert "training failed at τ = 0.3" in box.label.value
    assert [t for t, _ in box.state["curve"]] == [1.0, 0.1] and not box.controls["train"].disabled
