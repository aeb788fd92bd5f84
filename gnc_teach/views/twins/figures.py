"""Plotly building blocks shared by the twins: codes on the circle / sphere, Gram heatmaps.

Every function returns plain plotly dicts (traces, layout pieces), so that thousands of precomputed
states stay cheap to build and serialise; :func:`code_figure` wraps them in a ``go.Figure`` for a
notebook, where JupyterLab renders it and a 3-D code can be rotated with the mouse.
Numbers are rounded to 5 decimals: the figures are pictures, the certified values are in the captions.
"""
from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["COLOURS", "rounded", "significant", "log_floor", "unit_rows", "code_traces", "circle_trace", "sphere_trace", "code_axes",
           "gram_trace", "code_figure"]

# matplotlib's tab10, so that class k has the same colour in the static figures and in the twins
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


def _floats(x, name: str) -> np.ndarray:
    """``x`` as a float64 array, or a TypeError naming ``name`` (text, objects, ragged lists)."""
    try:
        return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers (an array or nested lists of floats), got {type(x).__name__}.") from None


def _digits(digits) -> int:
    if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
        raise ValueError(f"digits must be an int in 1..17, got {digits!r}.")
    return digits


def rounded(x, digits: int = 5):
    """``x`` (array-like) as nested lists of floats rounded to ``digits`` (compact JSON)."""
    return np.round(_floats(x, "x"), _digits(digits)).tolist()


def significant(values, digits: int = 5) -> list:
    """A sequence of floats rounded to ``digits`` significant digits (for curves on log axes, where
    :func:`rounded`'s fixed decimals would erase small values)."""
    digits = _digits(digits)
    return [float(f"{v:.{digits}g}") for v in _floats(list(values), "values").ravel().tolist()]


def log_floor(values, floor: float = 1e-16) -> list:
    """``values`` clipped below at ``floor`` and rounded (:func:`significant`): a curve for a log axis,
    where an exact zero (a metric that reached machine precision) is drawn at ``floor``."""
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 < floor < math.inf:
        raise ValueError(f"floor must be a positive number (the smallest value a log axis shows), got {floor!r}.")
    return significant(np.maximum(_floats(list(values), "values"), floor))


def unit_rows(W) -> np.ndarray:
    """Rows of ``W (K, d)`` scaled to unit length, as float64 numpy (zero rows refused)."""
    X = _floats(W, "W")
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
    X = unit_rows(W) if normalize else _floats(W, "W")
    if X.ndim != 2 or X.shape[1] not in (2, 3):
        raise ValueError(f"W must be a (K, d) code with d = 2 or 3 (drawn on a circle or sphere), got shape {X.shape}.")
    K, d = X.shape
    _axes(xaxis=xaxis, yaxis=yaxis, scene=scene)
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


def _axes(**names) -> None:
    """Plotly axis references: ``xaxis="x2"``, ``yaxis="y"``, ``scene="scene2"`` (layout keys "xaxis2"... too)."""
    for key, value in names.items():
        prefix = {"xaxis": "x", "yaxis": "y", "scene": "scene"}[key]
        if not (isinstance(value, str) and re.fullmatch(rf"({prefix}|{key})\d*", value)):
            raise ValueError(f"{key} must name a plotly axis such as {prefix!r} or {prefix + '2'!r}, got {value!r}.")


def circle_trace(*, xaxis: str = "x", yaxis: str = "y") -> dict:
    """The unit circle (grey)."""
    _axes(xaxis=xaxis, yaxis=yaxis)
    t = np.linspace(0, 2 * math.pi, 121)
    return dict(type="scatter", x=rounded(np.cos(t), 4), y=rounded(np.sin(t), 4), mode="lines",
                line=dict(color="#bbb", width=1), hoverinfo="skip", showlegend=False, xaxis=xaxis, yaxis=yaxis)


def sphere_trace(*, scene: str = "scene") -> dict:
    """A translucent unit sphere (a coarse surface: light to ship, enough to see the points on it)."""
    _axes(scene=scene)
    u, v = np.meshgrid(np.linspace(0, 2 * math.pi, 33), np.linspace(0, math.pi, 17))
    return dict(type="surface", x=rounded(np.cos(u) * np.sin(v), 3), y=rounded(np.sin(u) * np.sin(v), 3),
                z=rounded(np.cos(v) * np.ones_like(u), 3), opacity=0.15, showscale=False, hoverinfo="skip",
                colorscale=[[0, "#c8c8c8"], [1, "#c8c8c8"]], scene=scene)


def code_axes(d: int, *, domain=(0.0, 1.0), xaxis: str = "xaxis", yaxis: str = "yaxis",
              scene: str = "scene") -> dict:
    """Layout entries for a code panel: equal 2-D axes x1, x2 (d = 2) or a cube 3-D scene (d = 3)."""
    if d not in (2, 3) or isinstance(d, bool):
        raise ValueError(f"d must be 2 or 3 (a circle or a sphere), got {d!r}.")
    _axes(xaxis=xaxis, yaxis=yaxis, scene=scene)
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
    G = _floats(G, "G")
    if G.ndim != 2 or G.shape[0] != G.shape[1]:
        raise ValueError(f"G must be a square (K, K) matrix, got shape {G.shape}.")
    _axes(xaxis=xaxis, yaxis=yaxis)
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
