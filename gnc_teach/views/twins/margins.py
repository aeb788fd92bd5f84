"""Twin of the margin explorer (lesson 02, d = 2): margins of a unit feature h of class k = 0.

Every state is :func:`gnc_teach.views.widgets.margin_explorer.margin_view` (certified one-vs-rest
distances, solved once per code): left, w_0, the hull of the other classes, its nearest point p_0 and
the feature h; right, the margins ⟨w_0 − w_j, h⟩ with ρ_0. The angle control includes h = h*_0,
where the worst margin equals ρ_0 (margin duality).
"""
from __future__ import annotations

import math

import numpy as np

from .figures import COLOURS, circle_trace, code_axes, rounded
from .twin import Control, Twin

__all__ = ["margin_twin", "margin_state", "ANGLES"]

ANGLES = ("h*",) + tuple(range(-180, 180, 15))
_LEFT, _RIGHT = (0.0, 0.44), (0.58, 1.0)


def _hull_outline(P: np.ndarray) -> np.ndarray:
    """Closed outline of conv(P) for 2-D points P (a segment when P has two points)."""
    from scipy.spatial import ConvexHull, QhullError
    try:
        v = ConvexHull(P).vertices
    except (QhullError, ValueError):  # two points: the hull is a segment
        v = np.argsort(P @ (P[-1] - P[0]))
    return P[np.r_[v, v[:1]]]


def margin_state(code: str, K: int, angle) -> dict:
    """The twin's state for a demo code, K and the angle of h in degrees (or "h*": the optimal feature)."""
    from ..widgets.margin_explorer import _demo, margin_label, margin_view
    if angle != "h*" and (isinstance(angle, bool) or not isinstance(angle, (int, float)) or not math.isfinite(angle)):
        raise ValueError(f"angle must be 'h*' (the optimal feature) or an angle in degrees, got {angle!r}.")
    W, det = _demo(code, K)
    k = 0
    h = det.h[k].numpy() if angle == "h*" else np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle))])
    view = margin_view(W, k, h, details=det)
    others, p, hv = np.delete(view["W"], k, axis=0), view["p_k"], view["h"]
    hull = _hull_outline(others)
    wk = view["W"][k]
    xy = lambda P: dict(x=rounded(np.asarray(P)[:, 0], 4), y=rounded(np.asarray(P)[:, 1], 4))  # noqa: E731
    data = ["circle", dict(_base="hull", **xy(hull)),
            dict(_base="others", text=[str(j) for j in view["others"]], **xy(others)),
            dict(_base="rho", name=f"ρ_{k} = {view['rho_k']:.4f}", **xy([wk, p])),
            dict(_base="w_k", **xy([wk])), dict(_base="p_k", **xy([p])), dict(_base="h", **xy([[0, 0], hv])),
            dict(_base="bars", x=[str(j) for j in view["others"]], y=rounded(view["margins"], 4),
                 marker=dict(color=[COLOURS[3] if j == view["worst_j"] else COLOURS[0] for j in view["others"]]))]
    lo = min(0.0, float(view["margins"].min())) - 0.1
    hi = max(float(view["margins"].max()), view["rho_k"]) + 0.15
    layout = dict(yaxis2=dict(range=[round(lo, 3), round(hi, 3)]),
                  shapes=[dict(type="line", xref="x2 domain", yref="y2", x0=0, x1=1, y0=view["rho_k"],
                               y1=view["rho_k"], line=dict(color=COLOURS[2], dash="dash")),
                          dict(type="line", xref="x2 domain", yref="y2", x0=0, x1=1, y0=0, y1=0,
                               line=dict(color="black", width=1))],
                  title=dict(text=f"{code}, K={K}: worst margin {view['worst']:.4f} (red) ≤ ρ_{k} = {view['rho_k']:.4f}"))
    return dict(data=data, layout=layout, html=margin_label(view))


def _styles(k: int) -> dict:
    """The traces' styles, stored once per twin (states carry only their coordinates)."""
    line = lambda c, **kw: dict(type="scatter", mode="lines", line=dict(color=c, **kw))  # noqa: E731
    return dict(circle=circle_trace(),
                hull=dict(line("rgba(31,119,180,0.5)"), fill="toself", fillcolor="rgba(31,119,180,0.15)",
                          name="conv{w_j : j≠k}", hoverinfo="skip"),
                others=dict(type="scatter", mode="markers+text", textposition="top right",
                            marker=dict(color=COLOURS[0], size=8), name="other classes w_j"),
                rho=line(COLOURS[2], width=3),
                w_k=dict(type="scatter", mode="markers", marker=dict(symbol="star", size=16, color=COLOURS[3]),
                         name=f"w_{k}"),
                p_k=dict(type="scatter", mode="markers", marker=dict(size=9, color=COLOURS[2]),
                         name=f"nearest point p_{k}"),
                h=dict(line(COLOURS[1], width=2), mode="lines+markers", name="feature h",
                       marker=dict(symbol="arrow", angleref="previous", size=12, color=COLOURS[1])),
                bars=dict(type="bar", xaxis="x2", yaxis="y2", showlegend=False, name="⟨w_k − w_j, h⟩"))


def margin_twin(*, code: str | None = None, K: int = 6, k: int = 0, theta=None, max_K: int = 12) -> Twin:
    """Kernel-free twin of :func:`~gnc_teach.views.widgets.margin_explorer`: demo code × K = 3..max_K ×
    angle of h (every 15°, and h = h*_0), for class k = 0 (the live explorer also moves k)."""
    from ..._tensor import check_int
    from ..widgets.margin_explorer import CODES
    max_K, K = check_int(max_K, "max_K", minimum=3, maximum=64), check_int(K, "K", minimum=3)
    if k != 0:
        raise ValueError(f"k={k!r}: the twin shows class k = 0 (the live explorer moves k).")
    controls = [Control("code", "code", tuple(CODES), kind="select"),
                Control("K", "K", tuple(range(3, max_K + 1))),
                Control("angle", "angle of h", ANGLES, labels=("h = h*₀",) + tuple(f"{a}°" for a in ANGLES[1:]))]
    initial = dict(code=code or CODES[1], K=K, angle="h*" if theta is None else theta)
    return Twin.build("margin explorer", controls, margin_state, initial=initial,
                      shared=_styles(k=0),
                      layout=dict(code_axes(2, domain=_LEFT), height=430, margin=dict(l=50, r=20, t=60, b=50),
                                  xaxis2=dict(domain=list(_RIGHT), title=dict(text="other class j"), anchor="y2",
                                              type="category"),
                                  yaxis2=dict(title=dict(text="margin ⟨w_k − w_j, h⟩"), anchor="x2"),
                                  uirevision="keep", legend=dict(x=0.0, y=-0.25, orientation="h", font=dict(size=10))),
                      note="Class k = 0; the angle of h in steps of 15° and the optimal feature h*₀. "
                           "The live explorer (JupyterLab) also moves k and h continuously.")
