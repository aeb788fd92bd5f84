"""The simplex-ETF explorer: the pure view function, and the widget driven headlessly via slider values."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gnc_teach import geometry  # noqa: E402
from gnc_teach.views.widgets import etf_explorer, etf_view  # noqa: E402
from gnc_teach.views.widgets.etf_explorer import ETFExplorer, draw  # noqa: E402


@pytest.mark.parametrize("K, d, kind", [(2, 1, "circle"), (3, 2, "circle"), (4, 3, "sphere"),
                                        (3, 3, "sphere"), (5, 4, "projection"), (6, 9, "projection")])
def test_etf_view_when_the_etf_exists(K, d, kind):
    v = etf_view(K, d)
    assert v["exists"] and v["kind"] == kind and (v["K"], v["d"]) == (K, d)
    assert v["W"].shape == (K, d) and v["W"].dtype == torch.float64
    assert geometry.is_simplex_etf(v["W"], tol=1e-12)
    assert torch.allclose(v["gram"], v["W"] @ v["W"].T)
    assert v["max_error"] < 1e-12 and abs(v["max_cos"] - v["bound"]) < 1e-12
    assert v["bound"] == -1 / (K - 1) and v["gram_rank"] == K - 1
    assert f"K={K}" in v["message"] and "-1/(K-1)" in v["message"]


@pytest.mark.parametrize("K, d", [(4, 2), (5, 3), (12, 1)])
def test_etf_view_explains_when_no_etf_exists(K, d):
    v = etf_view(K, d)
    assert not v["exists"] and v["W"] is None and v["kind"] == "none"
    assert v["max_cos"] is None and v["max_error"] is None
    # the Gram an ETF would need, and its rank K-1 > d
    G = v["gram"]
    assert G.shape == (K, K) and int(torch.linalg.matrix_rank(G)) == K - 1 > d
    assert f"rank K-1 = {K - 1}" in v["message"] and f"at most d = {d}" in v["message"]
    assert "softmax code" in v["message"]


@pytest.mark.parametrize("K, d, exc, match", [(1, 3, ValueError, "K must be >= 2"),
                                              (3, 0, ValueError, "d must be >= 1"),
                                              (3.5, 2, TypeError, "K must be an integer")])
def test_etf_view_bad_inputs(K, d, exc, match):
    with pytest.raises(exc, match=match):
        etf_view(K, d)


def test_widget_state_follows_the_sliders():
    w = etf_explorer(K=4, d=3)
    ex = w.explorer
    assert ex.view["exists"] and ex.view["kind"] == "sphere"
    assert "K=4 unit vectors in R^3" in ex.info.value and "#1a7f37" in ex.info.value
    ex.K.value = 6                       # 6 classes in R^3: no ETF
    assert not ex.view["exists"] and ex.view["W"] is None
    assert "No simplex ETF of K=6 vectors exists in R^3" in ex.info.value and "#b42318" in ex.info.value
    ex.d.value = 5                       # now d = K-1: an ETF again
    assert ex.view["exists"] and ex.view["W"].shape == (6, 5) and ex.view["kind"] == "projection"
    assert "K=6, d=5 (projection)" in ex.drawn and "Gram matrix W Wᵀ" in ex.drawn
    ex.K.value, ex.d.value = 3, 2
    assert ex.view["kind"] == "circle" and "K=3 unit vectors in R^2" in ex.info.value
    assert ex.drawn[0] == "K=3, d=2"
    ex.K.value = 7
    assert ex.drawn == ["Gram matrix an ETF would need"]
    plt.close("all")


def test_widget_controls_and_ranges():
    w = etf_explorer(K=5, d=4, max_K=8, max_d=6)
    ex = w.explorer
    assert (ex.K.min, ex.K.max, ex.d.min, ex.d.max) == (2, 8, 1, 6)
    assert ex.K in w.children[0].children and ex.out in w.children
    e = ETFExplorer(7, 2, draw_figures=False)
    assert not e.view["exists"] and e.drawn == []
    plt.close("all")


@pytest.mark.parametrize("K, d", [(2, 1), (3, 2), (4, 3), (5, 7), (5, 3)])
def test_draw_makes_two_panels_with_labels(K, d):
    fig = draw(etf_view(K, d))
    assert len([a for a in fig.axes if a.get_title() or not a.axison]) >= 2
    assert any("Gram" in a.get_title() for a in fig.axes)
    plt.close(fig)


def test_figures_replace_the_output_widgets_outputs_in_a_kernel():
    # in IPython the figure becomes the Output widget's only output, set as its state: no "with out:" capture,
    # whose sync with a notebook runner (nbclient: Voila, nbval) hung cells under CPU load
    import base64

    ipywidgets = pytest.importorskip("ipywidgets")
    from IPython.core.interactiveshell import InteractiveShell

    from gnc_teach.views.widgets._common import show
    out = ipywidgets.Output()
    InteractiveShell.instance()
    try:
        for K in (4, 5):
            fig = draw(etf_view(K, 3))
            show(out, fig, plt)
            assert not plt.fignum_exists(fig.number)                 # closed: no figure leak
            (o,) = out.outputs
            assert o["output_type"] == "display_data" and out.msg_id == ""
            assert base64.b64decode(o["data"]["image/png"])[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        InteractiveShell.clear_instance()
