"""τ explorer: how the temperature of the spherical UFM moves ρ(W) towards the best code (lesson 03).

For each τ on a fixed log grid the spherical UFM (``ufm.train_spherical_ufm``) is trained once and its
summary (GNC metrics, ρ, the smallest margin, the metric trajectories) is cached (:func:`tau_run`,
``lru_cache``). :func:`tau_view` is the pure lookup the widget shows; :func:`tau_explorer` wires a log
slider that snaps to the grid and a "train" button that fills the cache, so that moving the slider
afterwards only reads the cache and redraws.
"""
from __future__ import annotations

import functools
import math
import time

import torch

from ..._tensor import check_int, check_positive, check_type
from ._common import check_view, show

__all__ = ["TAU_GRID", "snap_tau", "tau_run", "summarize", "is_trained", "tau_view", "view_from_sweep",
           "tau_label", "draw_tau_view", "tau_explorer"]

# 1, 10^-0.25, ..., 10^-1.5 ≈ 0.0316: seven temperatures, evenly spaced in log τ.
TAU_GRID = tuple(10.0 ** (-i / 4) for i in range(7))


def snap_tau(tau, grid=TAU_GRID) -> float:
    """The grid value nearest to ``tau`` in log scale (the slider only ever shows trained temperatures)."""
    tau = check_positive(tau, "tau")
    return min(grid, key=lambda g: abs(math.log(g) - math.log(tau)))


@functools.lru_cache(maxsize=256)
def tau_run(tau: float, K: int = 8, d: int = 3, n: int = 5, steps: int = 1000, seed: int = 0) -> dict:
    """Train the spherical UFM at ``tau`` once (cached) and summarise it.

    Returns floats ``rho`` (= GNC2 = ρ(Ŵ)), ``gnc1``, ``gnc3`` (centred, the paper's experimental
    metric), ``gnc3_uncentred``, ``gnc3_margin`` (the theory's; see :mod:`gnc_teach.metrics`),
    ``cos_wy_h`` (mean <w_y, h>),
    ``min_margin`` (smallest per-sample margin; −HardMax), ``loss`` (final mean CE), ``seconds``, and
    ``history`` (the trainer's metric trajectories). CPU, float64.
    """
    from ..._tensor import one_cpu_thread
    from ...models.ufm import train_spherical_ufm
    with one_cpu_thread():
        res = train_spherical_ufm(K, d, n, tau, steps=steps, seed=seed, device="cpu", dtype=torch.float64,
                                  record_every=max(1, steps // 40))
    return summarize(res, tau)


def summarize(res, tau: float) -> dict:
    """:func:`tau_run`'s summary of a ``UFMResult`` (also used for the lesson's static figure)."""
    from ... import metrics
    from ...hardmax import sample_margins
    from ...margins import rho as rho_of
    from ...models.ufm import UFMResult
    check_type(res, UFMResult, "res", what="a UFMResult (from train_spherical_ufm)")
    tau = check_positive(tau, "tau")
    W, H = (t.detach().cpu().to(torch.float64) for t in (res.W, res.H))
    y = res.y.detach().cpu().long()
    return dict(tau=tau, rho=float(rho_of(W / W.norm(dim=1, keepdim=True))), gnc1=metrics.gnc1(H, y, K=W.shape[0]),
                gnc3=metrics.gnc3(W, H, y), gnc3_uncentred=metrics.gnc3_uncentred(W, H, y),
                gnc3_margin=metrics.gnc3_margin(W, H, y), cos_wy_h=float((W[y] * H).sum(1).mean()),
                min_margin=float(sample_margins(W, H, y).min()), loss=res.loss[-1], seconds=res.seconds,
                history={k: list(v) for k, v in res.history.items()})


def view_from_sweep(sweep, index: int = -1) -> dict:
    """A :func:`tau_view`-style dict built from a ``hardmax.tau_sweep`` result (its ``index``-th τ selected),
    so that :func:`draw_tau_view` draws the explorer's picture without a kernel."""
    from ...hardmax import TauSweep
    check_type(sweep, TauSweep, "sweep", what="a TauSweep (from gnc_teach.hardmax.tau_sweep)")
    index = check_int(index, "index")
    if not -len(sweep.taus) <= index < len(sweep.taus):
        raise ValueError(f"index={index} is not one of the sweep's {len(sweep.taus)} temperatures.")
    i = range(len(sweep.taus))[index]
    return dict(tau=sweep.taus[i], trained=True, run=summarize(sweep.results[i], sweep.taus[i]),
                curve=sorted(zip(sweep.taus, sweep.rho), reverse=True), rho_best=sweep.rho_best,
                K=sweep.K, d=sweep.d, n=sweep.n)


def _key(K, d, n, steps, seed):
    return (check_int(K, "K", minimum=2), check_int(d, "d", minimum=1), check_int(n, "n", minimum=1),
            check_int(steps, "steps", minimum=1), check_int(seed, "seed", minimum=0))


def is_trained(tau, *, K=8, d=3, n=5, steps=1000, seed=0, grid=TAU_GRID) -> bool:
    """Whether :func:`tau_run` already holds the grid temperature nearest to ``tau``."""
    K, d, n, steps, seed = _key(K, d, n, steps, seed)
    return (snap_tau(tau, grid), K, d, n, steps, seed) in _DONE


# lru_cache has no public membership test: remember the (τ, K, d, n, steps, seed) runs that completed
_DONE: set = set()


def _run(tau, K, d, n, steps, seed):
    out = tau_run(tau, K, d, n, steps, seed)
    _DONE.add((tau, K, d, n, steps, seed))
    return out


def tau_view(tau, *, K: int = 8, d: int = 3, n: int = 5, steps: int = 1000, seed: int = 0,
             grid=TAU_GRID, train: bool = True) -> dict:
    """Everything the explorer shows for the grid temperature nearest ``tau``.

    Returns ``dict(tau, trained, run, curve, rho_best, K, d, n)``: ``run`` is :func:`tau_run`'s summary
    (``None`` if not trained and ``train=False``), ``curve`` the list of ``(τ, ρ)`` over the trained grid
    points (descending τ), ``rho_best`` the proved or best known ρ for (d, K) or ``None``.
    """
    from ...hardmax import best_known_rho
    K, d, n, steps, seed = _key(K, d, n, steps, seed)
    t = snap_tau(tau, grid)
    trained = is_trained(t, K=K, d=d, n=n, steps=steps, seed=seed, grid=grid)
    run = _run(t, K, d, n, steps, seed) if (trained or train) else None
    curve = [(g, tau_run(g, K, d, n, steps, seed)["rho"]) for g in sorted(grid, reverse=True)
             if (g, K, d, n, steps, seed) in _DONE]
    return dict(tau=t, trained=run is not None, run=run, curve=curve, rho_best=best_known_rho(K, d),
                K=K, d=d, n=n)


_KEYS = ("tau", "trained", "run", "curve", "rho_best", "K", "d", "n")


def tau_label(view: dict) -> str:
    """A small HTML table of the GNC metrics at the selected τ, and ρ against the best value."""
    t = check_view(view, _KEYS, made_by="tau_view")["tau"]
    if view["run"] is None:
        return (f"τ = {t:.4g} (1/τ = {1 / t:.3g}): not trained yet. Press <b>train</b> to train the whole "
                "τ grid once; the slider then only reads the cache.")
    r, best = view["run"], view["rho_best"]
    vs = "" if best is None else f" &nbsp; (best known {best:.6f}, gap {best - r['rho']:.2e})"
    rows = [("GNC1 tr(Σ<sub>W</sub>Σ<sub>B</sub><sup>†</sup>)/K", f"{r['gnc1']:.2e}"),
            ("GNC2 = ρ(W)", f"{r['rho']:.6f}{vs}"),
            ("GNC3 centred (the paper's experiments): mean 1 − cos(w<sub>k</sub>, μ<sub>k</sub> − μ<sub>G</sub>)",
             f"{r['gnc3']:.2e}"),
            ("GNC3 uncentred: mean 1 − cos(w<sub>k</sub>, μ<sub>k</sub>)", f"{r['gnc3_uncentred']:.2e}"),
            ("GNC3 margin (the theory's): mean 1 − cos(μ<sub>k</sub>, h*<sub>k</sub>)", f"{r['gnc3_margin']:.2e}"),
            ("mean ⟨w<sub>y</sub>, h⟩", f"{r['cos_wy_h']:.4f}"),
            ("smallest margin min<sub>i</sub> min<sub>j≠y</sub>⟨w<sub>y</sub>−w<sub>j</sub>, h<sub>i</sub>⟩",
             f"{r['min_margin']:.6f}"),
            ("final CE", f"{r['loss']:.4g}")]
    body = "".join(f"<tr><td style='text-align:left'>{a}</td><td style='text-align:left'>{b}</td></tr>"
                   for a, b in rows)
    return (f"<b>τ = {t:.4g}</b> (official code's 'temperature' 1/τ = {1 / t:.3g}), K={view['K']}, "
            f"d={view['d']}, n={view['n']}<table>{body}</table>")


def draw_tau_view(view: dict, axes=None):
    """Left: ρ(W) against τ over the trained grid (log x) with the best known ρ; right: the GNC metric
    trajectories of the selected run. Returns the two axes."""
    import matplotlib.pyplot as plt
    view = check_view(view, _KEYS, made_by="tau_view")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    a1, a2 = axes
    if view["curve"]:
        ts, rs = zip(*view["curve"])
        a1.plot(ts, rs, "o-", label="ρ(W) after training")
    if view["run"] is not None:
        a1.plot([view["tau"]], [view["run"]["rho"]], "o", ms=11, mfc="none", mec="tab:red", label="selected τ")
    if view["rho_best"] is not None:
        a1.axhline(view["rho_best"], color="tab:green", ls="--", label=f"best known ρ = {view['rho_best']:.5f}")
    a1.set_xscale("log")
    # few ticks, no minor ticks: log axes otherwise create dozens of tick artists and rendering dominates
    from matplotlib.ticker import LogLocator, NullLocator
    a1.xaxis.set_minor_locator(NullLocator())
    a1.set_xlabel("temperature τ (log scale)")
    a1.set_ylabel("ρ(W) = GNC2")
    if a1.get_legend_handles_labels()[0]:
        a1.legend(fontsize=8, loc="lower left")
    if view["run"] is not None:
        h = view["run"]["history"]
        for key, name in (("gnc1", "GNC1"), ("gnc3", "GNC3 (centred)")):
            a2.semilogy(h["step"], [max(v, 1e-16) for v in h[key]], label=name)
        a2.semilogy(h["step"], [max(1 - v, 1e-16) for v in h["cos_wy_h"]], label="1 − mean⟨w_y, h⟩")
        a2.legend(fontsize=8)
        a2.yaxis.set_major_locator(LogLocator(numticks=5))
        a2.yaxis.set_minor_locator(NullLocator())
    a2.set_xlabel("training step")
    a2.set_ylabel("metric (log scale)")
    a2.set_title(f"trajectories at τ = {view['tau']:.3g}")
    return axes


def tau_explorer(*, K: int = 8, d: int = 3, n: int = 5, steps: int = 1000, seed: int = 0, grid=TAU_GRID,
                 tau: float | None = None, draw: bool = True):
    """An ipywidgets box: a log-scale τ slider that snaps to ``grid``, a "train" button that trains every
    grid τ once (with a progress bar), a metrics table and a figure (:func:`draw_tau_view`).

    Carries ``.controls`` (``tau``, ``train``), ``.progress``, ``.label``, ``.state`` (:func:`tau_view`'s
    dict), ``.errors`` (τ -> message for runs that failed; the others still train), ``.seconds`` (time to
    update the metrics table after a slider move) and ``.draw_seconds`` (the same
    including the figure).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    K, d, n, steps, seed = _key(K, d, n, steps, seed)
    grid = tuple(sorted((check_positive(g, "grid value") for g in grid), reverse=True))
    lo, hi = math.log10(grid[-1]), math.log10(grid[0])
    step = (hi - lo) / max(1, len(grid) - 1) or 0.25
    slider = widgets.FloatLogSlider(value=grid[0] if tau is None else snap_tau(tau, grid), base=10, min=lo,
                                    max=hi, step=step, description="τ", continuous_update=False,
                                    readout_format=".3g")
    button = widgets.Button(description="train", tooltip=f"train the spherical UFM at all {len(grid)} τ values")
    progress = widgets.IntProgress(value=0, min=0, max=len(grid), description="trained")
    label = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([slider, button, progress]), label, out])
    box.controls, box.progress, box.label, box.output = dict(tau=slider, train=button), progress, label, out
    box.errors = {}
    opts = dict(K=K, d=d, n=n, steps=steps, seed=seed, grid=grid)

    def update(change=None):
        t0 = time.perf_counter()
        snapped = snap_tau(slider.value, grid)
        if abs(snapped - slider.value) > 1e-12 * snapped:
            slider.value = snapped  # re-enters update once with the grid value
            return
        box.state = tau_view(snapped, train=False, **opts)
        progress.value = len(box.state["curve"])
        label.value = tau_label(box.state)
        box.seconds = time.perf_counter() - t0  # the table is up to date here; the figure follows
        if draw:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80)
            draw_tau_view(box.state, axes)
            fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.28)  # tight_layout is slow
            show(out, fig, plt)
        box.draw_seconds = time.perf_counter() - t0

    def train(_button=None):
        button.disabled = True
        box.errors = {}
        for i, t in enumerate(grid):
            label.value = f"training τ = {t:.3g} ({i + 1}/{len(grid)})…"
            try:
                tau_view(t, train=True, **opts)
            except Exception as exc:  # keep going; ipywidgets would swallow it silently in a callback
                box.errors[t] = f"{type(exc).__name__}: {exc}"
            progress.value = i + 1
        button.disabled = False
        update()
        if box.errors:
            label.value += "<br>training failed at τ = " + ", ".join(
                f"{t:.3g} ({msg})" for t, msg in box.errors.items())

    slider.observe(update, names="value")
    button.on_click(train)
    update()
    return box



