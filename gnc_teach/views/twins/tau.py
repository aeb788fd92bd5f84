"""Twin of the τ explorer (lesson 03): a spherical-UFM τ sweep, precomputed and shipped as data.

Training the explorer's seven temperatures takes ~10 s on a CPU (more on a cold numba cache), too slow
for every site build, so the summaries of :func:`gnc_teach.views.widgets.tau_explorer.tau_run` at the
explorer's defaults are stored in ``gnc_teach/data/tau_sweep.json``; ``python -m
gnc_teach.views.twins.tau --rebuild`` recomputes them (tests check that the stored runs still match the
trainer). Each state is the explorer's :func:`tau_view`-style dict, drawn with plotly and captioned
with :func:`tau_label`.
"""
from __future__ import annotations

import inspect
import sys

from .figures import COLOURS
from .stored import StoredSweep
from .twin import Control, Twin

__all__ = ["SWEEP", "DATA_PATH", "sweep_params", "load_sweep", "rebuild", "tau_twin", "tau_state"]

_PARAMS = ("K", "d", "n", "steps", "seed", "grid")
_LEFT, _RIGHT = (0.0, 0.42), (0.58, 1.0)


def sweep_params() -> dict:
    """The τ explorer's defaults (K, d, n, steps, seed, grid): the sweep the twin must show."""
    from ..widgets.tau_explorer import tau_explorer
    sig = inspect.signature(tau_explorer).parameters
    return {p: (list(sig[p].default) if p == "grid" else sig[p].default) for p in _PARAMS}


def _train(params: dict) -> list[dict]:
    """Every τ of the grid at the explorer's defaults (CPU, float64), as :func:`tau_run` summarises it."""
    from ..widgets.tau_explorer import tau_run
    runs = [tau_run(t, params["K"], params["d"], params["n"], params["steps"], params["seed"])
            for t in params["grid"]]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in runs]  # timings are not reproducible


SWEEP = StoredSweep("tau_sweep.json", "gnc_teach.views.twins.tau", sweep_params, _train)
DATA_PATH = SWEEP.path


def rebuild(path=None):
    """Train every τ of the explorer's grid at its defaults and write the summaries."""
    return SWEEP.rebuild(path)


def load_sweep(path=None) -> dict:
    """The stored sweep ``{"params": ..., "runs": [tau_run summary per grid τ]}``."""
    return SWEEP.load(path)


def _view(run: dict, data: dict) -> dict:
    from ...hardmax import best_known_rho
    p = data["params"]
    curve = sorted(((r["tau"], r["rho"]) for r in data["runs"]), reverse=True)
    return dict(tau=run["tau"], trained=True, run=run, curve=curve, rho_best=best_known_rho(p["K"], p["d"]),
                K=p["K"], d=p["d"], n=p["n"])


def tau_state(tau: float) -> dict:
    """The twin's state at a grid τ: ρ(W) against τ with the selected τ marked, and that run's trajectories."""
    from ..widgets.tau_explorer import tau_label
    data = load_sweep()
    run = next((r for r in data["runs"] if r["tau"] == tau), None)
    if run is None:
        raise ValueError(f"tau={tau!r} is not a temperature of the stored sweep {[r['tau'] for r in data['runs']]}.")
    view = _view(run, data)
    ts, rs = zip(*view["curve"])
    traces = [dict(type="scatter", x=list(ts), y=list(rs), mode="lines+markers", name="ρ(W) after training",
                   line=dict(color=COLOURS[0])),
              dict(type="scatter", x=[tau], y=[run["rho"]], mode="markers", name="selected τ",
                   marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(color=COLOURS[3], width=2)))]
    if view["rho_best"] is not None:
        traces.append(dict(type="scatter", x=[min(ts), max(ts)], y=[view["rho_best"]] * 2, mode="lines",
                           name=f"best known ρ = {view['rho_best']:.5f}", line=dict(color=COLOURS[2], dash="dash")))
    h = run["history"]
    for i, (key, vals) in enumerate((("gnc1", h["gnc1"]), ("gnc3", h["gnc3"]),
                                     ("1 − mean⟨w_y, h⟩", [1 - v for v in h["cos_wy_h"]]))):
        traces.append(dict(type="scatter", x=h["step"], y=[max(v, 1e-16) for v in vals], mode="lines", name=key,
                           xaxis="x2", yaxis="y2", line=dict(color=COLOURS[i + 1])))
    return dict(data=traces, layout=dict(title=dict(text=f"τ = {tau:.3g}: trajectories on the right")),
                html=tau_label(view))


def tau_twin(tau: float | None = None) -> Twin:
    """Kernel-free twin of :func:`~gnc_teach.views.widgets.tau_explorer`: a slider over the explorer's τ grid."""
    from ..._tensor import check_positive
    tau = None if tau is None else check_positive(tau, "tau")  # the nearest temperature of the grid
    grid = sorted(sweep_params()["grid"], reverse=True)
    control = Control("tau", "τ", tuple(grid), labels=tuple(f"{t:.3g}" for t in grid))
    layout = dict(height=420, margin=dict(l=60, r=20, t=60, b=50), uirevision="keep",
                  xaxis=dict(domain=list(_LEFT), type="log", title=dict(text="temperature τ (log scale)")),
                  yaxis=dict(title=dict(text="ρ(W) = GNC2")),
                  xaxis2=dict(domain=list(_RIGHT), anchor="y2", title=dict(text="training step")),
                  yaxis2=dict(anchor="x2", type="log", title=dict(text="metric (log scale)"), exponentformat="power"),
                  legend=dict(orientation="h", y=-0.25, font=dict(size=10)))
    p = sweep_params()
    return Twin.build("τ explorer", [control], tau_state, initial=dict(tau=grid[0] if tau is None else tau),
                      layout=layout,
                      note=f"Spherical UFM, K={p['K']}, d={p['d']}, n={p['n']}, {p['steps']} steps, seed {p['seed']}, "
                           "trained once per τ when the package data was made; the live explorer trains in "
                           "JupyterLab.")


def _describe(data) -> list[str]:
    return [f"tau={r['tau']:.4g} rho={r['rho']:.9f} gnc1={r['gnc1']:.2e} min margin={r['min_margin']:.6f}"
            for r in data["runs"]]


if __name__ == "__main__":
    sys.exit(SWEEP.main(describe=_describe))
