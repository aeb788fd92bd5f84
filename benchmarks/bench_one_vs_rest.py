"""One-vs-rest distances: gnc_teach.margins.one_vs_rest_distance against a scipy NNLS loop.

    python benchmarks/bench_one_vs_rest.py              # K=200,d=10; 600,32; 1000,32; 2000,64; 5000,64
    python benchmarks/bench_one_vs_rest.py --sizes 200x10 --no-save

Input: K random unit rows in R^d (seeded). The peer is the standard scipy approach: per class k,
scipy.optimize.nnls on [W_{-k}^T; M 1^T] lam ~ [w_k; M] (M = 1e3), then lam/sum(lam) as the hull
point (a feasible point, so its distance is an upper bound; margin duality gives a lower bound).
Both are timed with the wall clock: the best of as many runs as fit in BUDGET_S (1 s), at least
``--repeat`` for ours and one for the loop, so that millisecond calls are not judged by one noisy
run; medians are kept too. Both run with ``--threads`` torch and BLAS threads (default 1: scipy's
nnls is single-threaded; an idle OpenBLAS pool otherwise spins on the second core after each of
numpy's products, which doubled ours' CPU time at K = 600 and 1000 without changing its wall time).
They are compared
on max_k |rho_k(ours) - rho_k(loop)|, together with the loop's own certified gap.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info, nnls_one_vs_rest, save_section  # noqa: E402

DEFAULT_SIZES = "200x10,600x32,1000x32,2000x64,5000x64"  # the loop takes ~75 s at 5000x64
BUDGET_S = 1.0  # per method and size: runs are repeated while they fit (at least 3 for ours, 1 for the loop)


def random_code(K, d, *, seed=0):
    X = np.random.default_rng(seed).standard_normal((K, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _timed(fn, *, min_runs, budget_s=BUDGET_S, cpu=None):
    """Wall times of ``fn()``: at least ``min_runs`` runs, more while the total stays under ``budget_s``
    (the idea of timeit's autorange: short calls get enough runs for a stable best). Returns
    (times, last result); the process CPU times of the runs are appended to ``cpu`` if given (steadier
    than wall times when other jobs share the machine: both methods run on one thread)."""
    times, out = [], None
    while len(times) < min_runs or sum(times) + min(times) <= budget_s:
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t)
        if cpu is not None:
            cpu.append(time.process_time() - c)
    return times, out


def _without_compiled(fn):
    """fn with the compiled CPU path (numba) switched off: the batched torch solver, as on a GPU."""
    from gnc_teach import margins

    def run():
        compiled, margins._compiled = margins._compiled, lambda: None
        try:
            return fn()
        finally:
            margins._compiled = compiled
    return run


def bench_size(K, d, *, seed=0, repeat=3, budget_s=BUDGET_S):
    from gnc_teach.margins import one_vs_rest_distance

    W = random_code(K, d, seed=seed)
    Wt = torch.as_tensor(W, dtype=torch.float64)
    one_vs_rest_distance(Wt[: min(K, 20)])               # warm-up (first-call overheads)
    ours_cpu, loop_cpu = [], []
    ours, rho = _timed(lambda: one_vs_rest_distance(Wt), min_runs=repeat, budget_s=budget_s, cpu=ours_cpu)
    rho = rho.detach().cpu().numpy().astype(np.float64)
    details_t, details = _timed(lambda: one_vs_rest_distance(Wt, return_details=True), min_runs=1, budget_s=budget_s)
    torch_t, _ = _timed(_without_compiled(lambda: one_vs_rest_distance(Wt)), min_runs=repeat, budget_s=budget_s)
    loop, (upper, lower) = _timed(lambda: nnls_one_vs_rest(W), min_runs=1, budget_s=budget_s, cpu=loop_cpu)
    ours_s, loop_s, details_s, torch_s = min(ours), min(loop), min(details_t), min(torch_t)
    out = {
        "K": K, "d": d, "seed": seed,
        "ours_s": ours_s, "ours_runs": len(ours), "ours_median_s": float(np.median(ours)),
        "ours_details_s": details_s, "ours_torch_s": torch_s,
        "nnls_loop_s": loop_s, "nnls_loop_runs": len(loop), "nnls_loop_median_s": float(np.median(loop)),
        "ratio": loop_s / ours_s, "ratio_median": float(np.median(loop) / np.median(ours)),
        "ratio_details": loop_s / details_s,
        "ours_cpu_s": min(ours_cpu), "nnls_loop_cpu_s": min(loop_cpu), "ratio_cpu": min(loop_cpu) / min(ours_cpu),
        "max_abs_diff": float(np.max(np.abs(rho - upper))),
        "nnls_max_gap": float(np.max(upper - lower)),
        "ours_max_gap": float(details.gap.max()),
        "rho_min": float(rho.min()),
        "loadavg_1min": os.getloadavg()[0],
    }
    print(f"K={K:5d} d={d:3d}: ours {ours_s:.4g} s (details {details_s:.4g} s, torch solver only "
          f"{torch_s:.4g} s), NNLS loop {loop_s:.4g} s, "
          f"ratio {out['ratio']:.3g} (medians {out['ratio_median']:.3g}, CPU {out['ratio_cpu']:.3g}; runs {len(ours)} / "
          f"{len(loop)}), max|diff| {out['max_abs_diff']:.2e}, "
          f"gaps ours {out['ours_max_gap']:.1e} / loop {out['nnls_max_gap']:.1e}", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="comma list of Kxd (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch and BLAS threads (scipy's nnls is single-threaded; default %(default)s)")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    section = {"machine": machine_info(), "threads": args.threads, "sizes": []}
    with threadpool_limits(limits=args.threads):
        for s in args.sizes.split(","):
            K, d = (int(v) for v in s.split("x"))
            section["sizes"].append(bench_size(K, d, seed=args.seed, repeat=args.repeat))
    if not args.no_save:
        save_section("one_vs_rest", section)
        from bench_report import write_markdown
        write_markdown()
    return section


if __name__ == "__main__":
    main()
