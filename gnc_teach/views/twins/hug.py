"""Twin of the HUG explorer (lesson 06): intra weight × inter weight × measure × optimiser, precomputed.

Every state is :func:`gnc_teach.views.widgets.hug_explorer.hug_view` (one small HUG training of the
spherical UFM), drawn with plotly like :func:`draw_hug_view` and captioned with :func:`hug_label`. The
explorer's grid has 6 × 6 × 5 × 2 = 360 settings of ~0.25 s each: too slow for every site build, so
the views at the explorer's defaults (K, d, n, steps, seed) are stored in
``gnc_teach/data/hug_sweep.json``; ``python -m gnc_teach.views.twins.hug --rebuild`` recomputes them
(tests recompute one and compare). A twin for other sizes trains its states when it is built.
"""
from __future__ import annotations

import inspect
import sys

from .figures import COLOURS, log_floor, significant
from .stored import StoredSweep
from .twin import Control, Twin

__all__ = ["SWEEP", "sweep_params", "hug_state", "hug_twin"]

_SIZES = ("K", "d", "n", "steps", "seed")
_LEFT, _RIGHT = (0.0, 0.44), (0.58, 1.0)


def sweep_params() -> dict:
    """The HUG explorer's sizes (K, d, n, steps, seed) and control values: what the stored views cover."""
    from ..widgets.hug_explorer import LR, MEASURE_CHOICES, WEIGHTS, hug_explorer
    sig = inspect.signature(hug_explorer).parameters
    return dict({p: sig[p].default for p in _SIZES}, weights=list(WEIGHTS), optimizers=list(LR),
                measures={name: list(choice) for name, choice in MEASURE_CHOICES.items()})


def _settings(params: dict):
    return [(a, b, m, o) for m in params["measures"] for o in params["optimizers"]
            for a in params["weights"] for b in params["weights"]]


def _view(intra_weight, inter_weight, measure, optimizer, sizes: dict) -> dict:
    """:func:`hug_view` without the run's wall time (not reproducible, so never stored)."""
    from ..widgets.hug_explorer import hug_view
    view = hug_view(intra_weight, inter_weight, measure, optimizer, **sizes)
    return dict(view, run={k: v for k, v in view["run"].items() if k != "seconds"})


def _train(params: dict) -> list[dict]:
    sizes = {p: params[p] for p in _SIZES}
    return [_view(*setting, sizes) for setting in _settings(params)]


SWEEP = StoredSweep("hug_sweep.json", "gnc_teach.views.twins.hug", sweep_params, _train)


def _stored_views() -> dict:
    return {(v["intra_weight"], v["inter_weight"], v["measure"], v["optimizer"]): v for v in SWEEP.load()["runs"]}


def hug_state(view: dict) -> dict:
    """The twin's state of one :func:`hug_view` dict: GNC1 and the energy gap along training (left, log),
    ρ of the proxies with ρ of the measure's optimum and of the softmax code (right), the caption."""
    from ..widgets.hug_explorer import hug_label
    if not isinstance(view, dict) or not {"run", "ref", "measure"} <= set(view):
        raise TypeError(f"view must be a hug_view(...) dict, got {type(view).__name__}.")
    run, ref = view["run"], view["ref"]
    steps = run["step"]
    ends = [steps[0], steps[-1]]
    gaps = [e - ref["energy_star"] for e in run["energy"]]
    data = [dict(type="scatter", x=steps, y=log_floor(run["gnc1"]), mode="lines", name="GNC1 (features)",
                 line=dict(color=COLOURS[0])),
            dict(type="scatter", x=steps, y=log_floor(gaps), mode="lines", name="U(W) − U(W*) (proxies)",
                 line=dict(color=COLOURS[1])),
            dict(type="scatter", x=steps, y=significant(run["rho"], 6), mode="lines", name="ρ(W) of the proxies",
                 line=dict(color=COLOURS[4]), xaxis="x2", yaxis="y2"),
            dict(type="scatter", x=ends, y=[ref["rho_measure"]] * 2, mode="lines", xaxis="x2", yaxis="y2",
                 name=f"ρ(W*), {view['measure']}", line=dict(color=COLOURS[1], dash="dash")),
            dict(type="scatter", x=ends, y=[ref["rho_softmax"]] * 2, mode="lines", xaxis="x2", yaxis="y2",
                 name="ρ of the softmax code", line=dict(color=COLOURS[2], dash="dot"))]
    title = (f"intra {view['intra_weight']:g}, inter {view['inter_weight']:g} ({view['optimizer']}), "
             f"{view['measure']}")
    return dict(data=data, layout=dict(title=dict(text=title)), html=hug_label(view))


def hug_twin(*, intra_weight: float = 1.0, inter_weight: float = 1.0, measure: str = "riesz s=2",
             optimizer: str = "gd", K: int | None = None, d: int | None = None, n: int | None = None,
             steps: int | None = None, seed: int | None = None) -> Twin:
    """Kernel-free twin of :func:`~gnc_teach.views.widgets.hug_explorer`: both weight sliders, the measure
    menu and the optimiser, starting at the given values. ``K, d, n, steps, seed`` default to the
    explorer's (stored views); other values train every state now (minutes)."""
    from ..._tensor import check_positive
    intra_weight = check_positive(intra_weight, "intra_weight", allow_zero=True)  # the nearest grid weight
    inter_weight = check_positive(inter_weight, "inter_weight", allow_zero=True)
    params = sweep_params()
    sizes = {p: params[p] if v is None else v for p, v in zip(_SIZES, (K, d, n, steps, seed))}
    stored = _stored_views() if all(sizes[p] == params[p] for p in _SIZES) else None
    views = stored if stored is not None else \
        {s: _view(*s, sizes) for s in _settings(params)}  # validates the sizes (hug_view) first of all
    weights = tuple(params["weights"])
    controls = [Control("intra_weight", "intra weight", weights, labels=tuple(f"{w:g}" for w in weights)),
                Control("inter_weight", "inter weight", weights, labels=tuple(f"{w:g}" for w in weights)),
                Control("measure", "measure", tuple(params["measures"]), kind="select"),
                Control("optimizer", "optimiser", tuple(params["optimizers"]), kind="select")]
    axis_note = dict(title=dict(text="training step"))
    layout = dict(height=430, margin=dict(l=60, r=20, t=60, b=50), uirevision="keep",
                  xaxis=dict(axis_note, domain=list(_LEFT)),
                  yaxis=dict(type="log", title=dict(text="value (log scale)"), exponentformat="power"),
                  xaxis2=dict(axis_note, domain=list(_RIGHT), anchor="y2"),
                  yaxis2=dict(anchor="x2", title=dict(text="one-vs-rest distance ρ")),
                  legend=dict(orientation="h", y=-0.22, font=dict(size=10)))
    initial = dict(intra_weight=intra_weight, inter_weight=inter_weight, measure=measure, optimizer=optimizer)
    return Twin.build("HUG explorer", controls, lambda **s: hug_state(views[tuple(s[c.name] for c in controls)]),
                      initial=initial, layout=layout,
                      note=f"Spherical UFM with the HUG loss, K={sizes['K']}, d={sizes['d']}, n={sizes['n']}, "
                           f"{sizes['steps']} steps, seed {sizes['seed']}: trained once per setting when "
                           "the package data was made; the live explorer trains in JupyterLab.")


def _describe(data) -> list[str]:
    views = data["runs"]
    worst = max(views, key=lambda v: v["energy_gap"])
    return [f"{len(views)} views for {data['params']}",
            f"largest final energy gap {worst['energy_gap']:.3e} at intra {worst['intra_weight']:g}, "
            f"inter {worst['inter_weight']:g}, {worst['measure']}, {worst['optimizer']}"]


if __name__ == "__main__":
    sys.exit(SWEEP.main(describe=_describe))
