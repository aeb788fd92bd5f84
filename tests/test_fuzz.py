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
    file    a file in the sandbox or in gnc_teach/data was created or changed

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

# --- exercise checks: the student's function sleeps, spins, exits, returns junk, ...
_CHECKS = ["simplex_etf", "welch_gap", "class_means", "nc1", "spread_points", "hull_distance",
           "margin_direction", "softmax_bound", "tau_ce", "hardmax_objective", "riemannian_gradient",
           "sphere_hessian", "certificate", "rattler"]
for i, check in enumerate(_CHECKS):
    add(CK + check, quitter, name="", expect="feedback")
    add(CK + check, returns_text, name="", expect="feedback")
    add(CK + check, interrupter, name="", expect="feedback")
    if i % 3 == 0:
        add(CK + check, sleeper if i % 2 == 0 else spinner, name="", expect="feedback")
add(CK + "not_optimal", "cube", "abc", name="", expect="feedback")
add(CK + "not_optimal", "cube", quitter, name="", expect="feedback")
add(CK + "tau_sweep", {"a": 1}, name="", expect="feedback")
add(CK + "tau_sweep", None, name="", expect="feedback")

# --- validation helpers
add(TS + "check_int", 1.5, "n", name="n")
add(TS + "check_positive", -1, "lr", name="lr")
add(TS + "as_matrix", "x", "W", name="W")
add(TS + "as_labels", [0.5, 1.0], "y", n=2, name="y")
add(TS + "resolve", "tpu", name="device")

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
]:
    add(CLI, argv, name=opt, expect="exit2")
add(CLI, ["code", "thomson", "--K", "3", "--d", "1", "--fast", "--json"], name="", expect="json")
add(CLI, name="exercises", expect="exit2", setup=_linked_exercises)
add(CLI, name="02_b.ipynb", expect="exit2", setup=_one_broken)


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
            if p.is_file() and "__pycache__" not in p.parts:
                st = p.stat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
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


def test_table_covers_every_public_function():
    import importlib
    names = {r.fn for r in ROWS if isinstance(r.fn, str)}
    modules = ["gnc_teach.geometry", "gnc_teach.margins", "gnc_teach.codes", "gnc_teach.models.ufm",
               "gnc_teach.metrics", "gnc_teach.hardmax", "gnc_teach.certify", "gnc_teach.gallery",
               "gnc_teach.views.plotting", "gnc_teach.check"]
    skip = {"one_cpu_thread", "checker", "stored_keys", "rebuild", "refresh", "tammes_d3", "thomson_d3",
            "known_codes", "CheckResult", "OneVsRest", "CodeResult", "UFMResult", "TauSweep", "NC2",
            "HessianReport", "Certificate", "PathPoint"}
    missing = []
    for m in modules:
        mod = importlib.import_module(m)
        for n in getattr(mod, "__all__", []):
            if n not in skip and callable(getattr(mod, n)) and f"{m}.{n}" not in names:
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
