"""HUG explorer: the two weights of the HUG loss and the uniformity measure, in the spherical UFM.

:func:`hug_run` trains :func:`gnc_teach.models.hug_ufm.train_hug_ufm` once per setting (cached) and
summarises it; :func:`hug_view` adds the references (the measure's optimal code and the softmax code);
:func:`hug_explorer` is a thin ipywidgets view: two weight sliders, a measure menu and an optimiser toggle.
With plain gradient steps ("gd", the default) a weight scales its term's step; with Adam it does not,
so only a zero weight changes anything there — the explorer shows both.
"""
from __future__ import annotations

import functools
import math
import time

import torch

from ..._tensor import check_int, check_positive, check_seed
from ._common import check_view, show

__all__ = ["WEIGHTS", "MEASURE_CHOICES", "hug_run", "hug_reference", "hug_view", "hug_label", "draw_hug_view",
           "hug_explorer"]

WEIGHTS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)
#: menu label -> (measure, s) for :func:`gnc_teach.uniformity.energy` (gram_det with gamma = 1)
MEASURE_CHOICES = {"riesz s=2": ("riesz", 2.0), "riesz s=1": ("riesz", 1.0), "log (s=0)": ("log", 0.0),
                   "min separation (s=∞)": ("min_separation", math.inf), "gram det γ=1": ("gram_det", 2.0)}
LR = {"gd": 1.0, "adam": 0.05}


def _measure_choice(choice):
    if not isinstance(choice, str) or choice not in MEASURE_CHOICES:
        raise ValueError(f"measure must be one of {list(MEASURE_CHOICES)}, got measure={choice!r}.")
    return choice


def _measure(choice):
    return MEASURE_CHOICES[_measure_choice(choice)]


def _optimizer(name):
    if not isinstance(name, str) or name not in LR:
        raise ValueError(f"optimizer must be one of {tuple(LR)}, got optimizer={name!r}.")
    return name


@functools.lru_cache(maxsize=512)
def hug_run(intra_weight: float, inter_weight: float, measure: str = "riesz s=2", optimizer: str = "gd",
            K: int = 8, d: int = 3, n: int = 5, steps: int = 300, seed: int = 0) -> dict:
    """Train the HUG spherical UFM once (cached; CPU, float64) and summarise it: the trajectories
    ``step``, ``gnc1``, ``energy``, ``rho`` and the final ``gnc1``, ``energy``, ``rho``, ``seconds``."""
    from ...models.hug_ufm import train_hug_ufm

    name, s = _measure(measure)
    res = train_hug_ufm(K, d, n, measure=name, s=s, intra_weight=intra_weight, inter_weight=inter_weight,
                        optimizer=_optimizer(optimizer), lr=LR[optimizer], steps=steps, seed=seed, device="cpu",
                        dtype=torch.float64, record_every=max(1, steps // 30))
    h = res.history
    return dict(step=list(h["step"]), gnc1=list(h["gnc1"]), energy=list(h["energy"]), rho=list(h["gnc2"]),
                final=dict(gnc1=h["gnc1"][-1], energy=h["energy"][-1], rho=h["gnc2"][-1]), seconds=res.seconds)


@functools.lru_cache(maxsize=64)
def hug_reference(measure: str = "riesz s=2", K: int = 8, d: int = 3) -> dict:
    """The measure's best-found (or proved) optimal code and the best-found softmax code at (K, d):
    ``energy_star``, ``rho_measure``, ``status``, ``rho_softmax``."""
    from ...codes import softmax_code
    from ...margins import rho
    from ...uniform_codes import optimal_code

    name, s = _measure(measure)
    code = optimal_code(K, d, measure=name, s=s, device="cpu")
    return dict(energy_star=code.value, rho_measure=rho(code.W), status=code.status,
                rho_softmax=softmax_code(K, d, fast=True, device="cpu").rho)


def hug_view(intra_weight: float = 1.0, inter_weight: float = 1.0, measure: str = "riesz s=2",
             optimizer: str = "gd", *, K: int = 8, d: int = 3, n: int = 5, steps: int = 300, seed: int = 0) -> dict:
    """Everything the explorer shows: the settings, :func:`hug_run`'s summary (``run``), the references
    (:func:`hug_reference`) and the final ``energy_gap`` = U(W) - U(W*)."""
    intra_weight = check_positive(intra_weight, "intra_weight", allow_zero=True)
    inter_weight = check_positive(inter_weight, "inter_weight", allow_zero=True)
    K, d, n = check_int(K, "K", minimum=2), check_int(d, "d", minimum=2), check_int(n, "n", minimum=1)
    steps, seed = check_int(steps, "steps", minimum=1), check_seed(seed)
    run = hug_run(intra_weight, inter_weight, _measure_choice(measure), _optimizer(optimizer), K, d, n, steps, seed)
    ref = hug_reference(measure, K, d)
    return dict(intra_weight=intra_weight, inter_weight=inter_weight, measure=measure,
                optimizer=optimizer, K=K, d=d, n=n, steps=steps, run=run, ref=ref,
                energy_gap=run["final"]["energy"] - ref["energy_star"])


_KEYS = ("intra_weight", "inter_weight", "measure", "optimizer", "K", "d", "n", "steps", "run", "ref", "energy_gap")


def hug_label(view: dict) -> str:
    """A small HTML table of the final numbers against the references."""
    view = check_view(view, _KEYS, made_by="hug_view")
    f, ref = view["run"]["final"], view["ref"]
    rows = [("within-class variability GNC1", f"{f['gnc1']:.2e}"),
            (f"energy U(W) − U(W*) ({view['measure']})", f"{view['energy_gap']:.2e}"),
            ("ρ(W) of the proxies", f"{f['rho']:.6f}"),
            ("ρ of the measure's optimal code W*", f"{ref['rho_measure']:.6f} ({ref['status']})"),
            ("ρ of the softmax code (best found)", f"{ref['rho_softmax']:.6f}")]
    body = "".join(f"<tr><td style='text-align:left'>{a}</td><td style='text-align:left'>{b}</td></tr>"
                   for a, b in rows)
    return (f"<b>intra weight {view['intra_weight']:g}, inter weight {view['inter_weight']:g}</b>, "
            f"{view['optimizer']}, K={view['K']}, d={view['d']}, n={view['n']}, {view['steps']} steps"
            f"<table>{body}</table>")


def draw_hug_view(view: dict, axes=None):
    """Left: GNC1 and the energy gap along training (log scale); right: ρ of the proxies along training
    with ρ of the measure's optimum and of the softmax code. Returns the two axes."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullLocator

    view = check_view(view, _KEYS, made_by="hug_view")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    a1, a2 = axes
    run, ref = view["run"], view["ref"]
    a1.semilogy(run["step"], [max(v, 1e-16) for v in run["gnc1"]], label="GNC1 (features)")
    a1.semilogy(run["step"], [max(e - ref["energy_star"], 1e-16) for e in run["energy"]],
                label="U(W) − U(W*) (proxies)")
    a1.yaxis.set_major_locator(LogLocator(numticks=5))
    a1.yaxis.set_minor_locator(NullLocator())
    a1.set_xlabel("training step")
    a1.set_ylabel("value (log scale)")
    a1.legend(fontsize=8)
    a1.set_title(f"intra {view['intra_weight']:g}, inter {view['inter_weight']:g} ({view['optimizer']})")
    a2.plot(run["step"], run["rho"], label="ρ(W) of the proxies")
    a2.axhline(ref["rho_measure"], color="tab:orange", ls="--", label=f"ρ(W*), {view['measure']}")
    a2.axhline(ref["rho_softmax"], color="tab:green", ls=":", label="ρ of the softmax code")
    a2.set_xlabel("training step")
    a2.set_ylabel("one-vs-rest distance ρ")
    a2.legend(fontsize=8, loc="lower right")
    return axes


def hug_explorer(*, K: int = 8, d: int = 3, n: int = 5, steps: int = 300, seed: int = 0, draw: bool = True):
    """An ipywidgets box: intra and inter weight sliders over :data:`WEIGHTS`, a measure menu and a
    gd/adam toggle; each change trains one small run (cached) and redraws.

    Carries ``.controls`` (``intra``, ``inter``, ``measure``, ``optimizer``), ``.label``, ``.state``
    (:func:`hug_view`'s dict) and ``.seconds`` (time of the latest update, figure included).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    opts = dict(K=K, d=d, n=n, steps=steps, seed=seed)
    hug_view(**opts)     # validate once before building widgets
    intra = widgets.SelectionSlider(options=list(WEIGHTS), value=1.0, description="intra weight",
                                    continuous_update=False)
    inter = widgets.SelectionSlider(options=list(WEIGHTS), value=1.0, description="inter weight",
                                    continuous_update=False)
    measure = widgets.Dropdown(options=list(MEASURE_CHOICES), value="riesz s=2", description="measure")
    optimizer = widgets.ToggleButtons(options=list(LR), value="gd", description="optimiser")
    label = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([widgets.HBox([intra, inter]), widgets.HBox([measure, optimizer]), label, out])
    box.controls = dict(intra=intra, inter=inter, measure=measure, optimizer=optimizer)
    box.label, box.output = label, out

    def update(change=None):
        t0 = time.perf_counter()
        label.value = "training…"
        box.state = hug_view(intra.value, inter.value, measure.value, optimizer.value, **opts)
        label.value = hug_label(box.state)
        if draw:
            fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), dpi=80)
            draw_hug_view(box.state, axes)
            fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.9, wspace=0.28)
            show(out, fig, plt)
        box.seconds = time.perf_counter() - t0

    for w in (intra, inter, measure, optimizer):
        w.observe(update, names="value")
    update()
    return box
