"""Margin explorer (d = 2): the one-vs-rest margins of a unit feature h of class k, and rho_k.

Margin duality (lesson 02): min_{j≠k} <w_k − w_j, h> <= rho_k(W) for every unit h, with equality at
h*_k = (w_k − p_k)/‖w_k − p_k‖, p_k the nearest point of conv{w_j : j≠k}. :func:`margin_view` is the
pure computation; :func:`margin_explorer` a thin ipywidgets view (K, code, class k, angle of h).
"""
from __future__ import annotations

import functools
import math
import time

import numpy as np
import torch

from ..._tensor import as_matrix, check_int
from ._common import check_view, show

__all__ = ["margin_view", "margin_label", "margin_explorer", "demo_code", "draw_margins", "CODES"]

CODES = ("regular polygon", "random code (seed 0)", "perturbed polygon (seed 1)")


def demo_code(name: str = "random code (seed 0)", K: int = 6) -> np.ndarray:
    """A ``(K, 2)`` unit code for the explorer: the regular K-gon, K random points, or a jittered K-gon."""
    from ...geometry import random_sphere, regular_polygon
    K = check_int(K, "K", minimum=2)
    if name == CODES[0]:
        return regular_polygon(K).numpy()
    if name == CODES[1]:
        return random_sphere(K, 2, seed=0).numpy()
    if name == CODES[2]:
        t = 2 * np.pi * np.arange(K) / K + 0.35 * (2 * np.pi / K) * np.random.default_rng(1).uniform(-1, 1, K)
        return np.stack([np.cos(t), np.sin(t)], axis=1)
    raise ValueError(f"name={name!r} is not a demo code; use one of {CODES}.")


def margin_view(W, k: int, h, *, details=None) -> dict:
    """One-vs-rest margins of the unit feature ``h`` (normalised here) for class ``k`` of ``W (K, d)``.

    Returns ``dict(k, h (d,), others (K-1,), margins (K-1,), worst, worst_j, rho_k, p_k (d,), h_star (d,),
    lower, upper, gap)`` with ``gap = rho_k − worst >= 0`` (zero exactly at h = h_star). float64 numpy.
    ``details``: a precomputed ``one_vs_rest_distance(W, return_details=True)`` (saves the QPs).
    """
    from ...margins import margins, one_vs_rest_distance
    W = as_matrix(W, "W", min_rows=2, dtype=torch.float64).cpu()
    K, d = W.shape
    k = check_int(k, "k", minimum=0)
    if k >= K:
        raise ValueError(f"k={k} is not a class of W with K={K} rows; use 0 <= k < K.")
    try:
        h = torch.as_tensor(np.asarray(h, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError):
        raise TypeError(f"h must be a vector of {d} numbers, got {h!r}.") from None
    if h.shape[0] != d or not torch.isfinite(h).all() or float(h.norm()) == 0:
        raise ValueError(f"h must be a finite nonzero vector of length d={d}, got shape {tuple(h.shape)}.")
    h = h / h.norm()
    det = one_vs_rest_distance(W, return_details=True) if details is None else details
    m = np.asarray(margins(W, h, k), dtype=np.float64).reshape(-1)
    others = np.array([j for j in range(K) if j != k])
    i = int(np.argmin(m))
    rho_k = float(det.rho[k])
    return dict(k=k, W=W.numpy(), h=h.numpy(), others=others, margins=m, worst=float(m[i]),
                worst_j=int(others[i]), rho_k=rho_k, p_k=det.p[k].numpy(), h_star=det.h[k].numpy(),
                lower=float(det.lower[k]), upper=float(det.upper[k]), gap=rho_k - float(m[i]))


@functools.lru_cache(maxsize=64)
def _demo(name: str, K: int):
    """(W, certified details) of a demo code, cached: moving the angle slider re-solves nothing."""
    from ...margins import one_vs_rest_distance
    W = demo_code(name, K)
    return W, one_vs_rest_distance(torch.as_tensor(W), return_details=True)


_KEYS = ("k", "W", "h", "others", "margins", "worst", "worst_j", "rho_k", "p_k", "h_star", "lower", "upper", "gap")


def margin_label(view: dict) -> str:
    """One line of HTML: worst margin vs rho_k, and the angle of h*."""
    view = check_view(view, _KEYS, made_by="margin_view")
    hs = view["h_star"]
    theta = math.degrees(math.atan2(hs[1], hs[0])) if len(hs) == 2 else float("nan")
    return (f"class k = {view['k']}: worst margin min<sub>j≠k</sub>⟨w<sub>k</sub>−w<sub>j</sub>, h⟩ = "
            f"{view['worst']:.6f} (against j = {view['worst_j']}) ≤ ρ<sub>k</sub> = {view['rho_k']:.6f}; "
            f"gap {view['gap']:.2e}, zero at h = h*<sub>k</sub> (angle {theta:.2f}°)")


def draw_margins(view: dict, ax=None):
    """Bar chart of <w_k − w_j, h> over j ≠ k with the line rho_k (the best achievable worst margin)."""
    import matplotlib.pyplot as plt
    view = check_view(view, _KEYS, made_by="margin_view")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    colours = ["tab:red" if j == view["worst_j"] else "tab:blue" for j in view["others"]]
    ax.bar([str(j) for j in view["others"]], view["margins"], color=colours)
    ax.axhline(view["rho_k"], color="tab:green", ls="--", label=f"ρ_k = {view['rho_k']:.4f}")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("other class j")
    ax.set_ylabel(r"margin $\langle w_k - w_j, h\rangle$")
    ax.set_title(f"worst margin {view['worst']:.4f} (red)")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def margin_explorer(*, code: str = CODES[1], K: int = 6, k: int = 0, theta: float | None = None,
                    draw: bool = True):
    """An ipywidgets box (d = 2): code dropdown, K, class k, angle of the unit feature h, and a
    button "h = h*". Carries ``.controls``, ``.label``, ``.state`` (:func:`margin_view`'s dict),
    ``.seconds`` (the latest update) and ``.timings`` (its compute / draw split).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    if code not in CODES:
        raise ValueError(f"code={code!r} is not a demo code; use one of {CODES}.")
    K = check_int(K, "K", minimum=3, maximum=12)
    k = check_int(k, "k", minimum=0, maximum=K - 1)
    code_w = widgets.Dropdown(options=list(CODES), value=code, description="code")
    K_w = widgets.IntSlider(value=K, min=3, max=12, description="K", continuous_update=False)
    k_w = widgets.IntSlider(value=k, min=0, max=K - 1, description="class k", continuous_update=False)
    t_w = widgets.FloatSlider(value=0.0, min=-180, max=180, step=0.5, description="angle of h (°)",
                              continuous_update=False, style={"description_width": "initial"})
    best = widgets.Button(description="h = h*_k")
    label = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([code_w, K_w]), widgets.HBox([k_w, t_w, best]), label, out])
    box.controls = dict(code=code_w, K=K_w, k=k_w, theta=t_w, best=best)
    box.label, box.output = label, out

    def update(change=None):
        t0 = time.perf_counter()
        k_w.max = K_w.value - 1  # clamps k_w.value too (that re-enters update once, harmlessly)
        label.value = "computing…"  # a new (code, K) solves K small QPs once; then it is cached
        W, det = _demo(code_w.value, K_w.value)
        a = math.radians(t_w.value)
        box.state = margin_view(W, k_w.value, [math.cos(a), math.sin(a)], details=det)
        label.value = margin_label(box.state)
        t1 = time.perf_counter()
        if draw:
            _redraw(out, box.state, det, plt)
        box.seconds = time.perf_counter() - t0
        box.timings = dict(compute=t1 - t0, draw=time.perf_counter() - t1)

    def to_best(_button=None):
        hs = _demo(code_w.value, K_w.value)[1].h[k_w.value].numpy()
        t_w.value = math.degrees(math.atan2(hs[1], hs[0]))
        update()

    for w in (code_w, K_w, k_w, t_w):
        w.observe(update, names="value")
    best.on_click(to_best)
    if theta is None:
        to_best()
    else:
        t_w.value = theta
        update()
    return box


def _redraw(out, view, details, plt):
    from ..plotting import plot_hull_distance
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.6, 3.4), dpi=72)
    plot_hull_distance(view["W"], view["k"], ax=a1, h=view["h"], details=details)
    draw_margins(view, ax=a2)
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, wspace=0.3)  # fixed: tight_layout is slow
    show(out, fig, plt)
