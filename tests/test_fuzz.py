"""Fuzz pass: every public function, exercise check and CLI command, called with bad input.

Each row of :data:`ROWS` is ``(callable, args, kwargs, what the answer must name)``. The expected
answer is a ``ValueError``/``TypeError`` raised by gnc_teach (not from inside torch, numpy or scipy)
whose message names the argument; for the exercise checks a failed ``CheckResult`` (a short message,
never a crash); for the command line exit status 2 with a one-line message naming the option; for a
few rows whose input is valid but once gave a silent wrong answer, a result that passes a check.

All rows run in ONE worker subprocess (``python tests/test_fuzz.py --worker``) inside an empty
sandbox folder, with an address-space limit (so that an allocation bomb fails fast instead of
swapping) and a per-row timeout: a row that does not answer in time is a hang, and the worker is
restarted for the next row. Outcomes:

    clean   the expected answer
    raw     any other exception (or the right type raised from inside torch/numpy, or not naming
            the argument)
    silent  no error where one was expected (or a wrong value)
    hang    no answer within the timeout
    file    a file or folder in the sandbox or in gnc_teach/data was created or changed

``python tests/test_fuzz.py`` prints the table's counts by outcome (the numbers quoted in issue 17's
closing note) and the rows that are not clean.
"""
from __future__ import annotations

import collections
import contextlib
import io
import json
import math
import os
import re
import select
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
import torch

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
PKG = ROOT / "gnc_teach"
TIMEOUT = 20.0               # seconds per row
ADDRESS_SPACE = 8 << 30      # bytes: an allocation bomb fails fast instead of eating the shared machine
CHECK_TIME_LIMIT = "0.5"     # seconds, for the exercise checks' time limit (GNC_TEACH_CHECK_TIME_LIMIT)


# ----------------------------------------------------------------------------- inputs
def _unit(X):
    return X / X.norm(dim=-1, keepdim=True)


_g = torch.Generator().manual_seed(17)
W8 = _unit(torch.randn(8, 3, generator=_g, dtype=torch.float64))          # a unit code, K = 8, d = 3
H16 = torch.randn(16, 3, generator=_g, dtype=torch.float64)               # features, 2 per class
Y16 = torch.arange(16) % 8                                                # labels 0..7
NANW = W8.clone()
NANW[2, 1] = math.nan
ONE = W8[:1].clone()                                                      # a single row
BIGK = 80_000                                                             # K x K float64 = 51 GB
BIG = torch.randn(BIGK, 3, generator=_g, dtype=torch.float64)
SQUARE = torch.tensor([[1.0, 0], [0, 1], [-1, 0], [0, -1]], dtype=torch.float64)   # rho = 1 exactly
H1 = torch.randn(6, 3, generator=_g, dtype=torch.float64)                # one class only
Y1 = torch.zeros(6, dtype=torch.long)


def _ufm_f(X):
    """A smooth objective of an (m, d) tensor for the Riemannian helpers."""
    return (X ** 3).sum()


# student functions for the exercise checks
def sleeper(*args, **kwargs):
    time.sleep(3600)


def spinner(*args, **kwargs):
    while True:
        pass


def quitter(*args, **kwargs):
    sys.exit(3)


def returns_text(*args, **kwargs):
    return "my answer"


def stub(*args, **kwargs):
    raise NotImplementedError


def interrupter(*args, **kwargs):
    raise KeyboardInterrupt


# ----------------------------------------------------------------------------- predicates (valid input)
def _rho_close(target):
    def ok(r):
        r = torch.as_tensor(r, dtype=torch.float64)
        return bool(torch.isfinite(r).all()) and abs(float(r.min()) / target - 1) < 1e-9
    return ok


def _energy_close(target):
    return lambda e: math.isfinite(e) and e > 0 and abs(e / target - 1) < 1e-9


def _describe_close(target):
    return lambda res: math.isfinite(res.rho) and abs(res.rho - target) < 1e-9


def _is_false(v):
    return v is False


def _strict_json(text):
    json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    return True


# ----------------------------------------------------------------------------- the table
class Row:
    """One bad input: ``fn(*args, **kwargs)`` must answer with ``expect`` naming ``name``.

    ``expect``: "error" (ValueError/TypeError from gnc_teach naming ``name``), "feedback" (an exercise
    check returns a failed CheckResult), "exit2" (``gnc-teach`` exits with 2 and a message naming
    ``name``), or a predicate on the returned value (valid input that must get a right answer).
    ``setup(sandbox)`` makes files first and returns replacement ``(args, kwargs)``.
    """

    def __init__(self, fn, args=(), kwargs=None, name="", expect="error", setup=None, errors=()):
        self.fn, self.args, self.kwargs, self.name = fn, args, dict(kwargs or {}), name
        self.expect, self.setup, self.errors = expect, setup, tuple(errors)

    @property
    def id(self):
        fn = self.fn if isinstance(self.fn, str) else getattr(self.fn, "__name__", "?")
        shown = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return f"{fn}({', '.join(shown)})"


def _short(v):
    if isinstance(v, torch.Tensor):
        return f"T{tuple(v.shape)}" + ("nan" if v.is_floating_point() and v.isnan().any() else "")
    if callable(v):
        return getattr(v, "__name__", "fn")
    r = repr(v)
    return r if len(r) <= 24 else r[:21] + "..."


ROWS: list[Row] = []


def add(fn, *args, name, expect="error", setup=None, errors=(), **kwargs):
    ROWS.append(Row(fn, args, kwargs, name, expect, setup, errors))


G, M, C, U = "gnc_teach.geometry.", "gnc_teach.margins.", "gnc_teach.codes.", "gnc_teach.models.ufm."
MT, HM, CF = "gnc_teach.metrics.", "gnc_teach.hardmax.", "gnc_teach.certify."
GA, RF, PL = "gnc_teach.gallery.", "gnc_teach.references.", "gnc_teach.views.plotting."
WC, WE = "gnc_teach.views.widgets.code_explorer.", "gnc_teach.views.widgets.etf_explorer."
WM, WT = "gnc_teach.views.widgets.margin_explorer.", "gnc_teach.views.widgets.tau_explorer."
EX, CK, TS = "gnc_teach.exercises.", "gnc_teach.check.", "gnc_teach._tensor."

# --- geometry
add(G + "simplex_etf", 1, name="K")
add(G + "simplex_etf", 2.5, name="K")
add(G + "simplex_etf", "4", name="K")
add(G + "simplex_etf", 4, 1, name="d")
add(G + "simplex_etf", 4, seed=-1, name="seed")
add(G + "simplex_etf", 4, seed=1.5, name="seed")
add(G + "simplex_etf", 4, seed=2 ** 70, name="seed")
add(G + "simplex_etf", 4, device="tpu", name="device")
add(G + "simplex_etf", 4, dtype=torch.int64, name="dtype")
add(G + "simplex_etf", BIGK, name="K")
add(G + "regular_polygon", 1, name="K")
add(G + "regular_polygon", None, name="K")
add(G + "regular_polygon", 5, dtype="float16", name="dtype")
add(G + "cross_polytope", 0, name="d")
add(G + "cross_polytope", 2.0, name="d")
add(G + "random_rotation", 0, name="d")
add(G + "random_rotation", 3, seed=-1, name="seed")
add(G + "random_rotation", 3, seed=2 ** 70, name="seed")
add(G + "random_rotation", 3, seed="a", name="seed")
add(G + "random_rotation", 100_000, name="d")
add(G + "random_sphere", 0, 3, name="K")
add(G + "random_sphere", 5, 0, name="d")
add(G + "random_sphere", 5, 3, batch=0, name="batch")
add(G + "random_sphere", 5, 3, seed=-2, name="seed")
add(G + "random_sphere", 5, 3, seed=0.5, name="seed")
add(G + "normalize_rows", [[1.0, 0.0], [0.0, 2.0]], expect=lambda r: torch.allclose(
    torch.as_tensor(r, dtype=torch.float64).norm(dim=1), torch.ones(2, dtype=torch.float64)), name="W")
add(G + "normalize_rows", NANW, name="W")
add(G + "normalize_rows", "abc", name="W")
add(G + "normalize_rows", torch.zeros(3, 2), name="W")
add(G + "gram", "abc", name="W")
add(G + "gram", torch.ones(3), name="W")
add(G + "gram", NANW, name="W")
add(G + "gram", BIG, name="K")
add(G + "max_cos", W8, chunk=-1, name="chunk")
add(G + "max_cos", W8, chunk=0, name="chunk")
add(G + "max_cos", W8, chunk=1.5, name="chunk")
add(G + "max_cos", ONE, name="W")
add(G + "max_cos", NANW, name="W")
add(G + "min_angle", W8, chunk=0, name="chunk")
add(G + "min_angle", W8, chunk=-5, name="chunk")
add(G + "is_simplex_etf", W8, tol=-1.0, name="tol")
add(G + "is_simplex_etf", W8, tol=math.nan, name="tol")
add(G + "is_simplex_etf", W8, tol="a", name="tol")
add(G + "is_simplex_etf", ONE, name="W")
add(G + "is_simplex_etf", BIG, name="K", expect=_is_false)
add(G + "simplex_bound", 1, name="K")
add(G + "simplex_bound", 2.0, name="K")

# --- margins
add(M + "one_vs_rest_distance", 1e160 * SQUARE, name="W", expect=_rho_close(1e160))
add(M + "one_vs_rest_distance", 1e-200 * SQUARE, name="W", expect=_rho_close(1e-200))
add(M + "one_vs_rest_distance", W8, tol=0.0, name="tol")
add(M + "one_vs_rest_distance", W8, tol=-1e-3, name="tol")
add(M + "one_vs_rest_distance", W8, candidates=0, name="candidates")
add(M + "one_vs_rest_distance", W8, candidates=-3, name="candidates")
add(M + "one_vs_rest_distance", W8, candidates=2.5, name="candidates")
add(M + "one_vs_rest_distance", W8, chunk=0, name="chunk")
add(M + "one_vs_rest_distance", W8, max_rounds=-1, name="max_rounds")
add(M + "one_vs_rest_distance", ["a", "b"], name="W")
add(M + "one_vs_rest_distance", ONE, name="W")
add(M + "one_vs_rest_distance", NANW, name="W")
add(M + "one_vs_rest_distance", torch.ones(3), name="W")
add(M + "one_vs_rest_distance", torch.ones(3, 2, dtype=torch.complex128), name="W")
add(M + "rho", W8, tol=-1.0, name="tol")
add(M + "rho", W8, bogus=1, name="bogus")
add(M + "rho_upper_bound", 1, 3, name="K")
add(M + "rho_upper_bound", 5, 0, name="d")
add(M + "known_rho_star", 0, 3, name="K")
add(M + "known_rho_star", 5, 1.5, name="d")
add(M + "rho_lower_bound", NANW, name="W")
add(M + "margins", W8, torch.ones(2), 0, name="h")
add(M + "margins", W8, torch.ones(3), -1, name="k")
add(M + "margins", W8, torch.ones(3), 8, name="k")
add(M + "margins", W8, torch.tensor([1.0, math.nan, 0.0]), 0, name="h")
add(M + "margins", W8, torch.ones(3), 1.5, name="k")

# --- codes
for solver in ("softmax_code", "tammes_code", "thomson_code"):
    add(C + solver, 1, 3, name="K")
    add(C + solver, 5, 0, name="d")
    add(C + solver, 5, 3, restarts=0, name="restarts")
    add(C + solver, 5, 3, steps=0, name="steps")
    add(C + solver, 5, 3, seed=-1, name="seed")
    add(C + solver, 5, 3, seed=1.5, name="seed")
    add(C + solver, 5, 3, seed=2 ** 70, steps=5, name="seed")
    add(C + solver, 5, 3, lr=0.1, steps=5, name="lr")
    add(C + solver, 5, 3, lr=(math.nan, 1e-4), steps=5, name="lr")
    add(C + solver, 5, 3, lr=(-0.1, 1e-4), steps=5, name="lr")
    add(C + solver, 5, 3, chunk=0, name="chunk")
    add(C + solver, 5, 3, top=0, name="top")
    add(C + solver, 5, 3, device="tpu", name="device")
    add(C + solver, 5, 3, dtype="float16", name="dtype")
    add(C + solver, 8, 1_000_000, name="d")
for solver in ("softmax_code", "tammes_code"):
    add(C + solver, 5, 3, tau=(0.0, 1e-3), name="tau")
    add(C + solver, 5, 3, tau=0.3, name="tau")
    add(C + solver, 5, 3, tau_spread=0, name="tau_spread")
add(C + "softmax_code", 5, 3, h_start="x", name="h_start")
add(C + "tammes_code", 5, 3, hops=-1, name="hops")
add(C + "thomson_code", 5, 3, s=0, name="s")
add(C + "thomson_code", 5, 3, s=math.nan, name="s")
add(C + "riesz_energy", 1e160 * SQUARE, name="W", expect=_energy_close(1e-160 * (4 / math.sqrt(2) + 2 / 2)))
add(C + "riesz_energy", 1e-200 * SQUARE, name="W", expect=_energy_close(1e200 * (4 / math.sqrt(2) + 2 / 2)))
add(C + "riesz_energy", W8, s=-1, name="s")
add(C + "riesz_energy", W8, s="a", name="s")
add(C + "riesz_energy", NANW, name="W")
add(C + "describe_code", 1e160 * SQUARE, name="W", expect=_describe_close(1.0))
add(C + "describe_code", 1e-200 * SQUARE, name="W", expect=_describe_close(1.0))
add(C + "describe_code", NANW, name="W")
add(C + "describe_code", ONE, name="W")
add(C + "describe_code", W8, s=-2, name="s")

# --- UFM trainers
for trainer, extra in (("train_ufm", ()), ("train_spherical_ufm", (0.1,))):
    add(U + trainer, 1, 3, 2, *extra, steps=5, name="K")
    add(U + trainer, 4, 0, 2, *extra, steps=5, name="d")
    add(U + trainer, 4, 3, 0, *extra, steps=5, name="n")
    add(U + trainer, 4, 3, 2, *extra, steps=0, name="steps")
    add(U + trainer, 4, 3, 2, *extra, steps=5, lr=0, name="lr")
    add(U + trainer, 4, 3, 2, *extra, steps=5, lr=math.nan, name="lr")
    add(U + trainer, 4, 3, 2, *extra, steps=5, lr=-1.0, name="lr")
    add(U + trainer, 4, 3, 2, *extra, steps=5, lr=[0.1], name="lr")
    add(U + trainer, 4, 3, 2, *extra, steps=5, seed=-1, name="seed")
    add(U + trainer, 4, 3, 2, *extra, steps=5, seed=1.5, name="seed")
    add(U + trainer, 4, 3, 2, *extra, steps=5, seed=2 ** 70, name="seed")
    add(U + trainer, 4, 3, 2, *extra, steps=5, record_every=-1, name="record_every")
    add(U + trainer, 4, 3, 2, *extra, steps=5, device="tpu", name="device")
    add(U + trainer, BIGK, 3, 1, *extra, steps=2, name="K")
add(U + "train_ufm", 4, 3, 2, steps=5, lam_W=-1.0, name="lam_W")
add(U + "train_ufm", 4, 3, 2, steps=5, init_scale=0, name="init_scale")
add(U + "train_spherical_ufm", 4, 3, 2, 0.0, steps=5, name="tau")
add(U + "train_spherical_ufm", 4, 3, 2, -1.0, steps=5, name="tau")
add(U + "train_spherical_ufm", 4, 3, 2, "a", steps=5, name="tau")
add(U + "train_spherical_ufm", 4, 3, 2, 1e-320, steps=5, name="tau")
add(U + "train_spherical_ufm", 4, 3, 2, 0.1, steps=5, restarts=0, name="restarts")
add(U + "train_spherical_ufm", 4, 3, 2, 0.1, steps=5, schedule="abc", name="schedule")
add(U + "train_spherical_ufm", 4, 3, 2, 0.1, steps=5, schedule=[], name="schedule")
add(U + "train_spherical_ufm", 4, 3, 2, 0.1, steps=5, schedule=[0.1, -1], name="schedule")
add(U + "ufm_labels", 3, -1, name="n")
add(U + "ufm_labels", 1.5, 2, name="K")

# --- metrics
add(MT + "class_means", H16, Y16.double(), name="y")
add(MT + "class_means", H16, Y16, K=0, name="K")
add(MT + "class_means", H16, Y16[:5], name="y")
add(MT + "class_means", NANW, Y16[:8], name="H")
add(MT + "within_class_spread", H16, -Y16, name="y")
add(MT + "nc1", H1, Y1, name="K")
add(MT + "nc1", H16, Y16, rtol=-1.0, name="rtol")
add(MT + "nc1", H16, Y16, rtol="a", name="rtol")
add(MT + "nc2", name="W")
add(MT + "nc2", ONE, name="W")
add(MT + "nc2", H=H16, name="y")
add(MT + "nc2_equinorm", ONE, name="M")
add(MT + "nc2_equiangle", NANW, name="M")
add(MT + "nc2_maxangle", "abc", name="M")
add(MT + "nc3", torch.ones(8, 2, dtype=torch.float64), H16, Y16, name="W")
add(MT + "nc3", torch.zeros(8, 3, dtype=torch.float64), H16, Y16, name="W")
add(MT + "nc4", W8, H16, Y16, b=[math.nan] * 8, name="b")
add(MT + "nc4", W8, H16, Y16, b=[0.0] * 3, name="b")
add(MT + "nc4", W8, H16, Y16, b="abc", name="b")
add(MT + "gnc1", H1, Y1, name="K")
add(MT + "gnc1", torch.zeros(16, 3, dtype=torch.float64), Y16, name="H")
add(MT + "gnc2", ONE, name="W")
add(MT + "gnc2", torch.zeros(4, 3, dtype=torch.float64), name="W")
add(MT + "gnc3", torch.ones(8, 2, dtype=torch.float64), H16, Y16, name="W")
add(MT + "code_distance", W8, W8[:5], name="B")
add(MT + "code_distance", NANW, W8, name="A")
add(MT + "code_distance", BIG, BIG, name="K")

# --- hardmax
add(HM + "gaps", W8, H16, Y16 + 8, name="y")
add(HM + "gaps", W8, H16, Y16.double(), name="y")
add(HM + "gaps", W8, torch.ones(16, 2, dtype=torch.float64), Y16, name="H")
add(HM + "ce_loss", W8, H16, Y16, 0.0, name="tau")
add(HM + "ce_loss", W8, H16, Y16, 0.1, reduction="max", name="reduction")
add(HM + "tau_ce", W8, H16, Y16, math.nan, name="tau")
add(HM + "tau_ce", W8, H16, Y16, -0.1, name="tau")
add(HM + "hinge", W8, H16, Y16, reduction="x", name="reduction")
add(HM + "sample_margins", W8, H16, -Y16, name="y")
add(HM + "hardmax_objective", W8, torch.ones(0, 3, dtype=torch.float64), Y16[:0], name="H")
add(HM + "tau_ce_gap_bound", 1, 0.1, name="K")
add(HM + "tau_ce_gap_bound", 5, 0.0, name="tau")
add(HM + "best_known_rho", 0, 3, name="K")
add(HM + "tau_sweep", 4, 3, 2, [], name="taus")
add(HM + "tau_sweep", 4, 3, 2, [0.1, -1], steps=5, name="tau")
add(HM + "tau_sweep", 4, 3, 2, "abc", name="taus")
add(HM + "tau_sweep", 4, 3, 2, [0.1], steps=0, name="steps")
add(HM + "tau_sweep", 1, 3, 2, [0.1], name="K")

# --- certify
add(CF + "spherical_ce", W8, H16, Y16, 0.0, name="tau")
add(CF + "spherical_ce", W8, H16, Y16, -1.0, name="tau")
add(CF + "spherical_ce", W8, H16, Y16 + 8, 0.1, name="y")
add(CF + "spherical_ce", W8, torch.ones(16, 2, dtype=torch.float64), Y16, 0.1, name="H")
add(CF + "ufm_objective", 8, Y16.double() + 0.5, 0.1, name="y")
add(CF + "ufm_objective", 8, Y16, 0.0, name="tau")
add(CF + "ufm_objective", 1, Y16, 0.1, name="K")
add(CF + "stack", W8, torch.ones(4, 2, dtype=torch.float64), name="H")
add(CF + "unstack", W8, -1, name="K")
add(CF + "project_tangent", W8, torch.ones(8, 2, dtype=torch.float64), name="G")
add(CF + "riemannian_gradient", "f", W8, name="f")
add(CF + "riemannian_gradient", _ufm_f, 2 * W8, name="X")
add(CF + "riemannian_gradient", lambda X: X, W8, name="f")
add(CF + "riemannian_hessian", _ufm_f, NANW, name="X")
add(CF + "tangent_basis", torch.ones(3, 1, dtype=torch.float64), name="X")
add(CF + "rotation_directions", "abc", name="X")
add(CF + "hessian_min_eig_tangent", _ufm_f, W8, rank_tol=-1.0, name="rank_tol")
add(CF + "riemannian_newton", _ufm_f, W8, steps=-1, name="steps")
add(CF + "riemannian_newton", _ufm_f, W8, tol=-1.0, name="tol")
add(CF + "margin_lower_bound", W8, 8, torch.ones(3), name="k")
add(CF + "margin_lower_bound", W8, 0, torch.zeros(3), name="h")
add(CF + "margin_lower_bound", W8, 0, torch.ones(2), name="h")
add(CF + "margin_lower_bound", W8, 0.5, torch.ones(3), name="k")
add(CF + "hull_upper_bound", W8, 0, torch.ones(8), name="lam")
add(CF + "hull_upper_bound", W8, 0, torch.ones(3), name="lam")
add(CF + "duality_gap", 2 * W8, name="W")
add(CF + "duality_gap", NANW, name="W")
add(CF + "rattlers", W8, tol=-1.0, name="tol")
add(CF + "class_spread", H16, Y16.double(), name="y")
add(CF + "gnc1_except_rattlers", H16, Y16, [99], name="rattler_classes")
add(CF + "self_duality_residual", 2 * W8, H16, Y16, name="W")
add(CF + "softmax_vs_tammes", 1, 5, name="d")
add(CF + "softmax_vs_tammes", 3, 1, name="K")
add(CF + "softmax_vs_tammes", 3, 5, restarts=0, name="restarts")
add(CF + "tau_log_ce_bound", -0.5, 0.0, 8, 16, name="tau")
add(CF + "tau_log_ce_bound", -0.5, 0.1, 0, 16, name="K")
add(CF + "tau_log_ce_bound", -0.5, 0.1, 8, 0, name="N")
add(CF + "square_antiprism", device="tpu", name="device")
add(CF + "certified_ufm_path", 4, 3, 1, [], name="taus")
add(CF + "certified_ufm_path", 4, 1, 1, [0.1], name="d")
add(CF + "certified_ufm_path", 4, 3, 1, [0.1], warm_steps=0, name="warm_steps")
add(CF + "run_search", name="restarts", restarts=0, grid={3: [5]},
    setup=lambda box: ((), dict(path=box / "search.csv", restarts=0, grid={3: [5]}, verbose=False)))
add(CF + "run_search", name="effort",
    setup=lambda box: ((), dict(path=box / "search.csv", effort=-1, grid={3: [5]}, verbose=False)))
add(CF + "run_search", name="budget",
    setup=lambda box: ((), dict(path=box / "search.csv", budget=float("nan"), grid={3: [5]}, verbose=False)))
add(CF + "run_search", name="jobs",
    setup=lambda box: ((), dict(path=box / "search.csv", jobs=0, grid={3: [5]}, verbose=False)))
add(CF + "load_search", name="missing.csv", errors=(FileNotFoundError,),
    setup=lambda box: ((box / "missing.csv",), {}))

# --- gallery and references
add(GA + "gallery_code", "cube", 5, 3, name="kind")
add(GA + "gallery_code", "softmax", 1, 3, name="K")
add(GA + "gallery_code", "softmax", 5, 1, name="d")
add(GA + "gallery_code", "softmax", 2.5, 3, name="K")
add(GA + "gallery_code", "softmax", 5, 3, dtype="int8", name="dtype")
add(GA + "gallery_entry", "thomson", 0, 3, name="K")
add(GA + "bounds_table", (1,), name="d")
add(GA + "bounds_table", K_max=1, name="K_max")
add(GA + "bounds_table", kind="x", name="kind")
add(GA + "riesz_energy", NANW, name="W")
add(GA + "riesz_energy", W8, s=-1, name="s")
add(RF + "source", "nope", name="reference table")
add(RF + "read_table", 123, name="name")

# --- plotting
add(PL + "plot_code", torch.ones(5, 4, dtype=torch.float64), name="d")
add(PL + "plot_code", NANW, name="W")
add(PL + "plot_code", torch.zeros(3, 2, dtype=torch.float64), name="W")
add(PL + "plot_gram", "abc", name="W")
add(PL + "plot_gram", BIG, name="K")
add(PL + "plot_history", {}, name="history")
add(PL + "plot_history", {"step": [1, 2], "a": [1.0]}, name="history")
add(PL + "plot_history", {"step": [1, 2], "a": [1.0, 2.0]}, keys=["b"], name="history")
add(PL + "plot_margin_distribution", [], [], name="margins")
add(PL + "plot_margin_distribution", [np.ones(3)], ["a"], name="taus")
add(PL + "plot_hull_distance", W8, 0, name="W")
add(PL + "plot_hull_distance", SQUARE, 9, name="k")
add(PL + "plot_hull_distance", SQUARE, 1.5, name="k")
add(PL + "plot_bounds", "abc", name="table")

# --- widgets (pure views and the explorers, headless)
add(WC + "code_view", "cube", 5, 3, name="kind")
add(WC + "code_view", "softmax", 1, 3, name="K")
add(WC + "code_explorer", kind="x", draw=False, name="kind")
add(WE + "etf_view", 1, 1, name="K")
add(WE + "etf_view", "a", 3, name="K")
add(WE + "etf_explorer", 0, 3, name="K")
add(WM + "margin_view", SQUARE, 9, [1.0, 0.0], name="k")
add(WM + "margin_view", SQUARE, 0, [0.0, 0.0], name="h")
add(WM + "margin_view", SQUARE, 0, "ab", name="h")
add(WM + "demo_code", "nope", name="name")
add(WM + "margin_explorer", code="x", draw=False, name="code")
add(WT + "snap_tau", 0, name="tau")
add(WT + "snap_tau", "a", name="tau")
add(WT + "tau_run", 0.0, name="tau")
add(WT + "tau_view", -1.0, name="tau")
add(WT + "tau_explorer", K=1, draw=False, name="K")

# ============================================================================= lessons 05-07, second edition
# Rows for the public functions added by lessons 05, 06, 07 and the second edition of lessons 01-04.
BIGU = _unit(BIG)                                                         # K = 80,000 unit rows
TE, NW, DL, IM = "gnc_teach.uniformity.", "gnc_teach.uniform_codes.", "gnc_teach.models.deep_linear.", \
    "gnc_teach.imbalance."
HG, HU, NT, DS = "gnc_teach.hug.", "gnc_teach.models.hug_ufm.", "gnc_teach.models.networks.", "gnc_teach.datasets."
TR, VT = "gnc_teach.training.", "gnc_teach.views.training."
WH, WI = "gnc_teach.views.widgets.hug_explorer.", "gnc_teach.views.widgets.imbalance_explorer."
N53 = (5, 3)                                                              # two classes of sizes 5 and 3
IMG = torch.zeros(2, 1, 8, 8)                                             # two 8x8 one-channel images
GEN = torch.Generator().manual_seed(0)


def _tiny_data():
    from gnc_teach.datasets import Dataset
    X = torch.zeros(2, 1, 2, 2)
    return Dataset("tiny", X, Y16[:2], X, Y16[:2], 8)


TINY = _tiny_data()


def _net():
    from gnc_teach.models.networks import mlp
    torch.manual_seed(0)
    return mlp((1, 2, 2), 3, 8, width=4, tau=0.1)


def _run(tau=0.1):
    from gnc_teach.training.result import TrainResult
    hist = {"epoch": [1, 2], "train_acc": [0.5, 0.9], "test_acc": [0.4, 0.8], "gnc2": [0.5, 0.6],
            "nc1": [1.0, 0.5]}
    return TrainResult(config={"tau": tau, "data": "digits", "arch": "mlp"}, history=hist, W=W8.clone(),
                       rho_ref=0.7, rho_ref_source="test")


def _under_a_file(box):
    """A folder that cannot be created: ``f/run`` where ``f`` is a file of the sandbox."""
    (box / "f").write_text("x")
    return box / "f" / "run"


def _bad_metrics(box):
    (box / "run").mkdir()
    (box / "run" / "metrics.json").write_text("{ not json")
    return (box / "run",), {}


def _bad_cifar(box):
    folder = box / "cifar-10-batches-py"
    folder.mkdir()
    for f in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (folder / f).write_bytes(b"not a pickle")
    return (box,), {"classes": 10}


def _bad_search(box):
    (box / "search.csv").write_text("# a comment only\n")
    return (box / "search.csv",), {}


# --- geometry, metrics, hardmax (second edition)
add(G + "cube", device="tpu", name="device")
add(G + "cube", dtype="float16", name="dtype")
add(G + "perturb", W8, -1.0, name="eps")
add(G + "perturb", W8, math.nan, name="eps")
add(G + "perturb", NANW, 0.1, name="W")
add(G + "perturb", "abc", 0.1, name="W")
add(G + "perturb", W8, 0.1, seed=-1, name="seed")
add(G + "perturb", W8, 0.1, seed=2 ** 70, name="seed")
add(G + "perturb", 2 * W8, 1e-3, name="W", expect=lambda P: torch.allclose(P.norm(dim=1), torch.ones(8, dtype=P.dtype))
    and 0.5e-3 < float((P - W8).norm(dim=1).max()) < 2e-3)        # a code near the normalised W, not near 2W
add(MT + "gnc3_uncentred", torch.ones(8, 2, dtype=torch.float64), H16, Y16, name="W")
add(MT + "gnc3_uncentred", W8, H16, Y16, per_class="yes", name="per_class")
add(MT + "gnc3_margin", W8, H16, Y16 + 8, name="y")
add(MT + "gnc3_margin", NANW, H16, Y16, name="W")
add(MT + "gram_error", W8, torch.eye(3, dtype=torch.float64), name="target")
add(MT + "gram_error", W8, torch.zeros(8, 8, dtype=torch.float64), name="target")
add(MT + "gram_error", "abc", torch.eye(8, dtype=torch.float64), name="A")
add(MT + "gram_error", BIG, torch.eye(2, dtype=torch.float64), name="K")
add(MT + "orthogonal_frame_error", ONE, name="A")
add(MT + "orthogonal_frame_error", torch.zeros(4, 3, dtype=torch.float64), name="A")
add(MT + "orthogonal_frame_error", BIG, name="K")
add(MT + "simplex_etf_error", NANW, name="A")
add(MT + "class_lengths", torch.ones(8, 2, dtype=torch.float64), H16, Y16, name="W")
add(MT + "class_lengths", W8, H16, Y16[:5], name="y")
add(MT + "class_alignment", W8, H16, Y16.double(), name="y")
add(MT + "nc1_layers", W8, H16, Y16, name="layers")
add(MT + "nc1_layers", [torch.ones(4, 2, dtype=torch.float64)], H16, Y16, name="layers[0]")
add(MT + "nc1_layers", [W8.T.clone()], H16, Y16, rtol=-1.0, name="rtol")
add(HM + "rho_gap_bound", 1, 16, 0.1, name="K")
add(HM + "rho_gap_bound", 8, 0, 0.1, name="N")
add(HM + "rho_gap_bound", 8, 16, -0.1, name="tau")

# --- uniformity and its optimal codes (lesson 06)
add(TE + "energy", W8, "x", name="measure")
add(TE + "energy", W8, s=-1, name="s")
add(TE + "energy", W8, s="a", name="s")
add(TE + "energy", W8, "gram_det", gamma=0, name="gamma")
add(TE + "energy", W8, reduction="max", name="reduction")
add(TE + "energy", 2 * W8, name="W")
add(TE + "energy", NANW, name="W")
add(TE + "energy", ONE, name="W")
add(TE + "energy", "abc", name="W")
add(TE + "energy", BIGU, name="K")
add(TE + "pair_distances", BIGU, name="K")
add(TE + "pair_distances", torch.ones(3), name="W")
add(TE + "min_separation", 2 * W8, name="W")
add(TE + "gram_logdet", W8, gamma=-1.0, name="gamma")
add(TE + "gram_logdet", BIGU, name="K")
add(TE + "check_measure", "x", name="measure")
add(TE + "check_measure", "riesz", s=math.nan, name="s")
add(TE + "measure_label", "riesz", s=-2, name="s")
add(TE + "check_unit_rows", W8, tol=-1.0, name="tol")
add(TE + "check_unit_rows", "abc", name="W")
add(TE + "check_pairs_memory", 1, BIGK, dtype=torch.float64, device="cpu", name="K")
add(NW + "optimal_code", 1, 3, name="K")
add(NW + "optimal_code", 8, 1, name="d")
add(NW + "optimal_code", 8, 3, measure="x", name="measure")
add(NW + "optimal_code", 8, 3, restarts=0, name="restarts")
add(NW + "optimal_code", 8, 3, measure="log", steps=0, name="steps")
add(NW + "optimal_code", 8, 3, seed=-1, name="seed")
add(NW + "optimal_code", 8, 3, measure="log", seed=2 ** 70, steps=5, name="seed")
add(NW + "optimal_code", 8, 3, newton_steps=-1, name="newton_steps")
add(NW + "optimal_code", 8, 3, device="tpu", name="device")
add(NW + "optimal_code", 8, 3, dtype="float16", name="dtype")
add(NW + "optimal_code", BIGK, 3, measure="log", steps=2, name="K")
add(NW + "optimal_code", BIGK, 3, measure="gram_det", steps=2, name="K")
add(NW + "icosahedron", device="tpu", name="device")
add(NW + "proved_optimum", 1, 3, name="K")
add(NW + "proved_optimum", 8, 3, "x", name="measure")
add(NW + "code_values", NANW, name="W")
add(NW + "code_values", "abc", name="W")
add(NW + "code_values", W8, measures=[("a", "x", 1.0, 1.0)], name="measure")
add(NW + "compare_codes", {}, name="codes")
add(NW + "compare_codes", "abc", name="codes")
add(NW + "compare_codes", {"a": NANW}, name="codes")
add(NW + "disagreement", 1, 3, name="K")
add(NW + "disagreement", 8, 3, seed=-1, name="seed")
add(NW + "run_search", name="K", setup=lambda box: ((), dict(path=box / "s.csv", grid={3: [1]}, verbose=False)))
add(NW + "run_search", name="grid", setup=lambda box: ((), dict(path=box / "s.csv", grid="abc", verbose=False)))
add(NW + "run_search", name="path", setup=lambda box: ((), dict(path=box / "no" / "dir" / "s.csv", grid={3: [4]},
                                                                 verbose=False)))
add(NW + "load_search", name="missing.csv", errors=(FileNotFoundError,),
    setup=lambda box: ((box / "missing.csv",), {}))
add(NW + "load_search", name="path", setup=_bad_search)

# --- the HUG loss and the HUG spherical UFM (lesson 06)
add(HG + "hug_loss", "abc", Y16, W8, name="features")
add(HG + "hug_loss", NANW, Y16[:8], W8, name="features")
add(HG + "hug_loss", H16, Y16 + 8, W8, name="labels")
add(HG + "hug_loss", H16, Y16.double(), W8, name="labels")
add(HG + "hug_loss", H16, Y16, 2 * W8, name="proxies")
add(HG + "hug_loss", H16, Y16, _unit(torch.ones(8, 2, dtype=torch.float64)), name="proxies")
add(HG + "hug_loss", H16, Y16, W8, intra_weight=-1.0, name="intra_weight")
add(HG + "hug_loss", H16, Y16, W8, measure="x", name="measure")
add(HG + "hug_loss", H16, Y16, None, num_classes=1, name="num_classes")
add(HG + "hug_loss", H16[:2], torch.zeros(2, dtype=torch.long), name="labels")
add(HG + "hug_loss", H16, Y16, W8, return_terms="yes", name="return_terms")
add(HG + "hug_loss", BIG[:16], torch.arange(16), BIGU, name="K")
add(HG + "batch_proxies", H16, Y16, 0, name="K")
add(HG + "batch_proxies", H16, Y16 + 8, 8, name="labels")
add(HG + "batch_proxies", "abc", Y16, 8, name="features")
add(HG + "predict", H16, torch.ones(8, 2, dtype=torch.float64), name="proxies")
add(HG + "predict", "abc", W8, name="features")
add(HU + "train_hug_ufm", 1, 3, 2, steps=5, name="K")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, measure="x", name="measure")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, intra_weight=-1.0, name="intra_weight")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, optimizer="sgd", name="optimizer")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, proxies="yes", name="proxies")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, lr=0, name="lr")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, seed=-1, name="seed")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, seed=2 ** 70, name="seed")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, seed=1.5, name="seed")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, restarts=0, name="restarts")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, record_every=-1, name="record_every")
add(HU + "train_hug_ufm", 8, 3, 2, steps=5, device="tpu", name="device")
add(HU + "train_hug_ufm", BIGK, 3, 1, steps=2, name="K")
add(HU + "decoupling_sweep", intra_weights=[-1.0], name="intra_weights")
add(HU + "decoupling_sweep", intra_weights=[], name="intra_weights")
add(HU + "decoupling_sweep", inter_weights="abc", name="inter_weights")
add(HU + "decoupling_sweep", ce_scales=[0.0], name="ce_scales")
add(HU + "decoupling_sweep", tau=0.0, name="tau")
add(HU + "decoupling_sweep", K=1, name="K")
add(HU + "decoupling_sweep", seed=-1, name="seed")
add(HU + "decoupling_sweep", K=BIGK, steps=2, name="K")

# --- deep linear UFM and imbalance (lesson 07)
add(DL + "train_deep_linear_ufm", [5], name="n")
add(DL + "train_deep_linear_ufm", (5, 0), name="n")
add(DL + "train_deep_linear_ufm", "abc", name="n")
add(DL + "train_deep_linear_ufm", N53, M=0, name="M")
add(DL + "train_deep_linear_ufm", N53, lam_W=-1.0, name="lam_W")
add(DL + "train_deep_linear_ufm", N53, loss="x", name="loss")
add(DL + "train_deep_linear_ufm", N53, 1, name="d")
add(DL + "train_deep_linear_ufm", N53, [2, 2], name="d")
add(DL + "train_deep_linear_ufm", N53, restarts=0, name="restarts")
add(DL + "train_deep_linear_ufm", N53, init_scale=(0, 1), name="init_scale")
add(DL + "train_deep_linear_ufm", N53, init_scale="a", name="init_scale")
add(DL + "train_deep_linear_ufm", N53, seed=-1, name="seed")
add(DL + "train_deep_linear_ufm", N53, seed=2 ** 70, name="seed")
add(DL + "train_deep_linear_ufm", N53, max_iter=-1, name="max_iter")
add(DL + "train_deep_linear_ufm", N53, gtol=0, name="gtol")
add(DL + "train_deep_linear_ufm", N53, bias="no", name="bias")
add(DL + "train_deep_linear_ufm", N53, device="tpu", name="device")
add(DL + "train_deep_linear_ufm", [1] * BIGK, max_iter=1, name="K")
add(DL + "deep_linear_objective", W8, H16, Y16, lam_W=0.1, lam_H=0.1, name="layers")
add(DL + "deep_linear_objective", [torch.ones(8, 2, dtype=torch.float64)], H16, Y16, lam_W=0.1, lam_H=0.1,
    name="layers[0]")
add(DL + "deep_linear_objective", [torch.ones(4, 3, dtype=torch.float64)], H16, Y16, lam_W=0.1, lam_H=0.1, name="y")
add(DL + "deep_linear_objective", [W8], H16, Y16, lam_W=-1.0, lam_H=0.1, name="lam_W")
add(DL + "deep_linear_objective", [W8], H16, Y16, lam_W=0.1, lam_H=0.1, b=[1.0], name="b")
add(DL + "deep_linear_objective", [W8], H16, Y16, lam_W=0.1, lam_H=0.1, b=["a"] * 8, name="b")
add(DL + "deep_linear_objective", [W8], H16, Y16, lam_W=0.1, lam_H=0.1, b=[math.nan] * 8, name="b")
add(DL + "deep_linear_objective", [W8], H16, Y16, lam_W=0.1, lam_H=0.1, loss="x", name="loss")
add(DL + "class_labels", (5, -1), name="n")
add(DL + "class_labels", 3, name="n")
add(DL + "closed_form_errors", None, name="result")
add(DL + "closed_form_errors", "abc", name="result")
add(DL + "reference_scale", N53, -1.0, 0.1, 1, name="lam_W")
add(DL + "reference_scale", "abc", 0.1, 0.1, 1, name="n")
add(DL + "reference_scale", N53, 0.1, 0.1, 0, name="M")
add(IM + "deep_linear_optimum", N53, 0, 0.1, name="lam_W")
add(IM + "deep_linear_optimum", N53, 0.1, 0.1, M=0, name="M")
add(IM + "deep_linear_optimum", N53, 0.1, 0.1, width=0, name="width")
add(IM + "deep_linear_optimum", N53, 0.1, 0.1, bias="no", name="bias")
add(IM + "deep_linear_optimum", [1] * BIGK, 0.01, 0.01, name="K")
add(IM + "collapse_threshold", 0, 0.1, 0.1, name="N")
add(IM + "collapse_threshold", 10, math.nan, 0.1, name="lam_W")
add(IM + "class_fit", -1, 10, 0.1, 0.1, name="n_k")
add(IM + "class_fit", [1, math.nan], 10, 0.1, 0.1, name="n_k")
add(IM + "class_fit", "abc", 10, 0.1, 0.1, name="n_k")
add(IM + "class_objective", "abc", 5, 10, 0.1, 0.1, name="z")
add(IM + "class_objective", 0.5, 0, 10, 0.1, 0.1, name="n_k")
add(IM + "stationary_fits", 0, 10, 0.1, 0.1, name="n_k")
add(IM + "predicted_lengths", 5, 10, 0.1, 0.1, M=1.5, name="M")
add(IM + "local_minima", (5,), 0.1, 0.1, name="n")
add(IM + "local_minima", N53, 0.1, 0.1, M=-1, name="M")
add(IM + "check_class_sizes", (5, 2.5), name="n[1]")

# --- networks, data and training (lesson 05)
add(NT + "mlp", (1, 8, 8), 0, 10, name="d")
add(NT + "mlp", (1, 8, 8), 3, 1, name="K")
add(NT + "mlp", (1, 8, 8), 3, 10, width=0, name="width")
add(NT + "mlp", (1, 8, 8), 3, 10, depth=-1, name="depth")
add(NT + "mlp", (1, 8, 8), 3, 10, tau=0.0, name="tau")
add(NT + "mlp", (1, 8, 8), 3, 10, bias="no", name="bias")
add(NT + "mlp", "abc", 3, 10, name="in_shape")
add(NT + "small_cnn", (1, 8, 8), 3, 10, width=1, name="width")
add(NT + "small_cnn", (), 3, 10, name="in_shape")
add(NT + "resnet18", (3, 32, 32), 3, 10, width=0, name="width")
add(NT + "resnet18", [3.5], 3, 10, name="in_shape")
add(NT + "build_network", "x", (1, 8, 8), 3, 10, name="arch")
add(NT + "build_network", "cnn", (1, 8, 8), 3, 10, depth=2, name="depth")
add(NT + "build_network", "mlp", (1, 8, 8), 3.5, 10, name="d")
add(DS + "load_dataset", "x", name="name")
add(DS + "load_dataset", "digits", K=11, name="K")
add(DS + "load_dataset", "digits", seed=-1, name="seed")
add(DS + "load_dataset", "digits", seed=2 ** 70, name="seed")
add(DS + "load_dataset", "cifar10", name="data_dir")
add(DS + "load_dataset", "cifar10", data_dir="/no/such/dir", name="data_dir")
add(DS + "load_dataset", "cifar10", foo=1, name="foo")
add(DS + "load_dataset", "digits", foo=1, name="foo")
add(DS + "digits", K=1, name="K")
add(DS + "digits", test_fraction=1.0, name="test_fraction")
add(DS + "digits", seed=1.5, name="seed")
add(DS + "digit_pairs", per_class=0, name="per_class")
add(DS + "digit_pairs", K=101, name="K")
add(DS + "digit_pairs", test_per_class=0, name="test_per_class")
add(DS + "cifar", None, name="data_dir")
add(DS + "cifar", "/no/such/dir", classes=20, name="classes")
add(DS + "cifar", name="data_dir", setup=_bad_cifar)
add(DS + "augment_images", IMG, generator=None, name="generator")
add(DS + "augment_images", torch.zeros(8, 8), generator=GEN, name="X")
add(DS + "augment_images", IMG, generator=GEN, pad=-1, name="pad")
add(DS + "augment_images", IMG, generator=GEN, degrees=math.nan, name="degrees")
add(DS + "check_cifar_folder", None, name="data_dir")
add(DS + "with_label_noise", TINY, 1.0, name="rate")
add(DS + "with_label_noise", "abc", 0.1, name="data")
add(DS + "with_label_noise", TINY, 0.1, seed=-1, name="seed")
add(DS + "check_cifar_folder", "/no/such/dir", "x", name="name")
add(TR + "make_config", "nope", name="config")
add(TR + "make_config", 5, name="config")
add(TR + "make_config", foo=1, name="foo")
add(TR + "make_config", lr=0, name="lr")
add(TR + "make_config", momentum=1.0, name="momentum")
add(TR + "make_config", augment=True, name="augment")
add(TR + "make_config", tau="a", name="tau")
add(TR + "make_config", seed=2 ** 70, name="seed")
add(TR + "make_config", eval_samples=1, name="eval_samples")
add(TR + "train", epochs=0, name="epochs")
add(TR + "train", device="tpu", epochs=1, name="device")
add(TR + "train", data="cifar10", name="data_dir")
add(TR + "train", resume=True, name="out")
add(TR + "train", batch_size=0, name="batch_size")
add(TR + "train", K=11, name="K")
add(TR + "train", name="out", setup=lambda box: ((), {"out": _under_a_file(box)}))
add(TR + "train", name="K", setup=lambda box: ((), {"out": box / "r", "K": 11}))      # no folder made either
add(TR + "build_model", "abc", None, name="cfg")
add(TR + "load_data", "abc", name="cfg")
add(TR + "load_run", name="out", setup=lambda box: ((box / "missing",), {}))
add(TR + "load_run", name="out", setup=_bad_metrics)
add(TR + "reference_rho", 1, 3, name="K")
add(TR + "reference_rho", 8, 0, name="d")
add(TR + "collapse_metrics", "model", H16, Y16, 0.7, name="model")
add(TR + "collapse_metrics", _net(), H16, Y16, -1.0, name="rho_ref")
add(TR + "collapse_metrics", _net(), torch.ones(8, 2, dtype=torch.float64), Y16[:8], 0.7, name="H")
add(TR + "evaluate", "abc", TINY, IMG, Y16[:2], dtype=torch.float32, name="model")
add(TR + "evaluate", _net(), "abc", torch.zeros(2, 1, 2, 2), Y16[:2], dtype=torch.float32, name="data")
add(TR + "evaluate", _net(), TINY, torch.zeros(2, 1, 2, 2), Y16[:3], dtype=torch.float32, name="y")
add("gnc_teach.training.loop.epoch_seed", -1, 0, name="seed")
add("gnc_teach.training.loop.epoch_seed", 0, "a", name="epoch")
add("gnc_teach.training.result.check_out", name="out", setup=lambda box: ((_under_a_file(box),), {}))
add("gnc_teach.training.distributed.setup", "tpu", name="device")
add("gnc_teach.training.distributed.any_process", "abc", True, name="ctx")
add("gnc_teach.training.record.noise_metrics", _net(), H16, Y16, Y16[:5], name="y_clean")
add("gnc_teach.training.record.noise_metrics", "abc", H16, Y16, Y16, name="model")
add(TR + "sweep", seeds=[], name="seeds")
add(TR + "sweep", seeds=[-1], name="seeds[0]")
add(TR + "sweep", lr=[0.1, -1.0], seeds=[0], name="lr")
add(TR + "sweep", loss=[], name="loss")
add(TR + "summarize", [], name="rows")
add(TR + "summarize", [{"loss": "ce", "test_acc": 0.5}], name="by")
add(TR + "summarize", [{"loss": "ce", "test_acc": 0.5}], "nope", by="loss", name="key")
add(TR + "summarize", [{"loss": "ce", "test_acc": 0.5}], by="x", name="by")
add("gnc_teach.training.distributed.wrap", "abc", None, name="ctx")
add("gnc_teach.training.distributed.teardown", "abc", name="ctx")
add(VT + "plot_epochs", "abc", ["nc1"], name="run")
add(VT + "plot_epochs", _run(), ["nope"], name="keys")
add(VT + "plot_tau_sweep", [], name="runs")
add(VT + "plot_tau_sweep", [_run(None)], name="runs")
add(VT + "plot_tau_sweep", "abc", name="runs")

# --- widgets of lessons 05-07 and the pure view functions of every widget
add(WH + "hug_run", -1.0, 1.0, name="intra_weight")
add(WH + "hug_run", 1.0, 1.0, measure="x", name="measure")
add(WH + "hug_run", 1.0, 1.0, optimizer="x", name="optimizer")
add(WH + "hug_run", 1.0, 1.0, K=1, name="K")
add(WH + "hug_reference", "x", name="measure")
add(WH + "hug_reference", K=1, name="K")
add(WH + "hug_view", -1.0, name="intra_weight")
add(WH + "hug_view", "a", name="intra_weight")
add(WH + "hug_view", 1.0, 1.0, steps=0, name="steps")
add(WH + "hug_label", {}, name="view")
add(WH + "hug_label", "abc", name="view")
add(WH + "draw_hug_view", {}, name="view")
add(WH + "hug_explorer", K=1, draw=False, name="K")
add(WI + "parse_sizes", "5, x", name="class size 1")
add(WI + "parse_sizes", 5, name="class sizes")
add(WI + "trained_run", N53, -1.0, 0.1, 1, name="lam_W")
add(WI + "trained_run", (5,), 0.1, 0.1, 1, name="n")
add(WI + "trained_run", N53, 0.1, 0.1, 1, restarts=0, name="restarts")
add(WI + "imbalance_view", N53, -1.0, name="lam_W")
add(WI + "imbalance_view", N53, grid_points=0, name="grid_points")
add(WI + "imbalance_view", N53, train=True, restarts=0, name="restarts")
add(WI + "imbalance_label", {}, name="view")
add(WI + "draw_imbalance_view", {}, name="view")
add(WI + "imbalance_explorer", n="abc", draw=False, name="class size 0")
add(WI + "imbalance_explorer", restarts=0, draw=False, name="restarts")
add(WC + "code_label", {}, name="view")
add(WC + "draw_code", "abc", name="view")
add(WM + "margin_label", {}, name="view")
add(WM + "draw_margins", {}, name="view")
add(WT + "summarize", "abc", 0.1, name="res")
add(WT + "is_trained", -1.0, name="tau")
add(WT + "is_trained", 0.1, K=1, name="K")
add(WT + "view_from_sweep", "abc", name="sweep")
add(WT + "tau_label", {}, name="view")
add(WT + "draw_tau_view", {}, name="view")


# --- exercise generator (files live in the sandbox)
_NB = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                  "source": "x = 1\n### BEGIN SOLUTION\nx = 42\n### END SOLUTION\n"}],
       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _solution_file(box, name="01_a.ipynb", nb=_NB, folder="solutions"):
    (box / folder).mkdir(exist_ok=True)
    path = box / folder / name
    path.write_text(json.dumps(nb))
    return path


def _same_path(box):
    src = _solution_file(box)
    return (src, src), {}


def _linked_exercises(box):
    _solution_file(box)
    (box / "exercises").symlink_to(box / "solutions", target_is_directory=True)
    return (["exercises", "--root", str(box)],), {}


def _one_broken(box):
    _solution_file(box, "01_a.ipynb")
    (box / "exercises").mkdir()
    (box / "exercises" / "01_a.ipynb").write_text("stale\n")
    (box / "solutions" / "02_b.ipynb").write_text("{ this is not json")
    return (["exercises", "--root", str(box)],), {}


def _raw_cell(box):
    nb = json.loads(json.dumps(_NB))
    nb["cells"].append({"cell_type": "raw", "metadata": {},
                        "source": "### BEGIN SOLUTION\nthe answer is 42\n### END SOLUTION\n"})
    return (_solution_file(box, nb=nb),), {}


def _invalid_notebook(box):
    (box / "solutions").mkdir()
    path = box / "solutions" / "01_a.ipynb"
    path.write_text("{ this is not json")
    return (path,), {}


add(EX + "make_exercise", name="dst_path", setup=_same_path)
add(EX + "make_exercise", name="01_a.ipynb", setup=_raw_cell)
add(EX + "make_exercise", name="01_a.ipynb", setup=_invalid_notebook)
add(EX + "make_exercise", name="missing.ipynb", errors=(FileNotFoundError,),
    setup=lambda box: ((box / "missing.ipynb",), {}))
add(EX + "exercise_text", 123, name="source")
add(EX + "exercise_text", "x", cell_type=5, name="cell_type")
add(EX + "solution_regions", None, name="source")
add(EX + "annotate", "abc", name="nb")
add(EX + "is_annotated", 5, name="nb")
NC = "gnc_teach.nbgrader_cells."
add(NC + "cell_role", "code", 5, name="source")
add(NC + "cell_role", "cell", "x", name="cell_type")
add(NC + "cell_role", "code", "x = 1\n# BEGIN SOLUTION in a comment", name="BEGIN SOLUTION")
add(NC + "cell_metadata", "abc", name="cells")
add(NC + "student_source", "markdown", None, name="source")
add(NC + "regions", "code", "### END SOLUTION", name="SOLUTION")
add(NC + "secret_lines", "raw", "### BEGIN SOLUTION\n### END SOLUTION", name="raw")
add(NC + "release_metadata", "code", "x", {"grade": True}, name="meta")
add("gnc_teach.course.make_course", name="root", setup=lambda box: ((box / "course",), {"root": box / "nowhere"}))
add("gnc_teach.course.make_course", name="lessons",
    setup=lambda box: ((box / "course",), {"root": ROOT, "lessons": ["99"]}))

# --- exercise checks: the student's function sleeps, spins, exits, returns junk, ...
_CHECKS = ["ufm_training", "spread_points", "hull_certificate", "rho_from_scratch", "beat_the_gallery",
           "small_tau_trainer", "rho_predictor", "saddle_direction", "newton_step", "spurious_minimum", "ce_floor",
           "training_loop", "riesz_descent", "disagreement", "deep_linear_training", "global_minimum"]
for i, check in enumerate(_CHECKS):
    add(CK + check, quitter, name="", expect="feedback")
    add(CK + check, returns_text, name="", expect="feedback")
    add(CK + check, interrupter, name="", expect="feedback")
    if i % 3 == 0:
        add(CK + check, sleeper if i % 2 == 0 else spinner, name="", expect="feedback")
add(CK + "rho_predictor", lambda: (lambda tau: 0.7), taus=[-1], name="", expect="feedback")
add(CK + "rho_predictor", lambda: (lambda tau: 0.7), taus="abc", name="", expect="feedback")
add(CK + "small_tau_trainer", None, name="", expect="feedback")
for check in ("riesz_descent", "disagreement", "global_minimum"):   # every lesson 05-07 check
    add(CK + check, spinner if check in ("riesz_descent", "global_minimum") else sleeper, name="", expect="feedback")
add(CK + "pairs_challenge", "abc", name="", expect="feedback")
add(CK + "pairs_challenge", {"epochs": 0}, name="", expect="feedback")
add(CK + "pairs_challenge", {"data": "cifar100"}, name="", expect="feedback")
add(CK + "global_minimum", stub, budget=-1, name="", expect="feedback")

# --- validation helpers
add(TS + "check_int", 1.5, "n", name="n")
add(TS + "check_positive", -1, "lr", name="lr")
add(TS + "as_matrix", "x", "W", name="W")
add(TS + "as_labels", [0.5, 1.0], "y", n=2, name="y")
add(TS + "resolve", "tpu", name="device")
add(TS + "as_array", [[1.0, math.nan]], "X", name="X")
add(TS + "as_vector", [1.0, 2.0], "b", n=3, name="b")
add(TS + "check_seed", -1, name="seed")
add(TS + "check_pair", 0.1, "lr", example="(0.1, 1e-3)", name="lr")
add(TS + "unit_rows", torch.zeros(2, 3, dtype=torch.float64), "W", name="W")
add(TS + "power_of_two_scale", "abc", name="A")
add(TS + "check_bool", "no", "flag", name="flag")
add(TS + "check_type", 3, str, "name", what="a string", name="name")
add(TS + "check_fraction", 1.0, "rate", name="rate")
add(TS + "generator", -5, name="seed")
add(TS + "require_unit_rows", 2 * W8, "W", tol=1e-8, name="W")

# --- the command line (in process; argparse errors exit 2)
CLI = "gnc_teach.cli.main"
for argv, opt in [
    (["code", "softmax", "--K", "1", "--d", "3"], "--K"),
    (["code", "softmax", "--K", "0", "--d", "3"], "--K"),
    (["code", "softmax", "--K", "x", "--d", "3"], "--K"),
    (["code", "softmax", "--K", "5", "--d", "0"], "--d"),
    (["code", "softmax", "--K", "5", "--d", "3", "--seed", "-1"], "--seed"),
    (["code", "softmax", "--K", "5", "--d", "3", "--seed", "1.5"], "--seed"),
    (["code", "softmax", "--K", "5", "--d", "3", "--seed", str(2 ** 70), "--steps", "5"], "--seed"),
    (["code", "softmax", "--K", "5", "--d", "3", "--restarts", "0"], "--restarts"),
    (["code", "softmax", "--K", "5", "--d", "3", "--steps", "0"], "--steps"),
    (["code", "softmax", "--K", "5", "--d", "3", "--s", "2"], "--s"),
    (["code", "thomson", "--K", "5", "--d", "3", "--s", "0"], "--s"),
    (["code", "softmax", "--K", "5", "--d", "3", "--device", "tpu"], "--device"),
    (["code", "softmax", "--K", "5", "--d", "3", "--dtype", "int8"], "--dtype"),
    (["code", "softmax", "--K", "5", "--d", "3", "--save", "/no/such/dir/W.npy"], "--save"),
    (["code", "softmax", "--K", "8", "--d", "1000000"], "--d"),
    (["code", "cube", "--K", "5", "--d", "3"], "kind"),
    (["code", "softmax", "--d", "3"], "--K"),
    (["code"], "kind"),
    (["nonsense"], "COMMAND"),
    ([], "COMMAND"),
    (["exercises", "--root", "/no/such/dir"], "--root"),
    (["train", "--out", "r", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "1"], "--out"),
    (["train", "--out", "r", "--tau", "-1"], "--tau"),
    (["train", "--out", "r", "--loss", "x"], "--loss"),
    (["train", "--out", "r", "--loss", "hug"], "--loss"),
    (["train", "--out", "r", "--label-noise", "1.5"], "--label-noise"),
    (["train", "--out", "r", "--data", "cifar10"], "--data-dir"),
    (["train", "--out", "r", "--K", "11"], "--K"),
    (["train", "--out", "r", "--device", "tpu"], "--device"),
    (["train", "--out", "r", "--seed", str(2 ** 70)], "--seed"),
    (["train", "--out", "r", "--momentum", "1"], "--momentum"),
    (["train", "--out", "r", "--config", "nope"], "--config"),
    (["course"], "directory"),
    (["course", "/no/such/dir/course", "--root", "/no/such/dir"], "root"),
]:
    add(CLI, argv, name=opt, expect="exit2")
add(CLI, ["code", "thomson", "--K", "3", "--d", "1", "--fast", "--json"], name="", expect="json")
add(CLI, name="exercises", expect="exit2", setup=_linked_exercises)
add(CLI, name="02_b.ipynb", expect="exit2", setup=_one_broken)
add(CLI, name="--out", expect="exit2", setup=lambda box: ((["train", "--epochs", "1", "--out", str(_under_a_file(box))],),
                                                          {}))


# ============================================================================ website, app, explorer twins
# Rows for gnc_teach.site (`gnc-teach site build`, `gnc-teach app`), gnc_teach.views.registry and
# gnc_teach.views.twins, kept together here (issue 16); SITE_MODULES lists what they must cover.
SITE_MODULES = ["gnc_teach.site.build", "gnc_teach.site.cli", "gnc_teach.site.pages", "gnc_teach.site.notebooks",
                "gnc_teach.site.app", "gnc_teach.views.registry", "gnc_teach.views.twins.twin",
                "gnc_teach.views.twins.figures", "gnc_teach.views.twins.etf", "gnc_teach.views.twins.codes",
                "gnc_teach.views.twins.margins", "gnc_teach.views.twins.tau", "gnc_teach.views.twins.hug",
                "gnc_teach.views.twins.imbalance", "gnc_teach.views.twins.stored"]
# no input to get wrong: functions without arguments, and a result container
SITE_SKIP = {"free_port", "plotly_config", "sweep_params", "SiteResult"}
SB, SC, SP, SN, SA = ("gnc_teach.site." + m + "." for m in ("build", "cli", "pages", "notebooks", "app"))
RG, TW, TF = "gnc_teach.views.registry.", "gnc_teach.views.twins.twin.", "gnc_teach.views.twins.figures."
TE, TC, TM, TT, TH, TI, TS2 = ("gnc_teach.views.twins." + m + "." for m in
                               ("etf", "codes", "margins", "tau", "hug", "imbalance", "stored"))


def _lesson_root(box):
    """A folder with one lesson notebook, so that build_site gets past its root check."""
    (box / "lessons").mkdir()
    (box / "lessons" / "01_a.ipynb").write_text(json.dumps(_NB))
    return box


def _junk(box, name="junk.json"):
    (box / name).write_text("{ not json")
    return box / name


# --- the website's build
add(SB + "build_site", name="root", setup=lambda box: ((box,), {}))         # no lessons/ there
add(SB + "build_site", 5, name="root")
add(SB + "build_site", name="out", setup=lambda box: ((_lesson_root(box), 5), {}))
add(SB + "build_site", name="repo_url", setup=lambda box: ((_lesson_root(box),), {"repo_url": "github.com/o/r"}))
add(SB + "binder_base", "ftp://example.org/r", name="repo_url")
add(SB + "binder_base", 123, name="repo_url")
add(SB + "binder_base", "https://github.com/o/r", 5, name="branch")
add(SB + "binder_base", "https://github.com/o/r", binderhub="mybinder", name="binderhub")
# --- its command line registration
add(SC + "add_site_arguments", None, name="p")
add(SC + "add_app_arguments", "parser", name="p")
add(SC + "run_site", None, name="args")
add(SC + "run_app", {"port": 1}, name="args")
for argv, opt in [(["site"], "ACTION"), (["site", "publish"], "ACTION"),
                  (["site", "build", "--root", "/no/such/dir"], "--root"),
                  (["site", "build", "--repo-url", "github.com/o/r"], "--repo-url"),
                  (["site", "build", "--binderhub", "binder"], "--binderhub"),
                  (["app", "--port", "-1"], "--port"), (["app", "--port", "70000"], "--port"),
                  (["app", "--port", "http"], "--port")]:
    add(CLI, argv, name=opt, expect="exit2")
# --- its pages
add(SP + "notebooks", 5, "lessons", name="root")
add(SP + "notebooks", ".", 7, name="folder")
add(SP + "markdown_pages", None, name="root")
add(SP + "notebook_title", "missing.ipynb", name="path", errors=(FileNotFoundError,))
add(SP + "notebook_title", name="path", setup=lambda box: ((_junk(box, "01_a.ipynb"),), {}))
add(SP + "readme_section", None, "Lesson map", name="readme")
add(SP + "readme_section", "# x", 3, name="heading")
add(SP + "rewrite_links", "[a](lessons/01.ipynb)", "lessons/01.ipynb", name="pages")  # a str, not a set
add(SP + "rewrite_links", b"[a](b)", set(), name="text")
add(SP + "home_page", 5, set(), lessons=[], practice=[], more=[], name="root")
add(SP + "home_page", ".", set(), lessons="lessons/01_a.ipynb", practice=[], more=[], name="lessons")
add(SP + "index_page", "t", "i", [("only a title",)], name="entries")
add(SP + "run_live_page", binder_base=5, name="binder_base")
# --- notebooks as the site shows them
add(SN + "is_widget_output", "VBox(children=())", name="output")
add(SN + "twin_output", name="twin", setup=lambda box: (({"data": {}},), {"name": "etf_explorer"}))
add(SN + "plotly_output", None, name="output")
add(SN + "add_twins", "not a notebook", name="nb")
add(SN + "add_twins", {"cells": []}, explorers=["etf_explorer"], name="explorers")
add(SN + "add_live_box", {"cells": "x"}, "box", name="nb")
add(SN + "add_live_box", {"cells": []}, 5, name="box")
add(SN + "live_box", 5, name="path")
add(SN + "live_box", "lessons/01_a.ipynb", kind="poem", name="kind")
add(SN + "live_box", "lessons/01_a.ipynb", depth=-1, name="depth")
add(SN + "live_box", "lessons/01_a.ipynb", binder_url="mybinder", name="binder_url")
add(SN + "execute", "nb", cwd=".", name="nb")
add(SN + "execute", {"cells": []}, cwd="/no/such/dir", name="cwd")
add(SN + "execute", {"cells": []}, cwd=".", timeout=0, name="timeout")
# --- the app
add(SA + "app_notebook", explorers=["etf_explorer"], name="explorers")
add(SA + "app_notebook", titles="01", name="titles")
add(SA + "lesson_titles", 5, name="root")
add(SA + "serve", port=-1, name="port")
add(SA + "serve", port="8888", name="port")
# --- the explorer registry
add(RG + "Explorer", "6", "t", "a.b:c", "a.b:d", name="lesson")
add(RG + "Explorer", "06", "t", "a.b.c", "a.b:d", name="widget")
add(RG + "Explorer", "06", "t", "a.b:c", 5, name="twin")
add(RG + "explorer_calls", 5, name="source")
add(RG + "explorer_calls", "etf_explorer()", "etf_explorer", name="names")
add(RG + "load", "gnc_teach.geometry", name="target")
add(RG + "load", "gnc_teach.no_such_module:f", name="target")
add(RG + "load", "gnc_teach.geometry:no_such_function", name="target")
# --- twins: the precomputed-state container and its plotly pieces
add(TW + "Control", "a", "a", (), name="values")
add(TW + "Control", "a", "a", (1, 2), "knob", name="kind")
add(TW + "Control", "a", "a", (1, 2), labels=("one",), name="labels")
add(TW + "Twin", "t", [], [], name="states")
add(TW + "merge_layout", "x", {}, name="base")
add(TW + "merge_layout", {}, [1], name="over")
add(TF + "rounded", "abc", name="x")
add(TF + "rounded", [1.0], digits=0, name="digits")
add(TF + "significant", ["a"], name="values")
add(TF + "log_floor", [1.0], floor=0, name="floor")
add(TF + "unit_rows", np.zeros((3, 2)), name="W")
add(TF + "unit_rows", np.ones(3), name="W")
add(TF + "code_traces", np.eye(4), name="W")
add(TF + "code_traces", np.eye(2), xaxis="left", name="xaxis")
add(TF + "circle_trace", xaxis=2, name="xaxis")
add(TF + "sphere_trace", scene="globe", name="scene")
add(TF + "code_axes", 4, name="d")
add(TF + "gram_trace", np.ones((2, 3)), name="G")
add(TF + "code_figure", np.zeros((3, 2)), name="W")
add(TF + "code_figure", "abc", name="W")
# --- the twins of the explorers (a value off the grid snaps to the nearest; out of the domain is an error)
add(TE + "etf_twin", max_K=1, name="max_K")
add(TE + "etf_twin", K=1, name="K")
add(TE + "etf_state", 1, 3, name="K")
add(TC + "code_twin", "cube", name="kind")
add(TC + "code_twin", d=4, name="d")
add(TC + "code_twin", max_K=10 ** 6, name="max_K")
add(TC + "code_state", "softmax", 5, 8, name="d")
add(TM + "margin_twin", code="nope", name="code")
add(TM + "margin_twin", max_K=2, name="max_K")
add(TM + "margin_twin", k=2, name="k")
add(TM + "margin_state", "regular polygon", 5, "north", name="angle")
add(TT + "tau_twin", tau=-1.0, name="tau")
add(TT + "tau_state", 0.5, name="tau")
add(TT + "load_sweep", 5, name="path")
add(TT + "load_sweep", name="path", setup=lambda box: ((_junk(box),), {}))
add(TT + "rebuild", "/no/such/dir/tau.json", name="path")
add(TH + "hug_twin", measure="cube", name="measure")
add(TH + "hug_twin", intra_weight=-1.0, name="intra_weight")
add(TH + "hug_twin", K=1, name="K")
add(TH + "hug_state", {"run": 1}, name="view")
add(TI + "imbalance_twin", n="7, x", name="class size")
add(TI + "imbalance_twin", lam_W=0.0, name="lam_W")
add(TI + "imbalance_twin", M=4, name="M")
add(TI + "imbalance_twin", train="yes", name="train")
add(TI + "imbalance_twin", restarts=0, name="restarts")
add(TI + "imbalance_state", "view", name="view")
add(TS2 + "StoredSweep", "x.csv", "m", dict, list, name="filename")
add(TS2 + "StoredSweep", "x.json", "m", 5, list, name="params")
add(TS2 + "jsonable", {"a": object()}, name="value")


def test_site_rows_cover_every_public_function():
    """The block above covers every public function of the website, app, registry and twin modules."""
    import importlib
    names = {r.fn for r in ROWS if isinstance(r.fn, str)}
    missing = [f"{m}.{n}" for m in SITE_MODULES for n in getattr(importlib.import_module(m), "__all__", [])
               if n not in SITE_SKIP and callable(getattr(importlib.import_module(m), n)) and f"{m}.{n}" not in names]
    assert not missing, f"no fuzz row for {missing}"
# ============================================================================ end of the website block


# ----------------------------------------------------------------------------- the worker
def _resolve(path):
    import importlib
    if callable(path):
        return path
    mod, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(mod), attr)


def _snapshot(box):
    out = {}
    for base in (box, PKG / "data"):
        for p in base.rglob("*"):
            if "__pycache__" in p.parts:
                continue
            if p.is_file():
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
            elif p.is_dir():               # a folder created (and left behind) counts as written too
                out[str(p)] = "folder"
    return out


def _raised_inside_dependency(exc):
    """True when the innermost frame of ``exc`` is neither gnc_teach nor this file (the call site)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    fname = os.path.realpath(tb.tb_frame.f_code.co_filename)
    return not (fname.startswith(str(PKG)) or fname == str(HERE))


def _names(message, name):
    if not name:
        return True
    return re.search(rf"(?<![\w-]){re.escape(name)}(?!\w)", message) is not None


def _classify(row, box):
    """Run one row; return (outcome, detail)."""
    fn = _resolve(row.fn)
    args, kwargs = row.args, row.kwargs
    if row.setup is not None:
        args, kwargs = row.setup(box)
    before = _snapshot(box)
    out, err = io.StringIO(), io.StringIO()
    result, exc = None, None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            result = fn(*args, **kwargs)
    except BaseException as e:  # noqa: BLE001  (SystemExit from argparse/student code included)
        exc = e
    finally:
        try:
            import matplotlib.pyplot as plt
            plt.close("all")
        except Exception:  # noqa: BLE001
            pass
    after = _snapshot(box)
    changed = sorted(p for p in set(after) | set(before) if after.get(p) != before.get(p))
    if changed:
        return "file", f"wrote {changed[:2]}"
    text = err.getvalue() + out.getvalue()
    if row.expect in ("exit2", "json"):
        code = exc.code if isinstance(exc, SystemExit) else (None if exc is not None else result)
        if exc is not None and not isinstance(exc, SystemExit):
            return "raw", f"{type(exc).__name__}: {exc}"[:300]
        if "Traceback" in text:
            return "raw", text[-300:]
        if row.expect == "json":
            try:
                _strict_json(out.getvalue())
            except ValueError as e:
                return "silent", f"not JSON: {e}"[:300]
            return ("clean", "") if code == 0 else ("raw", f"exit {code}: {text[-200:]}")
        if code == 2 and _names(err.getvalue(), row.name):
            return "clean", ""
        if code == 2:
            return "raw", f"exit 2 without naming {row.name}: {err.getvalue()[-200:]}"
        return "silent", f"exit {code}: {text[-200:]}"
    if row.expect == "feedback":
        if exc is not None:
            return "raw", f"{type(exc).__name__}: {exc}"[:300]
        from gnc_teach.check import CheckResult
        if isinstance(result, CheckResult) and not result.passed and result.message:
            return "clean", ""
        return "silent", f"returned {result!r}"[:300]
    if callable(row.expect):
        if exc is not None:
            return "raw", f"{type(exc).__name__}: {exc}"[:300]
        try:
            ok = bool(row.expect(result))
        except Exception as e:  # noqa: BLE001
            ok = False
            result = f"{result!r} ({type(e).__name__})"
        return ("clean", "") if ok else ("silent", f"wrong value {result!r}"[:300])
    if exc is None:
        return "silent", f"returned {type(result).__name__}"
    if isinstance(exc, (ValueError, TypeError) + row.errors) and _names(str(exc), row.name) \
            and not _raised_inside_dependency(exc):
        return "clean", ""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return "raw", f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}: {exc}"[:300]


def _worker():
    """Read row indices from stdin, answer one JSON line per row on the real stdout."""
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    box = Path.cwd()
    for line in sys.stdin:
        i = int(line)
        case = box / f"row{i}"
        case.mkdir()
        os.chdir(case)
        try:
            outcome, detail = _classify(ROWS[i], case)
        except BaseException as e:  # noqa: BLE001  (the harness must answer for every row)
            outcome, detail = "raw", f"harness: {type(e).__name__}: {e}"[:300]
        os.chdir(box)
        proto.write(json.dumps({"i": i, "outcome": outcome, "detail": detail}) + "\n")


def run_rows(indices=None, *, timeout=TIMEOUT, log=None):
    """Run rows in a worker subprocess; returns ``{index: (outcome, detail)}``."""
    indices = list(range(len(ROWS))) if indices is None else list(indices)
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1", GNC_TEACH_CHECK_TIME_LIMIT=CHECK_TIME_LIMIT,
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.pop("GNC_TEACH_STRICT_CHECKS", None)
    results = {}
    with tempfile.TemporaryDirectory() as sandbox, tempfile.TemporaryFile() as stderr:
        todo = collections.deque(indices)
        while todo:
            proc = subprocess.Popen([sys.executable, str(HERE), "--worker"], cwd=sandbox, env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
            try:
                while todo:
                    i = todo.popleft()
                    proc.stdin.write(f"{i}\n")
                    proc.stdin.flush()
                    # the first row also pays for the worker's start (imports)
                    ready, _, _ = select.select([proc.stdout], [], [], timeout + (30 if not results else 0))
                    line = proc.stdout.readline() if ready else ""
                    if not line:
                        hung = not ready
                        results[i] = ("hang", f"no answer in {timeout:g} s") if hung else \
                            ("raw", f"worker died (exit {proc.poll()})")
                        if log:
                            print(f"[{i}] {results[i][0]}: {ROWS[i].id}", file=log, flush=True)
                        break
                    msg = json.loads(line)
                    results[i] = (msg["outcome"], msg["detail"])
                    if log:
                        print(f"[{i}] {msg['outcome']}: {ROWS[i].id} {msg['detail']}", file=log, flush=True)
            finally:
                proc.kill()
                proc.wait()
    return results


# ----------------------------------------------------------------------------- pytest
@pytest.fixture(scope="module")
def outcomes():
    return run_rows()


@pytest.mark.parametrize("i", range(len(ROWS)), ids=[f"{i}:{r.id}" for i, r in enumerate(ROWS)])
def test_bad_input_gets_a_clear_answer(outcomes, i):
    outcome, detail = outcomes[i]
    assert outcome == "clean", f"{ROWS[i].id}: {outcome}: {detail}"


#: public names that take no bad input, or no input at all, with the reason
NOT_FUZZED = {
    "gnc_teach.check.checker": "a decorator for check bodies, not called with user input",
    "gnc_teach.check.lesson_max_gap": "takes no arguments",
    "gnc_teach._tensor.one_cpu_thread": "a context manager of the package itself",
    "gnc_teach._tensor.compiled_kernels": "loads the package's own kernels by module name",
    "gnc_teach._tensor.default_device": "takes no arguments",
    "gnc_teach.hardmax.one_cpu_thread": "re-export of gnc_teach._tensor.one_cpu_thread",
    "gnc_teach.gallery.stored_keys": "takes no arguments",
    "gnc_teach.gallery.rebuild": "maintainer's tool: recomputes the packaged gallery",
    "gnc_teach.gallery.refresh": "maintainer's tool (its file handling is tested in test_reliability.py)",
    "gnc_teach.references.tammes_d3": "takes no arguments",
    "gnc_teach.references.thomson_d3": "takes no arguments",
    "gnc_teach.references.known_codes": "takes no arguments",
    "gnc_teach.site.app.free_port": "takes no arguments",
    "gnc_teach.views.twins.twin.plotly_config": "takes no arguments",
    "gnc_teach.views.twins.tau.sweep_params": "takes no arguments",
    "gnc_teach.views.twins.hug.sweep_params": "takes no arguments",
    "gnc_teach.views.twins.imbalance.sweep_params": "takes no arguments",
    "gnc_teach.exercises.make_all": "the `gnc-teach exercises` command, fuzzed through the command line",
    "gnc_teach.exercises.main": "the `gnc-teach exercises` command, fuzzed through the command line",
}


def _public_modules():
    """Every module of the package whose names are public: no part of its path starts with "_" (but the
    validation layer ``_tensor`` is included), the command-line modules excluded (their commands have rows)."""
    import pkgutil

    import gnc_teach
    for info in pkgutil.walk_packages(gnc_teach.__path__, "gnc_teach."):
        parts = info.name.split(".")[1:]
        if any(p.startswith("_") for p in parts) and parts != ["_tensor"]:
            continue
        if parts[-1] in ("cli", "codes_cli", "train_cli") or parts[0] == "check":
            continue
        yield info.name
    yield "gnc_teach.check"


def test_table_covers_every_public_function():
    import importlib
    import inspect
    covered = {id(_resolve(r.fn)) for r in ROWS if isinstance(r.fn, str)}     # a re-export counts as covered
    missing = []
    for m in _public_modules():
        mod = importlib.import_module(m)
        for n in getattr(mod, "__all__", []):
            obj = getattr(mod, n)
            if callable(obj) and not inspect.isclass(obj) and id(obj) not in covered and f"{m}.{n}" not in NOT_FUZZED:
                missing.append(f"{m}.{n}")
    assert not missing, f"no fuzz row for {missing}"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        sys.path.insert(0, str(ROOT))
        _worker()
        sys.exit(0)
    t0 = time.time()
    res = run_rows(log=sys.stderr if "-v" in sys.argv else None)
    counts = collections.Counter(o for o, _ in res.values())
    print(f"{len(ROWS)} rows in {time.time() - t0:.0f} s: " +
          ", ".join(f"{k} {counts[k]}" for k in ("clean", "raw", "silent", "hang", "file")))
    for i in sorted(res):
        if res[i][0] != "clean":
            print(f"  {res[i][0]:6s} [{i}] {ROWS[i].id}: {res[i][1]}")
