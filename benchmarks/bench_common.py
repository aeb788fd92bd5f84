"""Shared pieces of the benchmarks: a pausable clock that takes snapshots, the exact rho used to
score every method, machine information, and the results files (JSON + Markdown).

Every method is scored the same way: rows are normalised, then rho(W) = min_k dist(w_k, conv{w_j: j != k})
is computed (NNLS loop below, cross-checked against gnc_teach.margins.one_vs_rest_distance).
Snapshots are copies of W taken while the method runs; the copy time is excluded from its clock and
the exact scoring happens after the run, so it never counts against anyone.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.optimize
import torch

HERE = Path(__file__).resolve().parent
RESULTS_JSON = HERE / "results.json"


# ----------------------------------------------------------------------------------------------
# Clock with snapshots
# ----------------------------------------------------------------------------------------------
class Recorder:
    """Wall and CPU clocks that exclude their own bookkeeping, plus geometrically spaced snapshots.

    ``offer(get_W)`` copies W when at least ``growth``x the previous snapshot time (and ``min_gap``
    seconds) has passed, so a run of T seconds keeps about log(T/first)/log(growth) snapshots and
    time-to-target is resolved to within a factor ``growth``. Snapshots are ``(wall, cpu, W)``; with a
    ``queue`` they are sent to the parent process instead of kept (so a killed run still reports them).
    """

    def __init__(self, cap: float, *, growth: float = 1.05, min_gap: float = 0.005, first: float = 1e-3,
                 queue=None):
        self.cap, self.growth, self.min_gap = float(cap), growth, min_gap
        self.snaps: list[tuple[float, float, np.ndarray]] = []
        self.queue = queue
        self.paused = self.paused_cpu = 0.0
        self.next = first
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0 - self.paused

    def cpu(self) -> float:
        return time.process_time() - self.c0 - self.paused_cpu

    def out_of_time(self) -> bool:
        return self.elapsed() >= self.cap

    def offer(self, get_W, *, force: bool = False) -> None:
        t = self.elapsed()
        if not force and t < self.next:
            return
        s, sc = time.perf_counter(), time.process_time()
        c = self.cpu()
        W = get_W()
        W = W.detach().cpu().numpy() if isinstance(W, torch.Tensor) else np.asarray(W)
        snap = (t, c, np.array(W, dtype=np.float64, copy=True))
        if self.queue is not None:
            self.queue.put(("snap", snap))
        else:
            self.snaps.append(snap)
        self.next = max(t * self.growth, t + self.min_gap)
        self.paused += time.perf_counter() - s
        self.paused_cpu += time.process_time() - sc


# ----------------------------------------------------------------------------------------------
# Exact rho
# ----------------------------------------------------------------------------------------------
def _rows_unit(W: np.ndarray) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    return W / np.linalg.norm(W, axis=-1, keepdims=True)


def nnls_one_vs_rest(W: np.ndarray, *, big: float = 1e3) -> tuple[np.ndarray, np.ndarray]:
    """rho_k by a scipy loop: per class k, NNLS on [W_{-k}^T; big*1^T] lam ~ [w_k; big] (the standard
    trick that turns the simplex constraint into a heavily weighted equation).

    Returns ``(upper, lower)``: ``upper = ||w_k - W_{-k}^T lam/sum(lam)||`` (a feasible hull point)
    and ``lower = min_j <w_k - w_j, h>`` with h the unit direction to that point (margin duality), so
    ``upper - lower`` certifies the accuracy of each value.
    """
    W = np.asarray(W, dtype=np.float64)
    K, d = W.shape
    upper, lower = np.empty(K), np.empty(K)
    A = np.empty((d + 1, K - 1))
    A[d] = big
    b = np.empty(d + 1)
    b[d] = big
    for k in range(K):
        others = np.delete(W, k, axis=0)
        A[:d] = others.T
        b[:d] = W[k]
        lam, _ = scipy.optimize.nnls(A, b)
        lam = lam / lam.sum()
        r = W[k] - others.T @ lam
        upper[k] = np.linalg.norm(r)
        h = r / upper[k] if upper[k] > 0 else W[k]
        lower[k] = np.min((W[k] - others) @ h)
    return upper, lower


def package_rho(W) -> float | None:
    """rho of the row-normalised W by gnc_teach.margins.one_vs_rest_distance (None if absent)."""
    try:
        from gnc_teach.margins import one_vs_rest_distance
    except ImportError:
        return None
    return float(one_vs_rest_distance(torch.as_tensor(_rows_unit(W))).min())


def exact_rho(W) -> float:
    """rho of the row-normalised W (float64).

    Default scorer: the NNLS loop's feasible hull point (it agrees with the package solver to ~1e-14
    on the codes tried, and is cheaper for the K <= 100 sizes scored here); every method's final code
    is cross-checked with the package solver in the results. ``GNC_BENCH_SCORER=package`` scores
    every snapshot with gnc_teach.margins.one_vs_rest_distance instead.
    """
    if os.environ.get("GNC_BENCH_SCORER", "nnls") == "package":
        r = package_rho(W)
        if r is not None:
            return r
    upper, _ = nnls_one_vs_rest(_rows_unit(W), big=1e4)
    return float(upper.min())


def exact_rho_batch(W) -> float:
    """Best rho over a batch of restarts ``(R, K, d)`` (or one code ``(K, d)``)."""
    W = np.asarray(W)
    if W.ndim == 2:
        return exact_rho(W)
    return max(exact_rho(w) for w in W)


def score_trace(snaps) -> list[tuple[float, float, float]]:
    """[(wall, cpu, exact rho of the best restart in the snapshot)] for a recorder's snapshots."""
    return [(t, c, exact_rho_batch(W)) for t, c, W in snaps]


def time_to_target(trace, target: float):
    """(wall, cpu) of the first snapshot with rho >= target, or (None, None) if never."""
    for t, c, r in trace:
        if r >= target:
            return t, c
    return None, None


# ----------------------------------------------------------------------------------------------
# Machine and results files
# ----------------------------------------------------------------------------------------------
def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _version(mod: str) -> str | None:
    try:
        return __import__(mod).__version__
    except Exception:  # noqa: BLE001 - an absent optional peer is recorded as None
        return None


def machine_info() -> dict:
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True,
                                  timeout=10).stdout.rstrip()
        except Exception:  # noqa: BLE001 - no git: record nothing
            return ""
    commit = git("rev-parse", "--short", "HEAD") or None
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "../gnc_teach").splitlines()]
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "command": " ".join([Path(sys.executable).name] + sys.argv),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git_commit": commit,
        "uncommitted_package_files": dirty,   # the run used the working tree, these files included
        "versions": {m: _version(m) for m in ("torch", "numpy", "scipy", "geoopt", "pymanopt")},
    }


def load_results() -> dict:
    if RESULTS_JSON.exists():
        return json.loads(RESULTS_JSON.read_text())
    return {}


def save_section(name: str, section: dict) -> None:
    """Replace one section ('codes' or 'one_vs_rest') of results.json, keeping the others."""
    data = load_results()
    data[name] = section
    RESULTS_JSON.write_text(json.dumps(data, indent=1, default=float) + "\n")
