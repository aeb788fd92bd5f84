"""The simplex-ETF explorer: sliders for K and d, a picture of the ETF and its Gram matrix.

The computation is the pure function :func:`etf_view`; :func:`etf_explorer` only wires sliders to it.
"""
from __future__ import annotations

import html

import torch

from ... import geometry
from ..._tensor import check_int
from ._common import show

__all__ = ["etf_view", "etf_explorer", "ETFExplorer"]


def etf_view(K: int, d: int) -> dict:
    """What the explorer shows for (K, d), as a dict.

    Keys: ``K``, ``d``, ``exists`` (d >= K-1), ``W`` (the ``(K, d)`` float64 ETF, or None), ``gram``
    (``(K, K)``: W Wᵀ, or the Gram an ETF would need when none exists), ``gram_rank``, ``bound``
    (-1/(K-1)), ``max_cos``, ``max_error`` (max |Gram - ETF Gram|, float64), ``kind``
    ("circle", "sphere", "projection" or "none") and a one-paragraph ``message``.
    """
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=1)
    bound = geometry.simplex_bound(K)
    target = torch.full((K, K), bound, dtype=torch.float64).fill_diagonal_(1.0)
    rank = K - 1  # eigenvalues of the ETF Gram: K/(K-1) (K-1 times) and 0
    view = dict(K=K, d=d, exists=d >= K - 1, bound=bound, gram_rank=rank)
    if d < K - 1:
        view.update(
            W=None, gram=target, max_cos=None, max_error=None, kind="none",
            message=(f"No simplex ETF of K={K} vectors exists in R^{d}: its Gram matrix (shown) has rank "
                     f"K-1 = {rank}, but a Gram matrix W Wᵀ of K vectors in R^{d} has rank at most d = {d}. "
                     f"With K ≥ d+2 classes, any K unit vectors in R^{d} even have two at cosine ≥ 0 "
                     f"(Rankin's orthoplex bound), far from the ETF's -1/(K-1) = {bound:.3f}. The best "
                     f"classifier is then a softmax code (lesson 02): it maximises the one-vs-rest "
                     f"distance ρ."))
        return view
    W = geometry.simplex_etf(K, d, device="cpu", dtype=torch.float64)
    Gm = W @ W.T
    err = float((Gm - target).abs().max())
    kind = {1: "circle", 2: "circle", 3: "sphere"}.get(d, "projection")
    where = {"circle": "on the unit circle", "sphere": "on the unit sphere",
             "projection": f"projected from R^{d} onto its first 3 coordinates"}[kind]
    view.update(
        W=W, gram=Gm, max_cos=geometry.max_cos(W), max_error=err, kind=kind,
        message=(f"Simplex ETF, K={K} unit vectors in R^{d}, drawn {where}. Every pair has inner product "
                 f"-1/(K-1) = {bound:.4f} (max |Gram error| = {err:.1e} in float64); the rows sum to "
                 f"zero and span a {rank}-dimensional subspace. No K unit vectors have a smaller largest "
                 f"cosine (Rankin's simplex bound)."))
    return view


def draw(view: dict, fig=None):
    """Draw a view: the configuration (left) and its Gram matrix (right). Returns the figure."""
    import matplotlib.pyplot as plt

    from .. import plotting

    if fig is None:
        fig = plt.figure(figsize=(7.5, 3.4), dpi=80)
    kind = view["kind"]
    if kind == "none":
        ax = fig.add_subplot(1, 2, 1)
        ax.axis("off")
        ax.text(0.0, 0.5, f"no simplex ETF:\nK={view['K']} > d+1={view['d'] + 1}", fontsize=12,
                va="center")
    else:
        W = view["W"]
        if kind == "projection":  # first 3 coordinates; keep the true (shrunk) lengths
            W = W[:, :3]
        elif W.shape[1] == 1:     # K=2, d=1: two antipodal points, drawn on the circle
            W = torch.cat([W, torch.zeros_like(W)], dim=1)
        ax = fig.add_subplot(1, 2, 1, projection="3d" if W.shape[1] == 3 else None)
        plotting.plot_code(W, ax=ax, normalize=kind != "projection")
        ax.set_title(f"K={view['K']}, d={view['d']}" + (" (projection)" if kind == "projection" else ""))
    ax2 = fig.add_subplot(1, 2, 2)
    # With no ETF, show the Gram it would need: that of the ETF in R^{K-1}, of rank K-1 > d.
    W = view["W"] if view["exists"] else geometry.simplex_etf(view["K"], device="cpu")
    plotting.plot_gram(W, ax=ax2, annotate=view["K"] <= 6)
    ax2.set_xticks(range(view["K"]))
    ax2.set_yticks(range(view["K"]))
    ax2.set_title("Gram matrix" + (" an ETF would need" if not view["exists"] else " W Wᵀ"))
    fig.tight_layout()
    return fig


def _widgets():
    import ipywidgets as widgets
    return widgets


class ETFExplorer:
    """Controller behind :func:`etf_explorer`; ``.widget`` is the ipywidgets box, ``.view`` the state."""

    def __init__(self, K=4, d=3, *, max_K=12, max_d=12, draw_figures=True):
        max_K, max_d = check_int(max_K, "max_K", minimum=2), check_int(max_d, "max_d", minimum=1)
        K, d = check_int(K, "K", minimum=2, maximum=max_K), check_int(d, "d", minimum=1, maximum=max_d)
        widgets = _widgets()
        self.K = widgets.IntSlider(value=K, min=2, max=max_K, description="K (classes)")
        self.d = widgets.IntSlider(value=d, min=1, max=max_d, description="d (dim)")
        self.info = widgets.HTML()
        self.out = widgets.Output()
        self.draw_figures = draw_figures
        self.drawn = []
        self.widget = widgets.VBox([widgets.HBox([self.K, self.d]), self.info, self.out])
        self.widget.explorer = self  # reachable from the returned widget, e.g. in tests
        self.K.observe(self._update, names="value")
        self.d.observe(self._update, names="value")
        self._update()

    def _update(self, change=None):
        self.view = etf_view(self.K.value, self.d.value)
        colour = "#1a7f37" if self.view["exists"] else "#b42318"
        self.info.value = f'<span style="color:{colour}">{html.escape(self.view["message"])}</span>'
        if not self.draw_figures:
            return
        import matplotlib.pyplot as plt
        fig = draw(self.view)
        # what was drawn, for headless tests (Output captures nothing outside a kernel)
        self.drawn = [ax.get_title() for ax in fig.axes if ax.get_title()]
        show(self.out, fig, plt)


def etf_explorer(K: int = 4, d: int = 3, *, max_K: int = 12, max_d: int = 12):
    """An ipywidgets box: K and d sliders, a message, and the ETF with its Gram heatmap.

    The state is :func:`etf_view` (``widget.explorer.view``); when d < K-1 the box explains why no ETF
    exists instead of drawing one.
    """
    return ETFExplorer(K, d, max_K=max_K, max_d=max_d).widget
