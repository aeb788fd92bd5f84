"""Static views of training runs (:class:`gnc_teach.training.TrainResult`): metrics against the epoch, and
a temperature sweep. Every function takes ``ax=None``, labels its axes and returns them."""
from __future__ import annotations

import math

import numpy as np

from .plotting import _plt, plot_history

__all__ = ["plot_epochs", "plot_tau_sweep"]


def _run(run, name="run"):
    from .._tensor import check_type
    from ..training.result import TrainResult
    return check_type(run, TrainResult, name, what="a TrainResult (from gnc_teach.training.train or load_run)")


def plot_epochs(run, keys, ax=None, *, log: bool = True, title: str | None = None):
    """``run.history[key]`` against the epoch for each of ``keys``, at the evaluated epochs (log-scale y
    by default; exact zeros are drawn at 1e-16)."""
    run = _run(run)
    keys = [keys] if isinstance(keys, str) else list(keys)
    unknown = [k for k in keys if k not in run.history]
    if unknown:
        raise ValueError(f"keys {unknown} are not recorded by this run; it has {sorted(run.history)}.")
    ax = plot_history(run.curves(*keys), ax=ax, keys=keys, log=log, title=title)
    ax.set_xlabel("epoch")
    return ax


def plot_tau_sweep(runs, ax=None, *, rho_ref: float | None = None, title: str | None = None):
    """ρ of the normalised classifier (left axis) and test accuracy (right axis) against 1/τ, one point per
    run; ``rho_ref`` draws the best code's ρ as a dashed line. Returns the left axes."""
    if isinstance(runs, (str, bytes)) or not isinstance(runs, (list, tuple)) or not runs:
        raise TypeError(f"runs must be a non-empty list of TrainResults, got {runs!r:.60}.")
    runs = [_run(r, f"runs[{i}]") for i, r in enumerate(runs)]
    taus = np.array([np.nan if r.config["tau"] is None else r.config["tau"] for r in runs], dtype=float)
    if np.isnan(taus).any() or (taus <= 0).any():
        raise ValueError("plot_tau_sweep needs runs with a temperature tau > 0 (normalised classifier).")
    order = np.argsort(1 / taus)
    x = 1 / taus[order]
    rho = np.array([runs[i].last("gnc2") for i in order])
    acc = np.array([runs[i].last("test_acc") for i in order])
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(x, rho, "o-", color="C0", label=r"$\rho(\hat W)$ = GNC2")
    if rho_ref is not None and math.isfinite(rho_ref):
        ax.axhline(rho_ref, color="C0", ls="--", lw=1, label=r"best code's $\rho$")
    ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v:.3g}" for v in x])
    ax.minorticks_off()
    ax.set_xlabel(r"$1/\tau$")
    ax.set_ylabel(r"$\rho(\hat W)$", color="C0")
    right = ax.twinx()
    right.plot(x, 100 * acc, "s-", color="C3", label="test accuracy")
    right.set_ylabel("test accuracy (%)", color="C3")
    lines = ax.get_legend_handles_labels()
    more = right.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, frameon=False, loc="lower center")
    ax.grid(alpha=0.3)
    if title is not None:
        ax.set_title(title)
    return ax
