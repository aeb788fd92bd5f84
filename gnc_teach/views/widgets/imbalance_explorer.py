"""Imbalance explorer: class sizes, weight decay and depth -> which classes collapse, predicted and trained.

The pure function :func:`imbalance_view` does the work: the closed form (``imbalance.deep_linear_optimum``)
for the bias-free MSE deep linear UFM, and optionally a trained model (``models.deep_linear``, 16
restarts, cached by :func:`trained_run`). :func:`imbalance_explorer` is a thin ipywidgets view over it;
:func:`draw_imbalance_view` draws the same picture without a kernel.
"""
from __future__ import annotations

import functools
import html
import re
import time

import numpy as np

from ..._tensor import check_bool, check_int
from ...imbalance import check_class_sizes, class_fit, collapse_threshold, deep_linear_optimum
from ._common import check_view, show

__all__ = ["parse_sizes", "trained_run", "imbalance_view", "imbalance_label", "draw_imbalance_view",
           "imbalance_explorer"]

AGREE_RTOL = 1e-6  # trained vs predicted lengths, relative (float64 training reaches ~1e-9)


def parse_sizes(text) -> tuple:
    """Class sizes from text such as ``"200, 100, 50, 50"`` (commas or spaces) or from a sequence.

    Raises ValueError/TypeError naming the bad entry (the explorer shows the message instead)."""
    if isinstance(text, str):
        parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
        values = []
        for k, p in enumerate(parts):
            try:
                values.append(int(p))
            except ValueError:
                raise ValueError(f"class size {k} is {p!r}; type positive integers separated by commas, "
                                 "e.g. 200, 100, 50, 50.") from None
        text = values
    return tuple(int(v) for v in check_class_sizes(text, "class sizes"))


@functools.lru_cache(maxsize=128)
def trained_run(n: tuple, lam_W: float, lam_H: float, M: int, restarts: int = 16, seed: int = 0) -> dict:
    """Train the bias-free MSE model once per setting (cached; CPU, float64) and summarise it:
    ``w_norm2``, ``h_norm2``, ``inner`` ``(K,)`` arrays of the best restart, ``collapsed`` (classes whose
    w_k vanished), ``objective``, ``minima`` (list of ``(objective, restarts, rank)``), ``seconds``."""
    from ...models.deep_linear import train_deep_linear_ufm
    r = train_deep_linear_ufm(n, M=M, lam_W=lam_W, lam_H=lam_H, restarts=restarts, seed=seed, device="cpu")
    w2, h2, inner = r.lengths()
    return dict(w_norm2=w2, h_norm2=h2, inner=inner, collapsed=r.minima[0].collapsed, objective=r.objective,
                minima=[(m.objective, len(m.restarts), m.rank) for m in r.minima], seconds=r.seconds)


def imbalance_view(n=(200, 100, 50, 50), lam_W: float = 0.01, lam_H: float = 0.01, M: int = 1, *,
                   train: bool = False, restarts: int = 16, seed: int = 0, grid_points: int = 200) -> dict:
    """Everything the explorer shows, as a dict.

    ``n`` (tuple), ``N``, ``K``, ``lam_W``, ``lam_H``, ``M``; ``optimum`` (the closed form);
    ``threshold`` n*(M) and ``thresholds`` {1: n*(1), 2: n*(2), 3: n*(3)}; ``predicted_collapsed``
    (tuple of classes); ``curve`` ``(sizes, fits)``: the predicted fit <w, h̄> of a class of size s, the
    other classes fixed (log grid from 1 to 2 max n); ``trained`` (:func:`trained_run`'s summary, or
    None when ``train`` is False); ``agree`` (None, or whether training reached the predicted collapse
    pattern and objective, with lengths within ``AGREE_RTOL``).
    """
    n = parse_sizes(n)
    grid_points = check_int(grid_points, "grid_points", minimum=2)
    train = check_bool(train, "train")
    restarts = check_int(restarts, "restarts", minimum=1)
    opt = deep_linear_optimum(n, lam_W, lam_H, M)
    N = opt.N
    sizes = np.geomspace(1, 2 * max(n), grid_points)
    view = dict(n=n, N=N, K=len(n), lam_W=opt.lam_W, lam_H=opt.lam_H, M=opt.M, optimum=opt,
                threshold=opt.threshold, thresholds={m: collapse_threshold(N, lam_W, lam_H, m) for m in (1, 2, 3)},
                predicted_collapsed=tuple(int(k) for k in np.flatnonzero(opt.collapsed)),
                curve=(sizes, class_fit(sizes, N, lam_W, lam_H, M)), trained=None, agree=None)
    if train:
        t = trained_run(n, opt.lam_W, opt.lam_H, opt.M, restarts, seed)
        alive = ~opt.collapsed
        close = all(np.allclose(t[k][alive], getattr(opt, k)[alive], rtol=AGREE_RTOL, atol=0)
                    for k in ("w_norm2", "h_norm2", "inner"))
        view.update(trained=t, agree=bool(close and t["collapsed"] == view["predicted_collapsed"]
                                          and abs(t["objective"] - opt.objective) <= 1e-9 * max(1, opt.objective)))
    return view


def _fmt(v):
    return "0" if v == 0 else f"{v:.6g}"


_KEYS = ("n", "N", "K", "lam_W", "lam_H", "M", "optimum", "threshold", "thresholds", "predicted_collapsed", "curve",
         "trained", "agree")


def imbalance_label(view: dict) -> str:
    """An HTML summary: thresholds, and a table per class of predicted (and trained) lengths."""
    view = check_view(view, _KEYS, made_by="imbalance_view")
    o, t = view["optimum"], view["trained"]
    th = ", ".join(f"M={m}: {v:.4g}" for m, v in view["thresholds"].items())
    head = (f"<b>N = {view['N']}, λ<sub>W</sub> = {view['lam_W']:.3g}, λ<sub>H</sub> = {view['lam_H']:.3g}, "
            f"M = {view['M']}</b>: a class of size n<sub>k</sub> ≤ n* = {view['threshold']:.4g} collapses "
            f"(n* for {th}). Predicted collapsed: {list(view['predicted_collapsed']) or 'none'}.")
    cols = ["class", "n<sub>k</sub>", "‖w<sub>k</sub>‖² pred", "‖h̄<sub>k</sub>‖² pred", "⟨w<sub>k</sub>, h̄<sub>k</sub>⟩ pred"]
    if t is not None:
        cols += ["‖w<sub>k</sub>‖² trained", "⟨w<sub>k</sub>, h̄<sub>k</sub>⟩ trained"]
    rows = []
    for k, nk in enumerate(view["n"]):
        cells = [str(k), str(nk), _fmt(o.w_norm2[k]), _fmt(o.h_norm2[k]), _fmt(o.inner[k])]
        if t is not None:
            cells += [f"{t['w_norm2'][k]:.6g}", f"{t['inner'][k]:.6g}"]
        style = " style='color:#b42318'" if o.collapsed[k] else ""
        rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table = ("<table><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr>" + "".join(rows) + "</table>")
    tail = ""
    if t is not None:
        verdict = ("training agrees with the closed form" if view["agree"] else
                   "training did NOT reach the predicted minimum")
        minima = "; ".join(f"F = {f:.9f} ({c} restart{'s' if c > 1 else ''}, {r} fitted)" for f, c, r in t["minima"])
        tail = (f"<br>Trained ({sum(c for _, c, _ in t['minima'])} restarts, {t['seconds']:.2f} s): {verdict}. "
                f"F trained − F* = {t['objective'] - o.objective:.2e}. Minima reached: {html.escape(minima)}.")
    return head + table + tail


def draw_imbalance_view(view: dict, axes=None):
    """Left: ||w_k||² per class, predicted (bars) and trained (points). Right: the predicted fit
    <w, h̄> of a class against its size (line, log x), the threshold n*, and the classes (points:
    trained if available, else predicted). Returns the two axes."""
    import matplotlib.pyplot as plt
    view = check_view(view, _KEYS, made_by="imbalance_view")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    a1, a2 = axes
    o, t, K = view["optimum"], view["trained"], view["K"]
    ks = np.arange(K)
    a1.bar(ks, o.w_norm2, color=["#d0d0d0" if c else "tab:blue" for c in o.collapsed], label="predicted")
    if t is not None:
        a1.plot(ks, t["w_norm2"], "o", color="tab:orange", label="trained")
    a1.set_xticks(ks, [f"{k}\nn={nk}" for k, nk in enumerate(view["n"])])
    a1.set_xlabel("class k (size n_k)")
    a1.set_ylabel("‖w_k‖²")
    a1.set_title(f"M = {view['M']}: collapsed {list(view['predicted_collapsed']) or 'none'}")
    a1.legend(fontsize=8)
    sizes, fits = view["curve"]
    a2.plot(sizes, fits, "-", color="tab:blue", label="predicted fit of a class of size n")
    a2.axvline(view["threshold"], color="tab:red", ls="--", label=f"n* = {view['threshold']:.3g}")
    pts = t["inner"] if t is not None else o.inner
    a2.plot(view["n"], pts, "o", color="tab:orange" if t is not None else "tab:blue",
            label="trained classes" if t is not None else "classes (predicted)")
    a2.set_xscale("log")
    a2.set_xlabel("class size n (log scale; the other classes fixed)")
    a2.set_ylabel("⟨w, h̄⟩ of the class")
    a2.set_ylim(-0.05, 1.05)
    a2.legend(fontsize=8, loc="upper left")
    return axes


def imbalance_explorer(*, n=(200, 100, 50, 50), lam_W: float = 0.01, lam_H: float = 0.01, M: int = 1,
                       train: bool = False, restarts: int = 16, draw: bool = True):
    """An ipywidgets box: a text field of class sizes, log sliders for λ_W and λ_H, depth M in {1, 2, 3},
    and a "train" checkbox (train the full model, ``restarts`` restarts, cached per setting).

    Carries ``.controls`` (``n``, ``lam_W``, ``lam_H``, ``M``, ``train``), ``.label``, ``.state`` (the latest
    :func:`imbalance_view` dict, kept when the input is invalid), ``.error`` (the message for invalid
    input, else None) and ``.seconds`` (time of the latest update).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    restarts = check_int(restarts, "restarts", minimum=1)
    text = widgets.Text(value=", ".join(str(v) for v in parse_sizes(n)), description="class sizes",
                        continuous_update=False)
    sliders = {name: widgets.FloatLogSlider(value=val, base=10, min=-3, max=-1, step=0.05, description=desc,
                                            continuous_update=False, readout_format=".3g")
               for name, val, desc in (("lam_W", lam_W, "λ_W"), ("lam_H", lam_H, "λ_H"))}
    depth = widgets.ToggleButtons(options=[1, 2, 3], value=M, description="M (layers)")
    train_box = widgets.Checkbox(value=train, description=f"train ({restarts} restarts)")
    label = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([text, depth]), widgets.HBox([sliders["lam_W"], sliders["lam_H"], train_box]),
                        label, out])
    box.controls = dict(n=text, lam_W=sliders["lam_W"], lam_H=sliders["lam_H"], M=depth, train=train_box)
    box.label, box.output, box.state, box.error = label, out, None, None

    def update(change=None):
        t0 = time.perf_counter()
        try:
            state = imbalance_view(text.value, sliders["lam_W"].value, sliders["lam_H"].value, depth.value,
                                   train=train_box.value, restarts=restarts)
        except (ValueError, TypeError) as exc:
            box.error = str(exc)
            label.value = f"<span style='color:#b42318'>{html.escape(box.error)}</span>"
            return
        box.state, box.error = state, None
        label.value = imbalance_label(state)
        if draw:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80)
            draw_imbalance_view(state, axes)
            fig.subplots_adjust(left=0.08, right=0.98, bottom=0.22, top=0.9, wspace=0.28)
            show(out, fig, plt)
        box.seconds = time.perf_counter() - t0

    for w in (text, depth, train_box, *sliders.values()):
        w.observe(update, names="value")
    update()
    return box
