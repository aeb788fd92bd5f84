"""Twin of the imbalance explorer (lesson 07): λ_W × λ_H × depth M × train, for one list of class sizes.

Every state is :func:`gnc_teach.views.widgets.imbalance_explorer.imbalance_view`: the closed form of the
bias-free MSE deep linear UFM (computed when the twin is built, milliseconds each) and, with *train*
on, the trained model (16 restarts, ~0.3 s per setting). The trained runs at the explorer's default
class sizes over the twin's λ grid are stored in ``gnc_teach/data/imbalance_sweep.json`` (``python -m
gnc_teach.views.twins.imbalance --rebuild``; tests recompute one and compare); other class sizes are
trained when the twin is built. Drawn with plotly like :func:`draw_imbalance_view`, captioned with
:func:`imbalance_label`. The class sizes are fixed on the site (the live explorer takes any).
"""
from __future__ import annotations

import inspect
import sys

from .figures import COLOURS, significant
from .stored import StoredSweep
from .twin import Control, Twin

__all__ = ["LAMBDAS", "DEPTHS", "SWEEP", "sweep_params", "imbalance_state", "imbalance_twin"]

#: the λ_W and λ_H values of the twin: the widget's slider range 1e-3..1e-1, with the lesson's values
LAMBDAS = (0.001, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1)
DEPTHS = (1, 2, 3)
_LEFT, _RIGHT = (0.0, 0.42), (0.56, 1.0)
_CURVE_POINTS = 80  # the fit against the class size (the widget draws 200; a smooth curve needs fewer)


def _defaults() -> dict:
    from ..widgets.imbalance_explorer import imbalance_explorer, imbalance_view
    sig, view_sig = inspect.signature(imbalance_explorer).parameters, inspect.signature(imbalance_view).parameters
    return dict(n=list(sig["n"].default), restarts=sig["restarts"].default, seed=view_sig["seed"].default)


def sweep_params() -> dict:
    """The explorer's default class sizes, restarts and seed, and the twin's λ and depth grid."""
    return dict(_defaults(), lambdas=list(LAMBDAS), depths=list(DEPTHS))


def _trained(n, lam_W, lam_H, M, restarts, seed) -> dict:
    """The trained part of :func:`imbalance_view` (``trained`` summary and ``agree``) at one setting."""
    from ..widgets.imbalance_explorer import imbalance_view
    view = imbalance_view(n, lam_W, lam_H, M, train=True, restarts=restarts, seed=seed)
    return dict(lam_W=lam_W, lam_H=lam_H, M=M, trained=view["trained"], agree=view["agree"])


def _train(params: dict) -> list[dict]:
    return [_trained(tuple(params["n"]), a, b, M, params["restarts"], params["seed"])
            for M in params["depths"] for a in params["lambdas"] for b in params["lambdas"]]


SWEEP = StoredSweep("imbalance_sweep.json", "gnc_teach.views.twins.imbalance", sweep_params, _train)


def imbalance_state(view: dict, curve: str | None = None) -> dict:
    """The twin's state of one :func:`imbalance_view` dict: ‖w_k‖² per class, predicted (bars; grey when
    the class collapses) and trained (points), and the fit ⟨w, h̄⟩ of a class against its size with the
    threshold n* and the classes; ``curve``: the name of a shared trace holding that fit."""
    from ..widgets.imbalance_explorer import imbalance_label
    if not isinstance(view, dict) or not {"optimum", "trained", "n"} <= set(view):
        raise TypeError(f"view must be an imbalance_view(...) dict, got {type(view).__name__}.")
    if curve is not None and not isinstance(curve, str):
        raise TypeError(f"curve must be the name of a shared trace (str) or None, got {type(curve).__name__}.")
    o, t, n = view["optimum"], view["trained"], view["n"]
    names = [f"{k} (n={nk})" for k, nk in enumerate(n)]
    data = [dict(type="bar", x=names, y=significant(o.w_norm2, 6), name="predicted ‖w_k‖²",
                 marker=dict(color=["#d0d0d0" if c else COLOURS[0] for c in o.collapsed]))]
    if t is not None:
        data.append(dict(type="scatter", x=names, y=significant(t["w_norm2"], 6), mode="markers",
                         name="trained ‖w_k‖²", marker=dict(color=COLOURS[1], size=10)))
    data.append(curve or curve_trace(view))
    points = t["inner"] if t is not None else o.inner
    data.append(dict(type="scatter", x=list(n), y=significant(points, 6), mode="markers", xaxis="x2", yaxis="y2",
                     name="trained classes" if t is not None else "classes (predicted)",
                     marker=dict(color=COLOURS[1] if t is not None else COLOURS[0], size=9)))
    th = float(view["threshold"])
    layout = dict(title=dict(text=f"M = {view['M']}: collapsed {list(view['predicted_collapsed']) or 'none'}"),
                  shapes=[dict(type="line", xref="x2", yref="y2 domain", x0=th, x1=th, y0=0, y1=1,
                               line=dict(color=COLOURS[3], dash="dash"))],
                  annotations=[dict(text=f"n* = {th:.3g}", x=0.99, y=1.0, xref="x2 domain", yref="y2 domain",
                                    showarrow=False, xanchor="right", font=dict(color=COLOURS[3]))])
    return dict(data=data, layout=layout, html=imbalance_label(view))


def curve_trace(view: dict) -> dict:
    """The predicted fit ⟨w, h̄⟩ of a class of size s (the other classes fixed), on the right panel."""
    sizes, fits = view["curve"]
    return dict(type="scatter", x=significant(sizes, 5), y=significant(fits, 5), mode="lines", xaxis="x2",
                yaxis="y2", name="predicted fit of a class of size n", line=dict(color=COLOURS[0]))


def imbalance_twin(*, n=None, lam_W: float = 0.01, lam_H: float = 0.01, M: int = 1, train: bool = False,
                   restarts: int | None = None) -> Twin:
    """Kernel-free twin of :func:`~gnc_teach.views.widgets.imbalance_explorer`: λ_W, λ_H over
    :data:`LAMBDAS`, M in 1, 2, 3 and train off/on, for the class sizes ``n`` (default: the explorer's,
    whose trained runs are stored; other sizes, or other ``restarts``, train every setting now)."""
    from ..widgets.imbalance_explorer import imbalance_view, parse_sizes
    params = sweep_params()
    from ..._tensor import check_int, check_positive
    lam_W, lam_H = check_positive(lam_W, "lam_W"), check_positive(lam_H, "lam_H")  # the nearest grid value
    M = check_int(M, "M", minimum=min(DEPTHS), maximum=max(DEPTHS))
    n = tuple(params["n"]) if n is None else parse_sizes(n)
    restarts = params["restarts"] if restarts is None else check_int(restarts, "restarts", minimum=1)
    settings = [(a, b, m) for m in DEPTHS for a in LAMBDAS for b in LAMBDAS]
    closed = {s: imbalance_view(n, *s, grid_points=_CURVE_POINTS) for s in settings}
    if list(n) == params["n"] and restarts == params["restarts"]:
        trained = {(r["lam_W"], r["lam_H"], r["M"]): r for r in SWEEP.load()["runs"]}
    else:
        trained = {s: _trained(n, *s, restarts, params["seed"]) for s in settings}
    shared = {f"fit {a:g} {b:g} {m}": curve_trace(closed[(a, b, m)]) for a, b, m in settings}

    def state(lam_W, lam_H, M, train):
        view = closed[(lam_W, lam_H, M)]
        if train:
            r = trained[(lam_W, lam_H, M)]
            view = dict(view, trained=r["trained"], agree=r["agree"])
        return imbalance_state(view, curve=f"fit {lam_W:g} {lam_H:g} {M}")

    lams = tuple(f"{v:g}" for v in LAMBDAS)
    controls = [Control("lam_W", "λ_W", LAMBDAS, labels=lams), Control("lam_H", "λ_H", LAMBDAS, labels=lams),
                Control("M", "depth M", DEPTHS, kind="select", labels=tuple(f"M = {m}" for m in DEPTHS)),
                Control("train", "trained model", (False, True), kind="select",
                        labels=("off: closed form only", f"on: closed form and trained ({restarts} restarts)"))]
    layout = dict(height=440, margin=dict(l=60, r=20, t=60, b=60), uirevision="keep", barmode="overlay",
                  xaxis=dict(domain=list(_LEFT), type="category", title=dict(text="class k (size n_k)")),
                  yaxis=dict(title=dict(text="‖w_k‖²")),
                  xaxis2=dict(domain=list(_RIGHT), anchor="y2", type="log",
                              title=dict(text="class size n (log scale; the other classes fixed)")),
                  yaxis2=dict(anchor="x2", range=[-0.05, 1.05], title=dict(text="⟨w, h̄⟩ of the class")),
                  legend=dict(orientation="h", y=-0.25, font=dict(size=10)))
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}.")
    initial = dict(lam_W=lam_W, lam_H=lam_H, M=M, train=train)
    return Twin.build("imbalance explorer", controls, state, initial=initial, layout=layout, shared=shared,
                      note=f"Class sizes {', '.join(map(str, n))} (the live explorer takes any); the trained "
                           "runs were made once per setting when the package data was made.")


def _describe(data) -> list[str]:
    runs = data["runs"]
    bad = [r for r in runs if not r["agree"]]
    return [f"{len(runs)} trained settings for {data['params']}", f"{len(bad)} disagree with the closed form"] + \
        [f"  lam_W={r['lam_W']:g} lam_H={r['lam_H']:g} M={r['M']}: minima {r['trained']['minima']}" for r in bad]


if __name__ == "__main__":
    sys.exit(SWEEP.main(describe=_describe))
