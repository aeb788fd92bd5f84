"""Plotly building blocks shared by the twins: codes on the circle / sphere, Gram heatmaps.

Every function returns plain plotly dicts (traces, layout pieces), so that thousands of precomputed
states stay cheap to build and serialise; :func:`code_figure` wraps them in a ``go.Figure`` for a
notebook, where JupyterLab renders it and a 3-D code can be rotated with the mouse.
Numbers are rounded to 5 decimals: the figures are pictures, the certified values are in the captions.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["COLOURS", "rounded", "significant", "log_floor", "unit_rows", "code_traces", "circle_trace", "sphere_trace", "code_axes",
           "gram_trace", "code_figure"]

# matplotlib's tab10, so that class k has the same colour in the static figures and in the twins
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def rounded(x, digits: int = 5):
    """``x`` (array-like) as nested lists of floats rounded to ``digits`` (compact JSON)."""
    return np.round(np.asarray(x, dtype=np.float64), digits).tolist()


def significant(values, digits: int = 5) -> list:
    """A sequence of floats rounded to ``digits`` significant digits (for curves on log axes, where
    :func:`rounded`'s fixed decimals would erase small values)."""
    return [float(f"{float(v):.{digits}g}") for v in values]


def log_floor(values, floor: float = 1e-16) -> list:
    """``values`` clipped below at ``floor`` and rounded (:func:`significant`): a curve for a log axis,
    where an exact zero (a metric that reached machine precision) is drawn at ``floor``."""
    return significant(max(float(v), floor) for v in values)


def unit_rows(W) -> np.ndarray:
    """Rows of ``W (K, d)`` scaled to unit length, as float64 numpy (zero rows refused)."""
    X = np.asarray(W.detach().cpu() if hasattr(W, "detach") else W, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"W must be a (K, d) matrix, got shape {X.shape}.")
    n = np.linalg.norm(X, axis=1, keepdims=True)
    if (n == 0).any():
        raise ValueError("W has a zero row, which cannot be drawn on the unit sphere.")
    return X / n


def _rays(X: np.ndarray) -> list:
    """Coordinates of segments origin -> each row, separated by None (one trace for all rays)."""
    out = [[] for _ in range(X.shape[1])]
    for row in X:
        for c in range(X.shape[1]):
            out[c] += [0.0, round(float(row[c]), 5), None]
    return out


def code_traces(W, *, normalize: bool = True, labels: bool = True, xaxis: str = "x", yaxis: str = "y",
                scene: str = "scene", name: str = "class") -> list[dict]:
    """Rays and points of the rows of ``W (K, 2)`` (2-D axes ``xaxis``/``yaxis``) or ``W (K, 3)`` (3-D
    ``scene``); point k is coloured like ``plot_code`` and labelled k."""
    X = unit_rows(W) if normalize else np.asarray(W, dtype=np.float64)
    K, d = X.shape
    if d not in (2, 3):
        raise ValueError(f"code_traces draws d = 2 or 3, got d = {d}.")
    colours = [COLOURS[k % 10] for k in range(K)]
    text = [str(k) for k in range(K)] if labels else None
    hover = [f"{name} {k}: " + ", ".join(f"{v:.4f}" for v in row) for k, row in enumerate(X)]
    rays = _rays(X)
    mode = "markers+text" if labels else "markers"
    if d == 2:
        return [dict(type="scatter", x=rays[0], y=rays[1], mode="lines", line=dict(color="#999", width=1),
                     hoverinfo="skip", showlegend=False, xaxis=xaxis, yaxis=yaxis),
                dict(type="scatter", x=rounded(X[:, 0]), y=rounded(X[:, 1]), mode=mode, text=text,
                     textposition="top right", hovertext=hover, hoverinfo="text", showlegend=False,
                     marker=dict(size=10, color=colours, line=dict(color="black", width=0.5)),
                     xaxis=xaxis, yaxis=yaxis)]
    return [dict(type="scatter3d", x=rays[0], y=rays[1], z=rays[2], mode="lines",
                 line=dict(color="#888", width=2), hoverinfo="skip", showlegend=False, scene=scene),
            dict(type="scatter3d", x=rounded(X[:, 0]), y=rounded(X[:, 1]), z=rounded(X[:, 2]), mode=mode,
                 text=text, hovertext=hover, hoverinfo="text", showlegend=False, scene=scene,
                 marker=dict(size=5, color=colours, line=dict(color="black", width=0.5)))]


def circle_trace(*, xaxis: str = "x", yaxis: str = "y") -> dict:
    """The unit circle (grey)."""
    t = np.linspace(0, 2 * math.pi, 121)
    return dict(type="scatter", x=rounded(np.cos(t), 4), y=rounded(np.sin(t), 4), mode="lines",
                line=dict(color="#bbb", width=1), hoverinfo="skip", showlegend=False, xaxis=xaxis, yaxis=yaxis)


def sphere_trace(*, scene: str = "scene") -> dict:
    """A translucent unit sphere (a coarse surface: light to ship, enough to see the points on it)."""
    u, v = np.meshgrid(np.linspace(0, 2 * math.pi, 33), np.linspace(0, math.pi, 17))
    return dict(type="surface", x=rounded(np.cos(u) * np.sin(v), 3), y=rounded(np.sin(u) * np.sin(v), 3),
                z=rounded(np.cos(v) * np.ones_like(u), 3), opacity=0.15, showscale=False, hoverinfo="skip",
                colorscale=[[0, "#c8c8c8"], [1, "#c8c8c8"]], scene=scene)


def code_axes(d: int, *, domain=(0.0, 1.0), xaxis: str = "xaxis", yaxis: str = "yaxis",
              scene: str = "scene") -> dict:
    """Layout entries for a code panel: equal 2-D axes x1, x2 (d = 2) or a cube 3-D scene (d = 3)."""
    lim = 1.3
    if d == 2:
        y_anchor = "x" + xaxis[5:]  # "xaxis2" -> "x2"
        return {xaxis: dict(domain=list(domain), range=[-lim, lim], title=dict(text="x₁"), zeroline=False),
                yaxis: dict(range=[-lim, lim], title=dict(text="x₂"), scaleanchor=y_anchor, scaleratio=1,
                            zeroline=False, anchor=y_anchor)}
    axis = dict(range=[-lim, lim], showspikes=False)
    return {scene: dict(domain=dict(x=list(domain), y=[0, 1]), aspectmode="cube",
                        xaxis=dict(axis, title=dict(text="x₁")), yaxis=dict(axis, title=dict(text="x₂")),
                        zaxis=dict(axis, title=dict(text="x₃")))}


def gram_trace(G, *, xaxis: str = "x2", yaxis: str = "y2", annotate: bool = True, colorbar_x: float = 1.0) -> dict:
    """Heatmap of a Gram / cosine matrix ``G (K, K)`` on -1..1 (red = +1, blue = -1, like ``plot_gram``)."""
    G = np.asarray(G, dtype=np.float64)
    K = G.shape[0]
    trace = dict(type="heatmap", z=rounded(G, 4), x=list(range(K)), y=list(range(K)), zmin=-1, zmax=1,
                 colorscale="RdBu", xaxis=xaxis, yaxis=yaxis,  # plotly's RdBu: -1 blue, +1 red
                 colorbar=dict(title=dict(text="cos(w_j, w_k)"), x=colorbar_x, len=0.9),
                 hovertemplate="j=%{y}, k=%{x}: %{z:.4f}<extra></extra>")
    if annotate and K <= 6:
        trace["texttemplate"] = "%{z:.2f}"
    return trace


def code_figure(W, *, title: str | None = None, height: int = 420):
    """A plotly ``Figure`` of the code ``W (K, 2)`` or ``(K, 3)`` on the unit circle / sphere.

    In JupyterLab (and on the course website) a 3-D code can be rotated and zoomed with the mouse.
    """
    import plotly.graph_objects as go
    X = unit_rows(W)
    K, d = X.shape
    base = [circle_trace()] if d == 2 else [sphere_trace()]
    layout = dict(code_axes(d), height=height, margin=dict(l=40, r=20, t=50, b=40),
                  title=dict(text=title or f"code: K={K} unit vectors in R^{d}"), uirevision="keep")
    return go.Figure(data=base + code_traces(X), layout=layout)
