"""Twin of the simplex-ETF explorer (lesson 01): the ETF and its Gram matrix over a grid of K and d.

Every state is :func:`gnc_teach.views.widgets.etf_explorer.etf_view` (the widget's pure function),
drawn with plotly: the configuration on the circle, on the sphere (rotatable) or projected onto its
first three coordinates, and the Gram matrix W Wᵀ (or the one an ETF would need when none exists).
"""
from __future__ import annotations

import html

import numpy as np

from .figures import circle_trace, code_axes, code_traces, gram_trace, sphere_trace
from .twin import Control, Twin

__all__ = ["etf_twin", "etf_state"]

_LEFT, _RIGHT = (0.0, 0.46), (0.58, 0.92)


def etf_state(K: int, d: int) -> dict:
    """The twin's state for (K, d): traces, layout overrides and the explorer's message as caption."""
    from ..widgets.etf_explorer import etf_view
    view = etf_view(K, d)
    kind, data = view["kind"], []
    layout = dict(title=dict(text=f"K={K}, d={d}" + (" (first 3 coordinates)" if kind == "projection" else "")),
                  annotations=[])
    if kind == "none":
        layout.update(code_axes(2, domain=_LEFT))
        layout["xaxis"].update(visible=False)
        layout["yaxis"].update(visible=False)
        layout["annotations"].append(dict(text=f"no simplex ETF:<br>K={K} > d+1={d + 1}", x=0, y=0,
                                          xref="x", yref="y", showarrow=False, font=dict(size=16)))
        data.append(dict(type="scatter", x=[0], y=[0], mode="markers", marker=dict(opacity=0),
                         hoverinfo="skip", showlegend=False))
    else:
        W = view["W"].numpy()
        if kind == "projection":
            W = W[:, :3]  # keep the true (shrunk) lengths, as the widget does
        elif W.shape[1] == 1:
            W = np.hstack([W, np.zeros_like(W)])  # K = 2, d = 1: two antipodal points on the circle
        dim = W.shape[1]
        data.append("circle" if dim == 2 else "sphere")
        data += code_traces(W, normalize=kind != "projection")
        layout.update(code_axes(dim, domain=_LEFT))
    # the Gram an ETF needs when none exists in R^d: that of the ETF in R^(K-1), rank K-1 > d
    data.append(gram_trace(view["gram"].numpy(), colorbar_x=1.0))
    layout.update(xaxis2=dict(range=[-0.5, K - 0.5]), yaxis2=dict(range=[K - 0.5, -0.5]))
    layout["annotations"].append(dict(text="Gram matrix W Wᵀ" if view["exists"] else "Gram matrix an ETF would need",
                                      x=sum(_RIGHT) / 2, y=1.06, xref="paper", yref="paper", showarrow=False))
    colour = "#1a7f37" if view["exists"] else "#b42318"
    caption = f'<span style="color:{colour}">{html.escape(view["message"])}</span>'
    return dict(data=data, layout=layout, html=caption)


def etf_twin(K: int = 4, d: int = 3, *, max_K: int = 10, max_d: int = 10) -> Twin:
    """Kernel-free twin of :func:`~gnc_teach.views.widgets.etf_explorer`: K = 2..max_K, d = 1..max_d."""
    from ..._tensor import check_int
    max_K, max_d = check_int(max_K, "max_K", minimum=2, maximum=64), check_int(max_d, "max_d", minimum=1, maximum=64)
    K, d = check_int(K, "K", minimum=2), check_int(d, "d", minimum=1)  # beyond max_K / max_d: the nearest
    controls = [Control("K", "K (classes)", tuple(range(2, max_K + 1))),
                Control("d", "d (dimension)", tuple(range(1, max_d + 1)))]
    return Twin.build("simplex ETF explorer", controls, etf_state, initial=dict(K=K, d=d),
                      shared=dict(circle=circle_trace(), sphere=sphere_trace()),
                      layout=dict(height=430, margin=dict(l=50, r=30, t=60, b=50), uirevision="keep",
                                  xaxis2=dict(domain=list(_RIGHT), title=dict(text="class k"), anchor="y2", dtick=1),
                                  yaxis2=dict(title=dict(text="class j"), anchor="x2", dtick=1,
                                              scaleanchor="x2")),
                      note="Precomputed for every K and d shown; the live explorer runs in JupyterLab.")
