"""HUG explorer: the pure view and the widget driven headlessly (set .value, read the state)."""
import pytest

pytest.importorskip("ipywidgets")

from gnc_teach.views.widgets.hug_explorer import draw_hug_view, hug_explorer, hug_label, hug_view  # noqa: E402

SMALL = dict(K=5, d=3, n=2, steps=60, seed=0)


def test_view_reports_the_references():
    v = hug_view(1.0, 1.0, "riesz s=2", "gd", **SMALL)
    assert set(v["ref"]) == {"energy_star", "rho_measure", "status", "rho_softmax"}
    assert v["energy_gap"] == pytest.approx(v["run"]["final"]["energy"] - v["ref"]["energy_star"])
    assert v["ref"]["rho_measure"] <= v["ref"]["rho_softmax"] + 1e-9
    assert "intra weight 1" in hug_label(v) and len(v["run"]["step"]) == len(v["run"]["gnc1"])


def test_weights_act_separately_with_gradient_steps():
    base = hug_view(1.0, 1.0, **SMALL)
    more_intra = hug_view(3.0, 1.0, **SMALL)
    assert more_intra["energy_gap"] == pytest.approx(base["energy_gap"], rel=1e-12)   # proxies ignore beta
    assert more_intra["run"]["final"]["gnc1"] < base["run"]["final"]["gnc1"]
    assert hug_view(1.0, 0.0, **SMALL)["energy_gap"] > base["energy_gap"]


def test_explorer_headless():
    box = hug_explorer(draw=False, **SMALL)
    c = box.controls
    assert set(c) == {"intra", "inter", "measure", "optimizer"} and box.state["intra_weight"] == 1.0
    c["inter"].value = 0.0
    assert box.state["inter_weight"] == 0.0 and box.state["energy_gap"] > 0.1
    c["measure"].value = "gram det γ=1"
    assert box.state["measure"] == "gram det γ=1" and "gram det" in box.label.value
    c["optimizer"].value = "adam"
    assert box.state["optimizer"] == "adam" and box.seconds >= 0


def test_explorer_draws_without_a_kernel():
    import matplotlib
    matplotlib.use("Agg")
    box = hug_explorer(**SMALL)
    box.controls["intra"].value = 0.0
    axes = draw_hug_view(box.state)
    assert axes[0].get_xlabel() == "training step" and axes[1].get_ylabel().startswith("one-vs-rest")


@pytest.mark.parametrize("args, match", [(dict(measure="mhe"), "measure must be one of"),
                                         (dict(optimizer="sgd"), "optimizer must be one of"),
                                         (dict(intra_weight=-1.0), "intra_weight")])
def test_bad_settings(args, match):
    with pytest.raises(ValueError, match=match):
        hug_view(**args, **SMALL)
