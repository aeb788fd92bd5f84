"""Static matplotlib views of codes, Gram matrices and training histories.

Every function takes ``ax=None`` (a new figure is made when omitted), labels every axis and returns
the axes. Codes are ``(K, d)`` arrays/tensors with row k = class k.
"""
from __future__ import annotations

import math

import numpy as np

from .._memory import check_memory
from .._tensor import as_matrix, check_int

__all__ = ["plot_code", "plot_gram", "plot_history", "plot_margin_distribution", "plot_hull_distance",
           "plot_bounds"]


def _plt():
    import matplotlib.pyplot as plt  # imported lazily: importing gnc_teach must not need a display

    return plt


def _numpy(W, name="W"):
    return as_matrix(W, name).detach().cpu().double().numpy()


def plot_code(W, ax=None, *, labels: bool = True, title: str | None = None, normalize: bool = True):
    """Draw the rows of ``W`` ``(K, 2)`` on the unit circle (points + rays from the origin) or of
    ``W`` ``(K, 3)`` on a wireframe unit sphere. Rows are normalised first unless ``normalize=False``.

    ``labels`` writes the class index beside each point. For d=3 pass a 3-D axes
    (``fig.add_subplot(projection="3d")``) or none. Other d: ValueError (use :func:`plot_gram`).
    """
    X = _numpy(W)
    K, d = X.shape
    if d not in (2, 3):
        raise ValueError(f"plot_code draws d=2 (circle) or d=3 (sphere) codes, got d={d}; for other d "
                         "use plot_gram(W), which shows all pairwise cosines.")
    if normalize:
        nrm = np.linalg.norm(X, axis=1, keepdims=True)
        if (nrm == 0).any():
            raise ValueError("W has a zero row, which cannot be drawn on the unit sphere.")
        X = X / nrm
    plt = _plt()
    if d == 2:
        if ax is None:
            _, ax = plt.subplots(figsize=(4.2, 4.2))
        t = np.linspace(0, 2 * math.pi, 361)
        ax.plot(np.cos(t), np.sin(t), color="0.75", lw=1, zorder=0)
        for k, (a, b) in enumerate(X):
            ax.plot([0, a], [0, b], color=f"C{k % 10}", lw=1.2, alpha=0.8)
            if labels:
                ax.annotate(str(k), (a, b), xytext=(1.12 * a, 1.12 * b), ha="center", va="center", fontsize=9)
        ax.scatter(X[:, 0], X[:, 1], c=[f"C{k % 10}" for k in range(K)], s=40, zorder=3, edgecolors="k",
                   linewidths=0.5)
        ax.set_aspect("equal")
        lim = 1.3
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    else:
        if ax is None:
            fig = plt.figure(figsize=(4.8, 4.8))
            ax = fig.add_subplot(projection="3d")
        if not hasattr(ax, "set_zlabel"):
            raise ValueError("a d=3 code needs a 3-D axes: fig.add_subplot(projection='3d'), or ax=None.")
        u, v = np.meshgrid(np.linspace(0, 2 * math.pi, 25), np.linspace(0, math.pi, 13))
        ax.plot_wireframe(np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v), color="0.8", lw=0.5)
        ax.scatter(X[:, 0], X[:, 1], X[:, 2], c=[f"C{k % 10}" for k in range(K)], s=45, depthshade=False,
                   edgecolors="k", linewidths=0.5)
        if labels:
            for k, (a, b, c) in enumerate(X):
                ax.text(1.12 * a, 1.12 * b, 1.12 * c, str(k), fontsize=9)
        ax.set_box_aspect((1, 1, 1))
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_zlabel("$x_3$")
    ax.set_title(title if title is not None else f"code: K={K} unit vectors in $\\mathbb{{R}}^{d}$")
    return ax


def plot_gram(W, ax=None, *, normalize: bool = True, title: str | None = None, annotate: bool | None = None):
    """Heatmap of the Gram matrix of ``W`` ``(K, d)`` (cosines when ``normalize``), colour scale -1..1,
    with a colourbar. ``annotate`` writes the values in the cells (default: when K <= 6)."""
    X = _numpy(W)
    K = X.shape[0]
    # the Gram matrix, its normalised copy and matplotlib's RGBA image of it
    check_memory(3 * 8 * K * K, what=f"plot_gram (K={K}, a K x K matrix)",
                 fix="Plot a subset of the rows (a K x K heatmap is unreadable beyond a few hundred classes).")
    if normalize:
        nrm = np.linalg.norm(X, axis=1, keepdims=True)
        if (nrm == 0).any():
            raise ValueError("W has a zero row, so its cosines are undefined; use normalize=False.")
        X = X / nrm
    G = X @ X.T
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.0))
    lim = max(1.0, float(np.abs(G).max())) if not normalize else 1.0
    im = ax.imshow(G, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.figure.colorbar(im, ax=ax, label=r"$\cos(w_j, w_k)$" if normalize else r"$\langle w_j, w_k\rangle$")
    if annotate is None:
        annotate = K <= 6
    if annotate:
        for j in range(K):
            for k in range(K):
                ax.text(k, j, f"{G[j, k]:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if abs(G[j, k]) > 0.6 * lim else "k")
    ax.set_xlabel("class k")
    ax.set_ylabel("class j")
    ax.set_title(title if title is not None else f"Gram matrix (K={K})")
    return ax


def plot_history(history: dict, ax=None, *, keys=None, log: bool = True, title: str | None = None):
    """Curves of the metrics in ``history`` (dict: ``"step"`` -> list, name -> list) against the step.

    ``keys``: which metrics (default: every key except ``"step"``); ``log``: log-scale y (non-positive
    values are clipped to 1e-16 so that exact zeros still show).
    """
    if not isinstance(history, dict) or "step" not in history:
        raise ValueError("history must be a dict with a 'step' list and metric lists, e.g. UFMResult.history.")
    steps = np.asarray(history["step"], dtype=float)
    if keys is None:
        keys = [k for k in history if k != "step"]
    elif isinstance(keys, str):
        keys = [keys]
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no key(s) {missing}; available: {[k for k in history if k != 'step']}.")
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.6))
    for k in keys:
        vals = np.asarray(history[k], dtype=float)
        if vals.shape != steps.shape:
            raise ValueError(f"history[{k!r}] has {vals.size} values but history['step'] has {steps.size}.")
        if log:
            vals = np.where((vals > 0) | np.isnan(vals), vals, 1e-16)  # NaN (undefined) stays a gap
        ax.plot(steps, vals, marker="o", ms=2.5, lw=1.5, label=k)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("metric value" + (" (log scale)" if log else ""))
    if keys:
        ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3, which="both" if not log else "major")
    if title is not None:
        ax.set_title(title)
    return ax


def plot_margin_distribution(margins, taus, ax=None, *, rho=None, rho_best=None, title: str | None = None):
    """Per-sample margins m_i = min_{j≠y_i} <w_{y_i} − w_j, h_i> at each temperature: a violin plus the
    jittered samples per τ, the run's ρ(W) as a short bar (``rho``, optional) and the best known ρ as a
    dashed line (``rho_best``, optional). ``margins``: one 1-D array/tensor per τ in ``taus``.
    """
    try:
        taus = [float(t) for t in taus]
    except (TypeError, ValueError):
        raise TypeError(f"taus must be a sequence of numbers (one temperature per margins array), got "
                        f"{taus!r}.") from None
    data = [np.asarray(m.detach().cpu() if hasattr(m, "detach") else m, dtype=float).reshape(-1) for m in margins]
    if len(data) != len(taus) or not data or any(m.size == 0 for m in data):
        raise ValueError(f"margins must hold one non-empty array per tau: got {len(data)} arrays for "
                         f"{len(taus)} taus.")
    plt = _plt()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    pos = np.arange(len(taus))
    spread = [m if np.ptp(m) > 1e-9 else m + 1e-9 * np.linspace(-1, 1, m.size) for m in data]  # violin needs spread
    ax.violinplot(spread, positions=pos, widths=0.8, showextrema=False)
    rng = np.random.default_rng(0)
    for x, m in zip(pos, data):
        ax.scatter(x + rng.uniform(-0.12, 0.12, m.size), m, s=6, color="black", alpha=0.5, zorder=3)
    if rho is not None:
        ax.hlines(list(rho), pos - 0.35, pos + 0.35, colors="tab:red", label="ρ(W) of the run", zorder=4)
    if rho_best is not None:
        ax.axhline(rho_best, color="tab:green", ls="--", lw=1, label=f"best known ρ = {rho_best:.5f}")
    ax.set_xticks(pos)
    ax.set_xticklabels([f"{t:g}" for t in taus])
    ax.set_xlabel("temperature τ")
    ax.set_ylabel(r"margin $\min_{j\neq y}\langle w_y - w_j, h\rangle$")
    if rho is not None or rho_best is not None:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title if title is not None else "per-sample margins")
    return ax


def plot_hull_distance(W, k: int, ax=None, *, h=None, annotate: bool = True, details=None):
    """The one-vs-rest distance of class ``k`` of a 2-D code ``W (K, 2)``: w_k, the hull of the others,
    the nearest hull point p_k and the segment of length rho_k (and an optional feature ``h``).
    ``details``: a precomputed ``one_vs_rest_distance(W, return_details=True)`` (saves the QPs)."""
    import torch
    from scipy.spatial import ConvexHull, QhullError

    from ..margins import one_vs_rest_distance
    W = _numpy(W)
    if W.shape[1] != 2:
        raise ValueError(f"plot_hull_distance draws 2-D codes; W must have shape (K, 2), got {W.shape}.")
    K = W.shape[0]
    k = check_int(k, "k", minimum=0)
    if k >= K:
        raise ValueError(f"k={k} is not a class of W with K={K} rows; use 0 <= k < K.")
    if ax is None:
        _, ax = _plt().subplots(figsize=(4.2, 4.2))
    det = one_vs_rest_distance(torch.as_tensor(W), return_details=True) if details is None else details
    p, rho = det.p[k].numpy(), float(det.rho[k])
    others = np.delete(W, k, axis=0)
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(t), np.sin(t), color="0.8", lw=1, ls="--")
    try:
        hull = ConvexHull(others)
        ax.fill(*others[hull.vertices].T, color="tab:blue", alpha=0.15,
                label=r"conv$\{w_j: j\neq k\}$")
    except (QhullError, ValueError):  # one or two points, or collinear: the hull is a segment
        order = np.argsort(others @ (others[-1] - others[0]))
        ax.plot(*others[order].T, color="tab:blue", alpha=0.4, lw=3, label=r"conv$\{w_j: j\neq k\}$")
    ax.scatter(*others.T, color="tab:blue", zorder=3, s=25)
    ax.scatter(*W[k], color="tab:red", marker="*", s=160, zorder=4, label=f"$w_{{{k}}}$")
    ax.scatter(*p, color="tab:green", zorder=4, s=35, label=f"nearest point $p_{{{k}}}$")
    ax.plot([W[k, 0], p[0]], [W[k, 1], p[1]], color="tab:green", lw=2)
    if annotate:
        mid = (W[k] + p) / 2
        ax.annotate(f"ρ_{k} = {rho:.4f}", mid, textcoords="offset points", xytext=(6, 6), color="tab:green")
        for j in range(K):
            if j != k:
                ax.annotate(str(j), W[j], textcoords="offset points", xytext=(4, 4), fontsize=8)
    if h is not None:
        h = np.asarray(h, dtype=np.float64).reshape(-1)
        h = h / np.linalg.norm(h)
        ax.annotate("", xy=h, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="tab:orange", lw=2))
        ax.plot([], [], color="tab:orange", label="feature $h$")
    ax.set_aspect("equal")
    ax.set_xlim(-1.35, 1.35)
    ax.set_ylim(-1.35, 1.35)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="lower left", fontsize=7)
    return ax


def plot_bounds(table, ax=None):
    """Computed rho against the bounds for each d of ``table`` = {d: dict(K, rho, lower, upper)} (arrays
    over K), e.g. from :func:`gnc_teach.gallery.bounds_table`: upper bound K/(K-1) (K <= d+1) or 1
    (K >= d+2, Radon) as a line, best-found rho as dots, the lower bound 1 - max cos as crosses."""
    if not isinstance(table, dict) or not all(isinstance(r, dict) and {"K", "rho", "lower", "upper"} <= set(r)
                                              for r in table.values()):
        raise TypeError("table must be a dict {d: dict(K, rho, lower, upper)}, e.g. from "
                        "gnc_teach.gallery.bounds_table().")
    if ax is None:
        _, ax = _plt().subplots(figsize=(6.5, 4))
    for i, (d, row) in enumerate(sorted(table.items())):
        c = f"C{i}"
        ax.step(row["K"], row["upper"], where="mid", color=c, lw=1, alpha=0.7,
                label=f"d={d}: upper bound")
        ax.plot(row["K"], row["rho"], "o", color=c, ms=5, label=f"d={d}: ρ of computed code")
        ax.plot(row["K"], row["lower"], "x", color=c, ms=6, label=f"d={d}: 1 − max cos")
    ax.set_xlabel("K (number of classes)")
    ax.set_ylabel(r"one-vs-rest distance $\rho(W)$")
    ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.15))  # below: data fill the box
    return ax
