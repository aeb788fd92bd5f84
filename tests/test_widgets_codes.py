"""Headless tests of the code and margin explorers: build them with no arguments, move the controls,
check the state they show. Response times are printed (no timing assertions)."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

from gnc_teach.views.widgets.code_explorer import code_explorer, code_label, code_view  # noqa: E402
from gnc_teach.views.widgets.margin_explorer import CODES, demo_code, margin_explorer, margin_view  # noqa: E402


@pytest.mark.parametrize("K", [3, 5, 8, 13])
def test_code_view_polygon_matches_closed_form(K):
    v = code_view("softmax", K, 2)
    assert v["W"].shape == (K, 2)
    assert abs(v["rho"] - (1 - math.cos(2 * math.pi / K))) < 1e-9
    assert v["status"] == "proved optimal softmax code"
    assert abs(v["min_angle"] - 360 / K) < 1e-9


def test_code_view_d3_is_best_found_with_bounds():
    v = code_view("softmax", 8, 3)
    assert v["rho_star"] is None and v["status"] == "best found"
    assert v["lower_bound"] - 1e-9 <= v["rho"] <= v["upper_bound"] + 1e-9
    assert abs(v["gap"] - (v["upper_bound"] - v["rho"])) < 1e-12
    assert f"{v['rho']:.9f}" in code_label(v)
    with pytest.raises(ValueError, match="kind"):
        code_view("hexagonal", 8, 3)


def test_code_explorer_responds_to_controls():
    t0 = time.perf_counter()
    box = code_explorer()
    print(f"\ncode_explorer(): built in {time.perf_counter() - t0:.3f} s")
    c = box.controls
    assert set(c) == {"kind", "K", "d"}
    c["d"].value = 2
    for K in (5, 11):
        c["K"].value = K
        print(f"code_explorer K={K}, d=2: update took {box.seconds:.3f} s (compute {box.timings['compute']:.4f} s, figure {box.timings['draw']:.3f} s)")
        assert box.state["K"] == K and box.state["d"] == 2
        assert abs(box.state["rho"] - (1 - math.cos(2 * math.pi / K))) < 1e-9
        assert f"{box.state['rho']:.9f}" in box.label.value
    c["d"].value = 3
    c["kind"].value = "thomson"
    print(f"code_explorer thomson K=11, d=3: update took {box.seconds:.3f} s (compute {box.timings['compute']:.4f} s, figure {box.timings['draw']:.3f} s)")
    assert box.state["kind"] == "thomson" and box.state["W"].shape == (11, 3)
    assert "thomson" in box.label.value
    assert np.allclose(np.linalg.norm(box.state["W"], axis=1), 1, atol=1e-12)


def test_margin_view_duality():
    W = demo_code(CODES[1], 7)
    best = margin_view(W, 2, [1.0, 0.0])
    v = margin_view(W, 2, best["h_star"])
    assert v["margins"].shape == (6,) and list(v["others"]) == [0, 1, 3, 4, 5, 6]
    assert abs(v["gap"]) < 1e-9 and abs(v["worst"] - v["rho_k"]) < 1e-9
    rng = np.random.default_rng(0)
    for _ in range(50):   # no unit feature beats rho_k
        h = rng.standard_normal(2)
        assert margin_view(W, 2, h)["gap"] >= -1e-12
    # margins are those of the normalised h, whatever its length
    assert np.allclose(margin_view(W, 2, 5 * best["h_star"])["margins"], v["margins"], atol=1e-12)


def test_margin_view_errors():
    W = demo_code(CODES[0], 5)
    with pytest.raises(ValueError, match="k=5"):
        margin_view(W, 5, [1.0, 0.0])
    with pytest.raises(ValueError, match="h must be"):
        margin_view(W, 0, [0.0, 0.0])
    with pytest.raises(ValueError, match="h must be"):
        margin_view(W, 0, [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="not a demo code"):
        demo_code("hexagon", 5)


def test_margin_explorer_responds_to_controls():
    t0 = time.perf_counter()
    box = margin_explorer()
    print(f"\nmargin_explorer(): built in {time.perf_counter() - t0:.3f} s")
    c = box.controls
    assert abs(box.state["gap"]) < 1e-9                 # starts at h = h*_k
    c["theta"].value = c["theta"].value + 40.0
    print(f"margin_explorer angle change: update took {box.seconds:.3f} s (compute {box.timings['compute']:.4f} s, figure {box.timings['draw']:.3f} s)")
    assert box.state["gap"] > 1e-6                       # off the optimum: strictly worse
    assert "gap" in box.label.value
    c["best"].click()
    assert abs(box.state["gap"]) < 1e-9
    c["code"].value = CODES[0]
    c["K"].value = 8
    print(f"margin_explorer K change: update took {box.seconds:.3f} s (compute {box.timings['compute']:.4f} s, figure {box.timings['draw']:.3f} s)")
    assert box.state["W"].shape == (8, 2)
    assert abs(box.state["rho_k"] - (1 - math.cos(2 * math.pi / 8))) < 1e-9
    c["k"].value = 7
    assert box.state["k"] == 7
    c["K"].value = 4                                     # k is clamped into range
    assert c["k"].value <= 3 and box.state["k"] == c["k"].value


def test_plot_hull_distance_draws_the_certified_segment():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gnc_teach.margins import one_vs_rest_distance
    from gnc_teach.views.plotting import plot_hull_distance
    W = demo_code(CODES[1], 6)
    det = one_vs_rest_distance(W, return_details=True)
    ax = plot_hull_distance(W, 0, h=[0.0, 1.0])
    assert ax.get_xlabel() and ax.get_ylabel()
    seg = [ln for ln in ax.lines if len(ln.get_xdata()) == 2 and ln.get_color() == "tab:green"]
    (x0, x1), (y0, y1) = seg[0].get_xdata(), seg[0].get_ydata()
    assert abs(math.hypot(x1 - x0, y1 - y0) - float(det.rho[0])) < 1e-12
    assert any(f"{float(det.rho[0]):.4f}" in t.get_text() for t in ax.texts)
    plot_hull_distance(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), 0)   # a segment hull
    plot_hull_distance(np.array([[1.0, 0.0], [-1.0, 0.0]]), 1)               # a one-point hull
    with pytest.raises(ValueError, match=r"shape \(K, 2\)"):
        plot_hull_distance(np.eye(3), 0)
    with pytest.raises(ValueError, match="k=6"):
        plot_hull_distance(W, 6)
    plt.close("all")


def test_plot_bounds_from_the_gallery():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gnc_teach.gallery import bounds_table
    from gnc_teach.views.plotting import plot_bounds
    table = bounds_table(ds=(2, 3), K_max=8)
    assert list(table[3]["K"]) == list(range(2, 9))
    assert np.all(table[3]["lower"] <= table[3]["rho"] + 1e-10)
    ax = plot_bounds(table)
    assert ax.get_xlabel().startswith("K") and "rho" in ax.get_ylabel()
    assert len(ax.lines) == 3 * 2
    plt.close("all")
