"""A cache of small precomputed codes (softmax, Tammes, Thomson), so lessons and widgets answer fast.

``gallery_code(kind, K, d) -> W (K, d)`` reads ``gnc_teach/data/gallery.npz``, built with fixed seeds
by ``python -m gnc_teach.gallery --rebuild`` (``--refresh`` keeps the codes and re-evaluates their
numbers with the current exact solver). An entry missing there is computed on demand by the solvers of
:mod:`gnc_teach.codes` and kept in an in-memory ``lru_cache``.

Where the optimum is proved, the entry is the exact construction instead of a solver's output:
d = 2 → the regular K-gon and K <= d+1 → the simplex ETF (optimal for all three objectives);
d+2 <= K <= 2d → a cross-polytope subset (optimal for softmax and Tammes). Every other entry is a
*best found* code: its ``gap`` to the upper bound of :func:`gnc_teach.margins.rho_upper_bound` is
stored next to it.
"""
from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ._io import write_atomic
from ._tensor import check_int, resolve

__all__ = ["KINDS", "GRID", "DATA_PATH", "gallery_code", "gallery_entry", "stored_keys", "rebuild", "refresh",
           "bounds_table", "riesz_energy"]

KINDS = ("softmax", "tammes", "thomson")
# (d, largest K) stored in the file: d = 2, 3 for the explorers, d = 4 for the bounds plot.
GRID = {2: 30, 3: 30, 4: 16}
DATA_PATH = Path(__file__).parent / "data" / "gallery.npz"
SEED = 0
# Fast solver settings (a few seconds per code on a laptop CPU); the tests compare the results with
# the closed forms and with Sloane's / the Thomson table's best known values.
SOLVER_OPTIONS = dict(fast=True, restarts=32, top=2)
FIELDS = ("rho", "min_angle", "energy", "upper_bound", "gap", "lower_bound", "seconds")


def _key(kind: str, K: int, d: int) -> str:
    return f"{kind}_d{d}_K{K}"


def _check(kind, K, d):
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not a gallery kind; use one of {KINDS}.")
    K = check_int(K, "K", minimum=2)
    d = check_int(d, "d", minimum=2)
    return kind, K, d


def riesz_energy(W, s: float = 1.0) -> float:
    """Riesz s-energy Σ_{i<j} 1/‖w_i − w_j‖^s of the rows of ``W`` (s = 1: Coulomb), float64."""
    from .codes import riesz_energy as _riesz
    return _riesz(torch.as_tensor(np.asarray(W, dtype=np.float64)), s=s)


def _exact(kind: str, K: int, d: int):
    """The proved optimum of ``kind`` as ``(W, source)``, or None.

    d = 2: the regular K-gon and K <= d+1: the simplex ETF, optimal for all three objectives;
    d+2 <= K <= 2d: the first K rows of ±e_1, ±e_2, ... (>= 2 antipodal pairs), optimal for softmax
    (rho* = 1) and Tammes (90°, Rankin), but not known to minimise the Coulomb energy.
    """
    from .geometry import cross_polytope, regular_polygon, simplex_etf
    if d == 2:
        return regular_polygon(K).numpy(), "regular polygon (proved optimal)"
    if K <= d + 1:
        return simplex_etf(K, d).numpy(), "simplex ETF (proved optimal)"
    if K <= 2 * d and kind in ("softmax", "tammes"):
        return cross_polytope(d).numpy()[:K], "cross-polytope subset (proved optimal)"
    return None


def _solve(kind: str, K: int, d: int):
    """Run the solver of :mod:`gnc_teach.codes` for ``kind`` with the gallery's fixed seed (CPU, float64).

    If a run fails numerically (a RuntimeError from the exact evaluation), the next seed is tried, so
    the cache stays reproducible; the seed used is recorded in the entry's ``source``.
    """
    from . import codes
    solver = {"softmax": codes.softmax_code, "tammes": codes.tammes_code, "thomson": codes.thomson_code}[kind]
    for seed in range(SEED, SEED + 3):
        try:
            res = solver(K, d, seed=seed, device="cpu", dtype=torch.float64, **SOLVER_OPTIONS)
        except RuntimeError as exc:
            last = exc
            continue
        W = res.W.detach().cpu().numpy().astype(np.float64)
        return W, f"{kind} solver, seed {seed} (best found)"
    raise RuntimeError(f"the {kind} solver failed for K={K}, d={d} with seeds {SEED}..{SEED + 2}: {last}")


def _describe(W: np.ndarray, seconds: float) -> dict:
    """The numbers stored beside a code: rho (certified), min angle, Coulomb energy, bounds and gap."""
    from .geometry import min_angle
    from .margins import one_vs_rest_distance, rho_upper_bound
    K, d = W.shape
    rho = float(one_vs_rest_distance(torch.as_tensor(W)).min())
    G = W @ W.T
    np.fill_diagonal(G, -np.inf)  # the lower bound 1 - max_{j != k} <w_j, w_k>
    ub = float(rho_upper_bound(K, d))
    return dict(rho=rho, min_angle=float(min_angle(torch.as_tensor(W))), energy=riesz_energy(W),
                upper_bound=ub, gap=ub - rho, lower_bound=1.0 - float(G.max()), seconds=float(seconds))


def _compute_entry(kind: str, K: int, d: int) -> dict:
    t0 = time.perf_counter()
    exact = _exact(kind, K, d)
    W, source = exact if exact is not None else _solve(kind, K, d)
    W = W / np.linalg.norm(W, axis=1, keepdims=True)
    return dict(W=W, source=source, **_describe(W, time.perf_counter() - t0))


@functools.lru_cache(maxsize=1)
def _stored() -> dict:
    """All entries of the data file as ``{key: entry}`` (empty when the file is absent)."""
    return _load(DATA_PATH) if DATA_PATH.exists() else {}


def _load(path) -> dict:
    """All entries of the gallery file ``path`` as ``{key: entry}``."""
    out = {}
    with np.load(path, allow_pickle=False) as z:
        keys, meta, sources = z["keys"], z["meta"], z["sources"]
        for i, key in enumerate(keys):
            entry = dict(zip(FIELDS, (float(v) for v in meta[i])))
            out[str(key)] = dict(W=np.array(z[f"W_{key}"]), source=str(sources[i]), **entry)
    return out


@functools.lru_cache(maxsize=512)
def _on_demand(kind: str, K: int, d: int) -> dict:
    return _compute_entry(kind, K, d)


def gallery_entry(kind: str, K: int, d: int) -> dict:
    """``dict(W (K,d) float64 ndarray, source, rho, min_angle, energy, upper_bound, gap, lower_bound,
    seconds, stored)`` for the ``kind`` code of K vectors in R^d (a copy: safe to modify)."""
    kind, K, d = _check(kind, K, d)
    entry = _stored().get(_key(kind, K, d))
    stored = entry is not None
    if entry is None:
        entry = _on_demand(kind, K, d)
    return {**entry, "W": entry["W"].copy(), "stored": stored}


def gallery_code(kind: str, K: int, d: int, *, device=None, dtype=None) -> torch.Tensor:
    """The ``kind`` code ("softmax", "tammes" or "thomson") of K unit vectors in R^d as a ``(K, d)`` tensor.

    Stored codes load instantly; others are computed once per session (seconds). Numerical entries
    are best found, not proved optimal: see ``gallery_entry(...)["gap"]``.
    """
    device, dtype = resolve(device, dtype)
    return torch.as_tensor(gallery_entry(kind, K, d)["W"]).to(device=device, dtype=dtype)


def stored_keys() -> list[tuple[str, int, int]]:
    """``(kind, K, d)`` of every entry in the data file."""
    out = []
    for key in _stored():
        kind, d, K = key.split("_")
        out.append((kind, int(K[1:]), int(d[1:])))
    return out


def bounds_table(ds=(2, 3, 4), K_max: int = 16, *, kind: str = "softmax") -> dict:
    """``{d: dict(K, rho, lower, upper)}`` (arrays over K = 2..K_max) for the bounds plot of lesson 02."""
    K_max = check_int(K_max, "K_max", minimum=2)
    table = {}
    for d in ds:
        Ks = np.arange(2, K_max + 1)
        rows = [gallery_entry(kind, int(K), d) for K in Ks]
        table[d] = dict(K=Ks, rho=np.array([r["rho"] for r in rows]),
                        lower=np.array([r["lower_bound"] for r in rows]),
                        upper=np.array([r["upper_bound"] for r in rows]))
    return table


def rebuild(path=DATA_PATH, *, grid=None, kinds=KINDS, verbose: bool = True) -> Path:
    """Recompute every entry of ``grid`` ({d: K_max}) with the fixed seed and write ``path`` (npz)."""
    grid = GRID if grid is None else grid
    arrays, keys, meta, sources = {}, [], [], []
    for d, K_max in grid.items():
        for K in range(2, K_max + 1):
            for kind in kinds:
                e = _compute_entry(kind, K, d)
                key = _key(kind, K, d)
                arrays[f"W_{key}"] = e["W"]
                keys.append(key)
                meta.append([e[f] for f in FIELDS])
                sources.append(e["source"])
                if verbose:
                    print(f"{key:18s} rho={e['rho']:.10f} gap={e['gap']:.2e} "
                          f"angle={e['min_angle']:.4f} {e['seconds']:.1f}s", flush=True)
    path = _save(path, arrays, keys, meta, sources)
    _stored.cache_clear()
    return path


def _save(path, arrays, keys, meta, sources) -> Path:
    """Write a gallery file atomically (an interrupted rebuild leaves the old file intact)."""
    return write_atomic(Path(path), lambda f: np.savez_compressed(
        f, keys=np.array(keys), meta=np.array(meta, dtype=np.float64), sources=np.array(sources), **arrays))


def refresh(path=DATA_PATH) -> Path:
    """Recompute the stored numbers (rho, angle, energy, bounds) of every code stored in the gallery file
    ``path`` with the current :mod:`gnc_teach.margins`, keeping the codes themselves; rewrite ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no gallery file at {str(path)!r} to refresh; make one with rebuild(path).")
    arrays, keys, meta, sources = {}, [], [], []
    for key, e in _load(path).items():
        new = _describe(e["W"], e["seconds"])
        arrays[f"W_{key}"] = e["W"]
        keys.append(key)
        meta.append([new[f] for f in FIELDS])
        sources.append(e["source"])
    _save(path, arrays, keys, meta, sources)
    _stored.cache_clear()
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gnc_teach.gallery",
                                     description="Show or rebuild the cache of precomputed small codes.")
    parser.add_argument("--rebuild", action="store_true", help=f"recompute {DATA_PATH.name} (fixed seeds)")
    parser.add_argument("--refresh", action="store_true",
                        help="keep the stored codes, recompute their numbers with the current margins solver")
    args = parser.parse_args(argv)
    if args.refresh:
        print(f"wrote {refresh()}")
        return 0
    if args.rebuild:
        torch.set_num_threads(1)  # tiny problems: threads only add overhead
        print(f"wrote {rebuild()}")
        return 0
    for kind, K, d in sorted(stored_keys(), key=lambda t: (t[2], t[0], t[1])):
        e = gallery_entry(kind, K, d)
        print(f"{kind:8s} d={d} K={K:2d} rho={e['rho']:.8f} gap={e['gap']:.2e} {e['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
