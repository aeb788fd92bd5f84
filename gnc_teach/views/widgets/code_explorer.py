"""Code explorer: pick an objective (softmax, Tammes, Thomson), K and d; see the code and its numbers.

The pure function :func:`code_view` does the work (from the gallery cache, so it answers in
milliseconds for the stored K <= 30); :func:`code_explorer` is a thin ipywidgets view over it.
"""
from __future__ import annotations

import time

from ..._tensor import check_int
from ...gallery import GRID, KINDS, gallery_entry
from ._common import check_view, show

__all__ = ["code_view", "code_label", "code_explorer", "draw_code"]


def code_view(kind: str = "softmax", K: int = 8, d: int = 3) -> dict:
    """``dict(kind, K, d, W (K,d) ndarray, rho, min_angle, energy, upper_bound, lower_bound, gap,
    rho_star, status, stored)`` for the gallery's ``kind`` code.

    ``rho_star`` is the proved optimum (closed form) or None; ``status`` says "proved optimal" only
    when rho equals it to 1e-9, else "best found".
    """
    from ...margins import known_rho_star
    e = gallery_entry(kind, K, d)
    star = known_rho_star(K, d)
    star = None if star is None else float(star)
    proved = star is not None and abs(e["rho"] - star) <= 1e-9
    return dict(kind=kind, K=int(K), d=int(d), W=e["W"], rho=e["rho"], min_angle=e["min_angle"],
                energy=e["energy"], upper_bound=e["upper_bound"], lower_bound=e["lower_bound"],
                gap=e["gap"], rho_star=star, stored=e["stored"],
                status="proved optimal softmax code" if proved else "best found")


_KEYS = ("kind", "K", "d", "W", "rho", "min_angle", "energy", "upper_bound", "lower_bound", "gap", "rho_star",
         "status")


def code_label(view: dict) -> str:
    """One line of HTML summarising :func:`code_view`'s dict."""
    view = check_view(view, _KEYS, made_by="code_view")
    star = "" if view["rho_star"] is None else f", proved ρ* = {view['rho_star']:.9f}"
    return (f"<b>{view['kind']}</b> code, K = {view['K']}, d = {view['d']}: "
            f"ρ = {view['rho']:.9f} (upper bound {view['upper_bound']:.6f}, gap {view['gap']:.2e}{star}; "
            f"lower bound 1 − max cos = {view['lower_bound']:.9f}) · min angle {view['min_angle']:.4f}° · "
            f"Coulomb energy {view['energy']:.6f} · <i>{view['status']}</i>")


def draw_code(view: dict, ax=None):
    """The code on the unit circle (d = 2) or sphere (d = 3), titled with rho and the minimum angle."""
    from ..plotting import plot_code
    view = check_view(view, _KEYS, made_by="code_view")
    ax = plot_code(view["W"], ax=ax)
    ax.set_title(f"{view['kind']}: K={view['K']}, d={view['d']}, ρ={view['rho']:.4f}, "
                 f"min angle {view['min_angle']:.2f}°")
    return ax


def code_explorer(*, kind: str = "softmax", K: int = 8, d: int = 3, draw: bool = True):
    """An ipywidgets box: objective dropdown, d toggle (2, 3), K slider (2..30); shows the code and numbers.

    The returned ``VBox`` carries ``.controls`` (dict of the widgets), ``.label`` (HTML),
    ``.state`` (the latest :func:`code_view` dict), ``.seconds`` (time of the latest update) and
    ``.timings`` (its compute / draw split; a code not in the gallery is computed once, in seconds).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a code the explorer shows; use one of {KINDS}.")
    if d not in (2, 3):
        raise ValueError(f"d={d!r}: the explorer draws codes on the circle (d=2) or the sphere (d=3).")
    K = check_int(K, "K", minimum=2, maximum=min(GRID[2], GRID[3]))
    kind_w = widgets.Dropdown(options=list(KINDS), value=kind, description="objective")
    d_w = widgets.ToggleButtons(options=[2, 3], value=d, description="d")
    K_w = widgets.IntSlider(value=K, min=2, max=min(GRID[2], GRID[3]), description="K",
                            continuous_update=False)
    label = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([kind_w, d_w]), K_w, label, out])
    box.controls, box.label, box.output = dict(kind=kind_w, K=K_w, d=d_w), label, out

    def update(change=None):
        t0 = time.perf_counter()
        label.value = "computing…"
        box.state = code_view(kind_w.value, K_w.value, d_w.value)
        label.value = code_label(box.state)
        t1 = time.perf_counter()
        if draw:
            _redraw(out, box.state, plt)
        box.seconds = time.perf_counter() - t0
        box.timings = dict(compute=t1 - t0, draw=time.perf_counter() - t1)

    for w in (kind_w, d_w, K_w):
        w.observe(update, names="value")
    update()
    return box


def _redraw(out, view, plt):
    fig = plt.figure(figsize=(4.2, 4.2), dpi=80)
    ax = fig.add_subplot(111, projection="3d" if view["d"] == 3 else None)
    draw_code(view, ax=ax)
    show(out, fig, plt)



