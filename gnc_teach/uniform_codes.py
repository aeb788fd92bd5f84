"""Optimal codes of the uniformity measures (:mod:`gnc_teach.uniformity`), with their certificates.

``optimal_code(K, d, measure)`` returns K unit rows in R^d minimising the measure's energy:

* ``"riesz"`` (0 < s < inf): :func:`gnc_teach.codes.thomson_code` (batched restarts + L-BFGS);
* ``"min_separation"`` (s = inf): :func:`gnc_teach.codes.tammes_code` (max-min + SLSQP + basin hopping);
* ``"log"`` (s = 0) and ``"gram_det"``: all restarts as ONE tensor ``(R, K, d)`` on the device, Riemannian
  Adam on the autograd gradient of the energy (:func:`gnc_teach._solvers.sphere_opt.riemannian_adam`);

then, for the smooth measures, a few saddle-free Riemannian Newton steps in float64 and a first- and
second-order certificate (:mod:`gnc_teach.certify`): the tangent gradient norm and the smallest Hessian
eigenvalue with the d(d-1)/2 rotation directions excluded. A certificate is local: the result is
"best found" unless ``(K, d)`` has a proved optimum and the code reaches its value (``.status``):

* K <= d+1: the simplex, for every measure here (a proof is in lesson 06);
* the sharp codes — d = 2 regular polygon, K = 2d cross-polytope, K = 12, d = 3 icosahedron — for the
  Riesz family 0 <= s < inf (universal optimality, Cohn & Kumar 2007) and for min_separation (as
  :func:`tammes_code` reports; the icosahedron by Schütte & van der Waerden 1951).

As with the other solvers, restarts that would not fit in memory are refused up front, ``progress=True``
shows a progress bar, and Ctrl-C returns the best code so far with ``.interrupted = True``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ._io import check_writable, read_table, table_row, write_atomic
from ._solvers.sphere_opt import riemannian_adam
from ._stop import current_stop, interruptible, progress_bar
from ._tensor import as_matrix, check_bool, check_int, check_seed, resolve
from .codes import _small_problems_single_threaded, tammes_code, thomson_code
from .geometry import random_sphere
from .uniformity import _energy, check_measure, check_pairs_memory, measure_label

__all__ = ["UniformCode", "optimal_code", "icosahedron", "proved_optimum", "code_values", "compare_codes",
           "TABLE_MEASURES", "disagreement", "run_search", "load_search", "SEARCH_PATH"]

F64 = torch.float64
#: the measures of lesson 06's tables: (column name, measure, s, gamma)
TABLE_MEASURES = (("E_0 (log)", "log", 0.0, 1.0), ("E_1", "riesz", 1.0, 1.0), ("E_2", "riesz", 2.0, 1.0),
                  ("-logdet G", "gram_det", 2.0, 1.0))
NEWTON_MAX_VARS = 300   # exact Hessians (autograd, (K d)^2 entries) only for small codes


@dataclass
class UniformCode:
    """An optimal (or best found) code of one uniformity measure and its certificate.

    ``W (K, d)`` unit rows; ``measure`` canonical name (``s``/``gamma`` its parameter); ``value`` the energy
    (sum reduction, float64); ``status`` "proved optimal (...)" or "best found"; ``certificate``: for
    smooth measures ``grad_norm`` (tangent gradient) and ``hessian_min_eig`` (rotations excluded; > 0 means
    a strict local minimum modulo rotations), for min_separation the ``kkt_residual`` and
    ``binding_pairs`` of the max-min problem.
    """
    W: torch.Tensor
    measure: str
    s: float | None
    gamma: float | None
    value: float
    status: str = "best found"
    certificate: dict = field(default_factory=dict)
    restarts: int = 1
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def label(self) -> str:
        return measure_label(self.measure, self.s if self.s is not None else 2.0, self.gamma or 1.0)

    def summary(self) -> str:
        cert = ", ".join(f"{k} {v:.1e}" if isinstance(v, float) else f"{k} {v}" for k, v in self.certificate.items())
        K, d = self.W.shape
        stopped = ", interrupted (Ctrl-C): best so far" if self.interrupted else ""
        return (f"{self.label} code K={K} d={d}: energy {self.value:.12g} ({self.status}{stopped})\n"
                f"  certificate: {cert}\n  restarts {self.restarts}, {self.seconds:.2f} s")


# ----------------------------------------------------------------------------- proved optima
def icosahedron(*, device=None, dtype=None) -> torch.Tensor:
    """The 12 vertices of the regular icosahedron as unit rows ``(12, 3)``: cyclic shifts of (0, ±1, ±φ)."""
    device, dtype = resolve(device, dtype)
    phi = (1 + math.sqrt(5)) / 2
    V = [(0.0, a, b * phi) for a in (-1, 1) for b in (-1, 1)]
    X = torch.tensor([v[i:] + v[:i] for v in V for i in range(3)], dtype=F64)
    return (X / X.norm(dim=1, keepdim=True)).to(device=device, dtype=dtype)


def proved_optimum(K: int, d: int, measure: str = "riesz", *, s: float = 2.0, gamma: float = 1.0):
    """``(W, reason)`` for a proved optimum of the measure at ``(K, d)``, or None (see the module docstring).

    For min_separation only the simplex and the icosahedron are returned here (d = 2 and K <= 2d have
    non-unique optima there; :func:`gnc_teach.codes.tammes_code` certifies those by their angle).
    """
    from .geometry import cross_polytope, regular_polygon, simplex_etf

    name, _, _ = check_measure(measure, s, gamma)
    K, d = check_int(K, "K", minimum=2), check_int(d, "d", minimum=1)
    if K <= d + 1:
        return simplex_etf(K, d), "simplex, K <= d+1"
    if name == "gram_det":
        return None
    if K == 12 and d == 3:
        return icosahedron(), ("icosahedron, Schütte & van der Waerden 1951" if name == "min_separation"
                               else "icosahedron, universally optimal (Cohn & Kumar 2007)")
    if name == "min_separation":
        return None
    if d == 2:
        return regular_polygon(K), "regular polygon, universally optimal (Cohn & Kumar 2007)"
    if K == 2 * d:
        return cross_polytope(d), "cross-polytope, universally optimal (Cohn & Kumar 2007)"
    return None


def _status(K, d, name, s, gamma, value):
    opt = proved_optimum(K, d, name, s=s if s is not None else 2.0, gamma=gamma or 1.0)
    if opt is None:
        return "best found"
    star = float(_energy(opt[0].to(F64), name, s, gamma, False))
    return f"proved optimal ({opt[1]})" if abs(value - star) <= 1e-9 * max(1.0, abs(star)) else "best found"


# ----------------------------------------------------------------------------- solvers
def _defaults(K, restarts, steps, fast):
    if restarts is None:   # a step costs ~R K^2 d: bound R K^2, as the codes solvers do
        restarts = max(4, min(16, 2 ** 13 // K ** 2)) if fast else min(64, max(16, 2 ** 16 // K ** 2))
    if steps is None:
        steps = 400 if fast else 1000
    return check_int(restarts, "restarts", minimum=1), check_int(steps, "steps", minimum=1)


def _smooth_phase(K, d, name, s, gamma, R, steps, seed, device, dtype, progress):
    """Riemannian Adam on the energy for all R restarts at once; returns ``(X (R,K,d), energies (R,))``."""
    check_pairs_memory(R, K, dtype=dtype, device=device, what=f"optimal_code(measure={name!r}, restarts={R})")
    X0 = random_sphere(K, d, seed=seed, batch=R, device=device, dtype=dtype)

    def ascent(X, _tau):
        with torch.enable_grad():
            Xr = X.detach().requires_grad_(True)
            (G,) = torch.autograd.grad(_energy(Xr, name, s, gamma, True).sum(), Xr)
        return -G

    with progress_bar(progress, steps, f"{name} K={K} d={d}") as bar:
        X = riemannian_adam(X0, ascent, steps=steps, lr=(0.05, 1e-4), tau=(1.0, 1.0), progress=bar,
                            stop=current_stop())
    with torch.no_grad():
        return X, _energy(X, name, s, gamma, False)


def _certify(W, name, s, gamma, *, newton_steps):
    """Newton-polish ``W`` (float64, CPU) and return ``(W, {"grad_norm", "hessian_min_eig"})``."""
    from . import certify

    f = lambda X: _energy(X, name, s, gamma, False)   # noqa: E731
    X = W.detach().cpu().to(F64)
    X = X / X.norm(dim=1, keepdim=True)
    if X.numel() > NEWTON_MAX_VARS:
        return X, {"grad_norm": float(certify.riemannian_gradient(f, X).norm())}
    if newton_steps:
        X, _ = certify.riemannian_newton(f, X, steps=newton_steps)
    rep = certify.hessian_min_eig_tangent(f, X)
    return X, {"grad_norm": rep.grad_norm, "hessian_min_eig": rep.min_eig}


@interruptible
@_small_problems_single_threaded
def optimal_code(K: int, d: int, *, measure: str = "riesz", s: float = 2.0, gamma: float = 1.0,
                 restarts: int | None = None, seed: int = 0, steps: int | None = None, fast: bool = True,
                 newton_steps: int = 20, device=None, dtype=None, progress: bool = False) -> UniformCode:
    """K unit rows in R^d minimising the uniformity energy ``measure`` (see :mod:`gnc_teach.uniformity`).

    Restarts run as one batch on ``device`` (CUDA when available); ``fast=True`` (default) uses the
    lesson-sized settings; small CPU problems run on one thread. Smooth measures get up to ``newton_steps``
    float64 Newton steps (stopping at a gradient norm of 1e-13) and a gradient /
    Hessian certificate (codes with K d <= 300). Returns a :class:`UniformCode`; ``.status`` says whether
    the value is a proved optimum, else it is a best-found local optimum with its certificate.
    ``progress=True`` shows a progress bar; Ctrl-C returns the best code so far (``.interrupted``).
    """
    name, s, gamma = check_measure(measure, s, gamma)
    K, d = check_int(K, "K", minimum=2), check_int(d, "d", minimum=2)
    seed = check_seed(seed)
    newton_steps = check_int(newton_steps, "newton_steps", minimum=0)
    fast = check_bool(fast, "fast")
    device, dtype = resolve(device, dtype)
    R, steps = _defaults(K, restarts, steps, fast)
    t0 = time.perf_counter()
    opts = dict(restarts=R, seed=seed, steps=steps, fast=fast, device=device, dtype=dtype, progress=progress)
    if name == "min_separation":
        res = tammes_code(K, d, **opts)
        W64 = res.W.detach().cpu().to(F64)
        cert = {k: res.certificate[k] for k in ("kkt_residual", "binding_pairs") if k in res.certificate}
        status = res.status
        value = float(_energy(W64, name, s, gamma, False))
        if status == "best found":
            status = _status(K, d, name, s, gamma, value)
    else:
        if name == "riesz":
            X = thomson_code(K, d, s=s, **opts).W[None]
        else:
            X, E = _smooth_phase(K, d, name, s, gamma, R, steps, seed, device, dtype, progress)
            X = X[torch.argsort(E)[:3]]                    # polish the three best restarts
        best = None
        for Xr in X:
            W64, cert = _certify(Xr, name, s, gamma, newton_steps=newton_steps)
            value = float(_energy(W64, name, s, gamma, False))
            if best is None or value < best[1]:
                best = (W64, value, cert)
        W64, value, cert = best
        status = _status(K, d, name, s, gamma, value)
    return UniformCode(W=W64.to(device=device, dtype=dtype), measure=name, s=s, gamma=gamma, value=value,
                       status=status, certificate=cert, restarts=R, seconds=time.perf_counter() - t0)


# ----------------------------------------------------------------------------- comparing codes
def code_values(W, measures=TABLE_MEASURES) -> dict:
    """``rho`` (exact one-vs-rest distance), ``min_angle`` (degrees) and every measure's energy of the code
    ``W (K, d)`` (rows normalised), all float64 Python floats, keyed by the column names of ``measures``."""
    from .geometry import min_angle, normalize_rows
    from .margins import rho

    W = normalize_rows(as_matrix(W, "W", min_rows=2).cpu().to(F64))
    specs = [(col, *check_measure(m, s, gamma)) for col, m, s, gamma in measures]
    check_pairs_memory(1, W.shape[0], dtype=F64, device=W.device, what="code_values")
    out = {"rho": rho(W), "min_angle": min_angle(W)}
    for col, name, s_, g_ in specs:
        out[col] = float(_energy(W, name, s_, g_, False))
    return out


def compare_codes(codes: dict, measures=TABLE_MEASURES) -> list[dict]:
    """One row per code (``{name: W}``): ``name``, :func:`code_values`, and ``best`` = the columns in which
    this code is best among the rows (largest rho and min angle, smallest energies; ties within 1e-9)."""
    if not isinstance(codes, dict) or not codes:
        raise TypeError(f"codes must be a non-empty dict {{name: W}}, got {type(codes).__name__} {codes!r:.60}.")
    rows = []
    for name, W in codes.items():
        try:
            rows.append(dict(name=name, **code_values(W, measures)))
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"codes[{name!r}]: {exc}") from None
    cols = ["rho", "min_angle"] + [c[0] for c in measures]
    for r in rows:
        r["best"] = []
    for c in cols:
        sign = 1 if c in ("rho", "min_angle") else -1
        top = max(sign * r[c] for r in rows)
        for r in rows:
            if sign * r[c] >= top - 1e-9 * max(1.0, abs(top)):
                r["best"].append(c)
    return rows


# ----------------------------------------------------------------------------- softmax vs uniformity search
SEARCH_PATH = Path(__file__).parent / "data" / "uniformity_vs_softmax.csv"
SEARCH_GRID = {3: range(4, 17)}
#: (column suffix, measure, s) of the searched measures (gram_det with gamma = 1)
SEARCH_MEASURES = (("min_separation", "min_separation", math.inf), ("log", "log", 0.0), ("riesz1", "riesz", 1.0),
                   ("riesz2", "riesz", 2.0), ("gram", "gram_det", 2.0))
SEARCH_FIELDS = (("d", "K", "rho_softmax", "angle_softmax")
                 + tuple(f"{p}_{c}" for c, _, _ in SEARCH_MEASURES for p in ("rho", "angle", "dist"))
                 + ("max_gap", "argmax_gap", "max_grad_norm", "min_hessian_eig", "seconds"))


def disagreement(K: int, d: int, *, seed: int = 0, fast: bool = False) -> dict:
    """Compare the softmax code (max ρ) with the optimal code of every measure of :data:`SEARCH_MEASURES`
    at ``(K, d)``: ``rho_<m>``, ``angle_<m>`` (min angle, degrees) and ``dist_<m>``
    (:func:`gnc_teach.metrics.code_distance` to the softmax code: 0 iff the same up to symmetry, to rounding),
    ``max_gap`` = the largest ρ_softmax - ρ_m and its measure ``argmax_gap``, and the worst certificate of the
    smooth codes (``max_grad_norm``, ``min_hessian_eig``). All codes are best found (or proved); ρ is exact."""
    from .codes import softmax_code
    from .geometry import min_angle
    from .margins import rho
    from .metrics import code_distance

    t0 = time.perf_counter()
    S = softmax_code(K, d, seed=seed, fast=fast, device="cpu").W.detach().cpu().to(F64)
    out = {"d": d, "K": K, "rho_softmax": rho(S), "angle_softmax": min_angle(S)}
    grads, eigs = [], []
    for col, m, s in SEARCH_MEASURES:
        c = optimal_code(K, d, measure=m, s=s, seed=seed, fast=fast, device="cpu")
        W = c.W.detach().cpu().to(F64)
        out.update({f"rho_{col}": rho(W), f"angle_{col}": min_angle(W), f"dist_{col}": code_distance(W, S)})
        grads.append(c.certificate.get("grad_norm", 0.0))
        eigs.append(c.certificate.get("hessian_min_eig", math.inf))
    gaps = {col: out["rho_softmax"] - out[f"rho_{col}"] for col, _, _ in SEARCH_MEASURES}
    worst = max(gaps, key=gaps.get)
    out.update(max_gap=gaps[worst], argmax_gap=worst, max_grad_norm=max(grads), min_hessian_eig=min(eigs),
               seconds=time.perf_counter() - t0)
    return out


def _check_grid(grid):
    """``{d: Ks}`` with every (K, d) valid for :func:`disagreement`, checked before any code is computed."""
    if not isinstance(grid, dict) or not grid:
        raise TypeError(f"grid must be a non-empty dict {{d: [K, ...]}}, got {grid!r:.60}.")
    return {check_int(d, "grid's d", minimum=2): [check_int(K, f"grid[{d}]'s K", minimum=2) for K in Ks]
            for d, Ks in grid.items()}


def run_search(path=SEARCH_PATH, *, grid=None, seed: int = 0, verbose: bool = True) -> Path:
    """Run :func:`disagreement` (``fast=False``) over ``grid`` ({d: Ks}, default :data:`SEARCH_GRID`) and
    write the CSV that lesson 06 reads, row by row (atomically: an interrupted search leaves the rows done).
    ``path`` and ``grid`` are checked before the first code is computed."""
    grid = _check_grid(SEARCH_GRID if grid is None else grid)
    seed = check_seed(seed)
    path = check_writable(path, name="path")
    lines = ["# Softmax code vs the optimal codes of uniformity measures (gnc_teach.uniform_codes.disagreement).",
             f"# Regenerate: python -m gnc_teach.uniform_codes --search  (fast=False, seed={seed}, torch "
             f"{torch.__version__}). All codes best found unless proved; rho exact.",
             ",".join(SEARCH_FIELDS)]
    for d, Ks in grid.items():
        for K in Ks:
            lines.append(table_row(disagreement(K, d, seed=seed), SEARCH_FIELDS))
            write_atomic(path, "\n".join(lines) + "\n")
            if verbose:
                print(lines[-1], flush=True)
    return path


def load_search(path=SEARCH_PATH) -> list[dict]:
    """Rows of the cached search (:func:`run_search`) as dicts with numbers parsed."""
    return read_table(path, lambda k, v: v if k == "argmax_gap" else (int(v) if k in ("d", "K") else float(v)))


def main(argv=None) -> int:
    """``python -m gnc_teach.uniform_codes --search [--out PATH]``: rebuild the search cache."""
    import argparse

    ap = argparse.ArgumentParser(prog="python -m gnc_teach.uniform_codes", description=main.__doc__)
    ap.add_argument("--search", action="store_true", help="run the softmax-vs-uniformity search")
    ap.add_argument("--out", default=str(SEARCH_PATH))
    args = ap.parse_args(argv)
    if not args.search:
        ap.print_help()
        return 0
    torch.set_num_threads(1)
    run_search(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
