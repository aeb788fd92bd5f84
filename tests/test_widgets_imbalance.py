"""Imbalance explorer: the pure view and the widget driven headlessly (set .value, read the state)."""
import importlib

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

ie = importlib.import_module("gnc_teach.views.widgets.imbalance_explorer")
N_PAPER = (200, 100, 50, 50)


def test_parse_sizes():
    assert ie.parse_sizes("200, 100 50;50") == N_PAPER
    assert ie.parse_sizes([3, 4]) == (3, 4)
    with pytest.raises(ValueError, match="class size 1 is 'x'"):
        ie.parse_sizes("200, x")
    with pytest.raises(ValueError, match=r"class sizes\[1\] = 0"):
        ie.parse_sizes("200, 0")


def test_view_predicts_minority_collapse_and_its_depth_dependence():
    v1 = ie.imbalance_view(N_PAPER, 0.015, 0.015, 1)
    v2 = ie.imbalance_view(N_PAPER, 0.015, 0.015, 2)
    assert v1["predicted_collapsed"] == () and v2["predicted_collapsed"] == (2, 3)
    assert v1["threshold"] == pytest.approx(400 ** 2 * 0.015 ** 2)
    assert v1["thresholds"][1] < 50 < v2["thresholds"][2]
    sizes, fits = v2["curve"]
    assert np.all(fits[sizes <= v2["threshold"]] == 0) and np.all(fits[sizes > v2["threshold"]] >= 0.5 - 1e-9)
    assert v1["trained"] is None and v1["agree"] is None
    assert "Predicted collapsed: [2, 3]" in ie.imbalance_label(v2)


def test_view_with_training_agrees():
    v = ie.imbalance_view(N_PAPER, 0.015, 0.015, 2, train=True)
    assert v["agree"] and v["trained"]["collapsed"] == (2, 3)
    assert "agrees with the closed form" in ie.imbalance_label(v)
    assert ie.trained_run.cache_info().currsize >= 1


def test_explorer_headless():
    box = ie.imbalance_explorer(draw=False)
    c = box.controls
    assert box.state["predicted_collapsed"] == () and box.error is None
    c["lam_W"].value = 0.02
    c["lam_H"].value = 0.02
    assert box.state["predicted_collapsed"] == (2, 3)
    c["M"].value = 3
    assert box.state["M"] == 3 and box.state["threshold"] > 64
    c["n"].value = "300, 30, 30, 10"
    assert box.state["n"] == (300, 30, 30, 10) and box.state["predicted_collapsed"] == (1, 2, 3)
    c["n"].value = "300, -1"
    assert "class sizes[1] = -1" in box.error and box.state["n"] == (300, 30, 30, 10)
    assert "color:#b42318" in box.label.value
    c["n"].value = "200, 100, 50, 50"
    c["train"].value = True
    assert box.error is None and box.state["agree"] and box.seconds >= 0


def test_explorer_draws_without_a_kernel():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    box = ie.imbalance_explorer(lam_W=0.02, lam_H=0.02, draw=True)
    assert box.state["predicted_collapsed"] == (2, 3)
    axes = ie.draw_imbalance_view(box.state)
    assert axes[0].get_ylabel() == "‖w_k‖²" and axes[1].get_xscale() == "log"
    plt.close("all")
