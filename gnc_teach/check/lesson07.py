"""Self-checks for lesson 07 (deep linear networks, imbalanced classes, minority collapse).

Both checks judge a trained model by what can be verified from outside: its objective against the
closed-form global minimum F* (:func:`gnc_teach.imbalance.deep_linear_optimum`), and its per-class
lengths against the predicted ones. Labels are class-major: class 0's n_0 samples first, then class 1...
"""
from __future__ import annotations

import time

import numpy as np
import torch

from ._core import Fail, as_array, call_student, checker

__all__ = ["deep_linear_training", "global_minimum", "GLOBAL_MINIMUM_INSTANCES"]

F64 = torch.float64

# (n, lam_W, lam_H, M). The first two are the paper's class sizes at depth 3: at λ = 0.01 every class
# is fitted but random starts usually lose one; at λ = 0.0147 the two minority classes collapse at the
# optimum although a fitted local minimum exists for them (the largest root is not the answer).
GLOBAL_MINIMUM_INSTANCES = (
    ((200, 100, 50, 50), 0.01, 0.01, 3),
    ((200, 100, 50, 50), 0.0147, 0.0147, 3),
    ((120, 60, 30, 30, 10), 0.02, 0.004, 2),
    ((300, 30, 30, 30, 10, 10), 0.005, 0.005, 3),
)


def _labels(n):
    return torch.repeat_interleave(torch.arange(len(n)), torch.tensor(n))


def _matrix(value, what, rows=None, cols=None):
    arr = as_array(value, what)
    if arr.ndim != 2:
        raise Fail(f"{what} should be a 2-D matrix, got shape {arr.shape}.")
    if rows is not None and arr.shape[0] != rows:
        raise Fail(f"{what} has {arr.shape[0]} rows, expected {rows}.")
    if cols is not None and arr.shape[1] != cols:
        raise Fail(f"{what} has {arr.shape[1]} columns, expected {cols} (the width of the layer below).")
    return torch.from_numpy(arr)


def _model(out, n, what):
    """The student's ``(layers, H)`` (or ``(W, H)`` for one layer) as float64 tensors, shapes checked."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise Fail(f"{what} should return a pair (layers, H), got {type(out).__name__}.")
    layers, H = out
    if isinstance(layers, (torch.Tensor, np.ndarray)):
        layers = [layers]
    if not isinstance(layers, (list, tuple)) or not layers:
        raise Fail(f"{what}: the first item should be the list of layers [W_1, ..., W_M].")
    N, K = sum(n), len(n)
    H = _matrix(H, "H", rows=N)
    mats, width = [], H.shape[1]
    for m, W in enumerate(layers):
        W = _matrix(W, f"layer {m + 1}", cols=width)
        mats.append(W)
        width = W.shape[0]
    if width != K:
        raise Fail(f"the last layer has {width} rows but there are K={K} classes. Hint: rows are classes.")
    if min([H.shape[1]] + [W.shape[0] for W in mats[:-1]]) < K:
        raise Fail(f"a width is below K={K}; every width must be at least K for the closed form to apply.")
    return mats, H


def _objective_and_optimum(mats, H, n, lam_W, lam_H, M):
    from ..imbalance import deep_linear_optimum
    from ..models.deep_linear import deep_linear_objective
    f = deep_linear_objective(mats, H, _labels(n), lam_W=lam_W, lam_H=lam_H)
    return f, deep_linear_optimum(n, lam_W, lam_H, M)


def _below_optimum(f, opt, n):
    if f < opt.objective - 1e-9 * max(1.0, opt.objective):
        raise Fail(f"for n={n} your model's objective {f:.12f} is BELOW the global minimum {opt.objective:.12f}, "
                   "which is impossible for this objective. Hint: H must list class 0's samples first, then "
                   "class 1's, ...; the loss is 1/(2N) Σ ||W h_i - e_{y_i}||² plus λ_W/2 per layer and λ_H/2 "
                   "on H.")


@checker
def deep_linear_training(fn):
    """``fn(n, lam_W, lam_H) -> (W, H)``: the one-layer bias-free MSE UFM trained to its global minimum,
    W ``(K, d)``, H ``(N, d)`` (d >= K, class-major rows). Checked on two settings (one with minority
    collapse): the objective against F*, and ||w_k||², ||h̄_k||², <w_k, h̄_k> to 1e-6 relative."""
    from .. import metrics
    cases = (((200, 100, 50, 50), 0.02, 0.02), ((30, 20, 10), 0.01, 0.004))
    for n, lam_W, lam_H in cases:
        mats, H = _model(call_student(fn, n, lam_W, lam_H), n, f"your function{n, lam_W, lam_H}")
        if len(mats) != 1:
            raise Fail("return (W, H) with a single layer W of shape (K, d).")
        f, opt = _objective_and_optimum(mats, H, n, lam_W, lam_H, 1)
        _below_optimum(f, opt, n)
        got = [t.numpy() for t in metrics.class_lengths(mats[0], H, _labels(n))]
        want = (opt.w_norm2, opt.h_norm2, opt.inner)
        scale = [max(float(np.abs(w).max()), 1e-300) for w in want]
        err = max(float(np.max(np.abs(g - w) / np.maximum(np.abs(w), 1e-3 * s)))
                  for g, w, s in zip(got, want, scale))
        if err > 1e-6:
            gap = f - opt.objective
            raise Fail(f"for n={n}, λ_W={lam_W}, λ_H={lam_H} the class lengths are off by {err:.1e} (relative) and "
                       f"the objective is {gap:.1e} above the global minimum. Hint: print the gradient norm "
                       "when your training stops; 1e-6 agreement needs it near 1e-9.")
    return "both settings agree with the closed form to 1e-6, minority collapse included."


@checker(time_limit="budget")
def global_minimum(fn, budget: float = 60.0):
    """``fn(n, lam_W, lam_H, M) -> (layers, H)``: an optimisation strategy for the bias-free MSE deep linear
    UFM. Judged on :data:`GLOBAL_MINIMUM_INSTANCES` (M = 2, 3, where spurious minima are common): each
    returned model must reach the closed-form global minimum F* to 1e-8 (relative), your function taking
    ``budget`` seconds in all (the check's time limit)."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0:
        raise Fail(f"budget must be a number of seconds > 0, got {budget!r}.")
    t0 = time.perf_counter()
    report, missed = [], []
    for i, (n, lam_W, lam_H, M) in enumerate(GLOBAL_MINIMUM_INSTANCES):
        mats, H = _model(call_student(fn, n, lam_W, lam_H, M), n, f"your function on instance {i}")
        if len(mats) != M:
            raise Fail(f"instance {i} asks for M={M} layers, your model has {len(mats)}.")
        f, opt = _objective_and_optimum(mats, H, n, lam_W, lam_H, M)
        _below_optimum(f, opt, n)
        gap = (f - opt.objective) / max(1.0, opt.objective)
        report.append(f"{i}: F - F* = {gap:.1e}")
        if gap > 1e-8:
            missed.append(i)
    seconds = time.perf_counter() - t0
    if missed:
        raise Fail(f"{len(GLOBAL_MINIMUM_INSTANCES) - len(missed)}/{len(GLOBAL_MINIMUM_INSTANCES)} instances at the "
                   f"global minimum ({'; '.join(report)}). Instance(s) {missed} ended in a higher minimum. Hint: "
                   "one run proves nothing here; compare the objective values of different outcomes.")
    return f"all {len(GLOBAL_MINIMUM_INSTANCES)} instances at the global minimum in {seconds:.1f} s ({'; '.join(report)})."
