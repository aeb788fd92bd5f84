"""Kernel-free twins: complete, valid plotly states computed by the same pure functions as the widgets."""
import importlib
import itertools
import json
import math
import re

import numpy as np
import pytest

pytest.importorskip("plotly")
import plotly.graph_objects as go  # noqa: E402

from gnc_teach.views.registry import EXPLORERS  # noqa: E402
from gnc_teach.views.twins import codes, etf, hug, imbalance, margins, tau  # noqa: E402
from gnc_teach.views.twins.figures import code_figure, code_traces, gram_trace  # noqa: E402
from gnc_teach.views.twins.twin import PLOTLY_MIME, Control, Twin, merge_layout  # noqa: E402


@pytest.fixture(scope="module")
def twins():
    return {name: e.build_twin() for name, e in EXPLORERS.items()}


def test_every_registered_twin_has_every_state_and_valid_plotly(twins):
    for name, twin in twins.items():
        combos = list(itertools.product(*(range(len(c.values)) for c in twin.controls)))
        assert sorted(twin.states) == sorted(combos), name
        for idx in combos[:: max(1, len(combos) // 8)]:  # plotly validates every trace and layout key
            fig = go.Figure(twin.state_figure(idx))
            assert fig.data, f"{name} state {idx} draws nothing"
            assert twin.states[idx]["html"], f"{name} state {idx} has no caption"


def test_states_are_the_widgets_pure_functions():
    from gnc_teach.views.widgets.code_explorer import code_label, code_view
    from gnc_teach.views.widgets.etf_explorer import etf_view
    from gnc_teach.views.widgets.margin_explorer import _demo, margin_label, margin_view
    assert codes.code_state("tammes", 3, 13)["html"] == code_label(code_view("tammes", 13, 3))
    st = etf.etf_state(6, 3)  # no ETF of 6 vectors in R^3: the message says why
    assert etf_view(6, 3)["message"].split(":")[0] in st["html"] and "No simplex ETF" in st["html"]
    W, det = _demo("regular polygon", 5)
    view = margin_view(W, 0, det.h[0].numpy(), details=det)
    assert margins.margin_state("regular polygon", 5, "h*")["html"] == margin_label(view)
    assert abs(view["gap"]) <= 1e-12  # at h = h*_0 the worst margin equals rho_0 (margin duality)


def test_code_twin_points_are_the_gallery_code_on_the_sphere():
    from gnc_teach.gallery import gallery_entry
    st = codes.code_state("softmax", 3, 12)
    pts = next(t for t in st["data"] if isinstance(t, dict) and t.get("mode") == "markers+text")
    X = np.column_stack([pts["x"], pts["y"], pts["z"]])
    W = gallery_entry("softmax", 12, 3)["W"]
    assert np.abs(X - W / np.linalg.norm(W, axis=1, keepdims=True)).max() <= 5e-6  # rounded to 5 decimals


def test_twins_start_where_the_lesson_call_starts():
    t = EXPLORERS["etf_explorer"].build_twin({"K": 5, "d": 2})
    assert [c.values[i] for c, i in zip(t.controls, t.initial)] == [5, 2]
    t = EXPLORERS["etf_explorer"].build_twin({0: 7, 1: 6, "max_K": 12})  # positional; max_K kept
    assert [c.values[i] for c, i in zip(t.controls, t.initial)] == [7, 6] and t.controls[0].values[-1] == 12
    t = EXPLORERS["code_explorer"].build_twin({"kind": "thomson", "d": 2, "draw": False})  # draw: widget only
    assert [c.values[i] for c, i in zip(t.controls, t.initial)] == ["thomson", 2, 8]
    t = EXPLORERS["margin_explorer"].build_twin({"theta": 44.0, "K": 9})
    assert [c.values[i] for c, i in zip(t.controls, t.initial)][1:] == [9, 45]  # nearest angle on the grid


def test_html_carries_the_spec_as_json(twins):
    html = twins["etf_explorer"].to_html()
    body = re.search(r'<script type="application/json" class="gnc-twin-spec">(.*)</script></div>$', html, re.S)
    assert body and "</" not in body.group(1).replace("<\\/", "")
    spec = json.loads(body.group(1))
    assert len(spec["states"]) == len(twins["etf_explorer"]) and spec["controls"][0]["name"] == "K"
    assert set(spec["shared"]) == {"circle", "sphere"}


def test_a_twin_shows_as_plotly_in_jupyterlab(twins):
    bundle = twins["code_explorer"]._repr_mimebundle_()
    assert bundle[PLOTLY_MIME]["data"][0]["type"] == "surface"  # the sphere of the initial d = 3 code
    fig = twins["code_explorer"].figure(K=20, d=2)
    assert fig.data[0].type == "scatter" and len(fig.data[-1].x) == 20


def test_twin_and_control_validation():
    with pytest.raises(ValueError, match="lacks 1 states"):
        Twin("t", [Control("a", "a", (1, 2))], {(0,): dict(data=[])})
    with pytest.raises(ValueError, match="kind"):
        Control("a", "a", (1,), kind="knob")
    with pytest.raises(ValueError, match="labels"):
        Control("a", "a", (1, 2), labels=("one",))
    with pytest.raises(ValueError, match="not one of"):
        Control("a", "a", ("x", "y")).index("z")
    assert merge_layout({"xaxis": {"title": "t", "range": [0, 1]}, "h": 1}, {"xaxis": {"range": [2, 3]}}) == \
        {"xaxis": {"title": "t", "range": [2, 3]}, "h": 1}


def test_figures_helpers():
    fig = code_figure(np.eye(3))
    assert fig.data[0].type == "surface" and fig.layout.scene.aspectmode == "cube"
    with pytest.raises(ValueError, match="d = 2 or 3"):
        code_traces(np.eye(4))
    with pytest.raises(ValueError, match="zero row"):
        code_figure(np.zeros((3, 2)))
    g = gram_trace(np.eye(2))
    assert g["zmin"] == -1 and g["zmax"] == 1 and "texttemplate" in g


def test_tau_twin_shows_the_stored_sweep_at_the_explorers_defaults():
    data = tau.load_sweep()
    assert data["params"] == tau.sweep_params()
    assert [r["tau"] for r in data["runs"]] == data["params"]["grid"]
    t = tau.tau_twin()
    assert len(t) == len(data["runs"]) and t.controls[0].values[t.initial[0]] == 1.0
    rho = [r["rho"] for r in data["runs"]]
    assert all(0 < r <= 0.7387961253 + 1e-9 for r in rho)  # below the best known rho for K=8, d=3


def _assert_close(fresh, stored, where=""):
    """Stored JSON against a fresh computation: the same keys, numbers to 1e-6 relative (the figures and
    captions show at most 6 digits), sequences element by element."""
    if isinstance(fresh, dict):
        assert set(fresh) == set(stored), (where, sorted(set(fresh) ^ set(stored)))
        for k in fresh:
            _assert_close(fresh[k], stored[k], f"{where}.{k}")
    elif isinstance(fresh, (list, tuple, np.ndarray)):
        fresh = list(fresh.tolist() if isinstance(fresh, np.ndarray) else fresh)
        assert len(fresh) == len(stored), where
        for i, (a, b) in enumerate(zip(fresh, stored)):
            _assert_close(a, b, f"{where}[{i}]")
    elif isinstance(fresh, float) and not isinstance(stored, str):
        assert math.isclose(fresh, stored, rel_tol=1e-6, abs_tol=1e-9), (where, fresh, stored)
    else:
        assert fresh == stored, (where, fresh, stored)


def test_stored_tau_sweep_matches_the_trainer():
    """Recompute the smallest temperature: the stored run must be what the trainer gives today, every
    key of the summary included (a key the explorer added since shows up here)."""
    from gnc_teach.views.widgets.tau_explorer import tau_run
    p, stored = tau.sweep_params(), tau.load_sweep()["runs"][-1]
    fresh = dict(tau_run(stored["tau"], p["K"], p["d"], p["n"], p["steps"], p["seed"]))
    fresh.pop("seconds")
    _assert_close(fresh, stored, "tau_run")


@pytest.mark.parametrize("sweep", [tau.SWEEP, hug.SWEEP, imbalance.SWEEP], ids=["tau", "hug", "imbalance"])
def test_stale_stored_data_is_refused(monkeypatch, sweep):
    monkeypatch.setattr(sweep, "params", lambda: {"K": 9})
    sweep.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="--rebuild"):
            sweep.load()
    finally:
        sweep.cache_clear()


def test_stored_hug_views_match_the_explorer():
    """One stored HUG state recomputed (the measure with s = ∞, stored as the string 'inf')."""
    from gnc_teach.views.widgets.hug_explorer import hug_view
    p = hug.sweep_params()
    stored = next(v for v in hug.SWEEP.load()["runs"] if (v["intra_weight"], v["inter_weight"], v["measure"],
                                                        v["optimizer"]) == (0.3, 3.0, "min separation (s=∞)", "adam"))
    fresh = hug_view(0.3, 3.0, "min separation (s=∞)", "adam", **{k: p[k] for k in ("K", "d", "n", "steps", "seed")})
    fresh = dict(fresh, run={k: v for k, v in fresh["run"].items() if k != "seconds"})
    _assert_close(fresh, stored, "hug_view")
    assert len(hug.SWEEP.load()["runs"]) == len(p["weights"]) ** 2 * len(p["measures"]) * len(p["optimizers"])


def test_hug_twin_states_are_the_explorers_views():
    from gnc_teach.views.widgets.hug_explorer import hug_label
    t = EXPLORERS["hug_explorer"].build_twin({})
    assert [c.values[i] for c, i in zip(t.controls, t.initial)] == [1.0, 1.0, "riesz s=2", "gd"]
    stored = {(v["intra_weight"], v["inter_weight"], v["measure"], v["optimizer"]): v
              for v in hug.SWEEP.load()["runs"]}
    view = stored[(0.0, 10.0, "log (s=0)", "gd")]
    st = t.states[(0, 5, 2, 0)]
    assert st["html"] == hug_label(view) and "intra 0, inter 10 (gd), log (s=0)" == st["layout"]["title"]["text"]
    gap = next(tr for tr in st["data"] if tr["name"].startswith("U(W)"))
    assert math.isclose(gap["y"][-1], max(view["energy_gap"], 1e-16), rel_tol=1e-4)  # 5 significant digits


def test_hug_twin_for_other_sizes_trains_its_states(monkeypatch):
    """Sizes other than the stored ones: every state is trained when the twin is built (a small grid here)."""
    w = importlib.import_module("gnc_teach.views.widgets.hug_explorer")  # the module, not the function
    monkeypatch.setattr(w, "WEIGHTS", (0.0, 1.0))
    monkeypatch.setattr(w, "MEASURE_CHOICES", {"min separation (s=∞)": ("min_separation", math.inf)})
    monkeypatch.setattr(w, "LR", {"gd": 1.0})
    t = hug.hug_twin(steps=20, intra_weight=0.0, measure="min separation (s=∞)")
    assert len(t) == 4 and t.initial == (0, 1, 0, 0)
    view = w.hug_view(0.0, 1.0, "min separation (s=∞)", "gd", steps=20)
    assert t.states[(0, 1, 0, 0)]["html"] == w.hug_label(view)
    with pytest.raises(ValueError, match="steps"):
        hug.hug_twin(steps=0)


@pytest.mark.parametrize("setting", [(0.015, 0.015, 2), (0.05, 0.05, 1)], ids=["lesson", "all-collapse"])
def test_stored_imbalance_runs_match_the_trainer(setting):
    """Stored trained settings recomputed (16 restarts, the same minima): the lesson's (λ = 0.015, M = 2),
    and one where every class collapses (the trivial minimum, F = 1/2)."""
    p = imbalance.sweep_params()
    runs = imbalance.SWEEP.load()["runs"]
    stored = next(r for r in runs if (r["lam_W"], r["lam_H"], r["M"]) == setting)
    fresh = imbalance._trained(tuple(p["n"]), *setting, p["restarts"], p["seed"])
    drop = lambda run: dict(run, trained={k: v for k, v in run["trained"].items() if k != "seconds"})  # noqa: E731
    fresh, stored = drop(fresh), drop(stored)  # copies: the trainer's cached summary stays whole
    _assert_close(fresh, stored, "imbalance")
    assert len(runs) == len(p["lambdas"]) ** 2 * len(p["depths"])
    if setting == (0.015, 0.015, 2):
        assert stored["agree"] and stored["trained"]["collapsed"] == [2, 3]


def test_imbalance_twin_starts_at_the_lessons_call_and_shows_its_prediction():
    from gnc_teach.views.widgets.imbalance_explorer import imbalance_label, imbalance_view
    t = EXPLORERS["imbalance_explorer"].build_twin({"lam_W": 0.015, "lam_H": 0.015, "M": 2, "train": True})
    assert [c.values[i] for c, i in zip(t.controls, t.initial)] == [0.015, 0.015, 2, True]
    st = t.states[t.initial]
    assert "training agrees with the closed form" in st["html"] and "collapsed [2, 3]" in st["layout"]["title"]["text"]
    closed = t.states[t.initial[:3] + (0,)]  # train off: the closed form alone is imbalance_view's label
    assert closed["html"] == imbalance_label(imbalance_view((200, 100, 50, 50), 0.015, 0.015, 2, grid_points=80))
    assert len(closed["data"]) == len(st["data"]) - 1  # no trained points
    fig = t.figure(M=1, train=True)
    assert fig.layout.shapes[0].x0 == pytest.approx(400 ** 2 * 0.015 * 0.015)  # n*(1) = N² λ_W λ_H = 36


def test_imbalance_twin_for_other_class_sizes_trains_its_states(monkeypatch):
    monkeypatch.setattr(imbalance, "LAMBDAS", (0.001, 0.05))
    monkeypatch.setattr(imbalance, "DEPTHS", (1,))
    t = imbalance.imbalance_twin(n=(30, 10), train=True, restarts=2)
    assert len(t) == 8 and [c.values[i] for c, i in zip(t.controls, t.initial)] == [0.001, 0.001, 1, True]
    with pytest.raises((ValueError, TypeError), match="class size"):
        imbalance.imbalance_twin(n="7, x")
