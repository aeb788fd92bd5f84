"""One-vs-rest distances: gnc_teach.margins.one_vs_rest_distance against a scipy NNLS loop.

    python benchmarks/bench_one_vs_rest.py              # K=200,d=10; 1000,32; 2000,64; 5000,64
    python benchmarks/bench_one_vs_rest.py --sizes 200x10 --no-save

Input: K random unit rows in R^d (seeded). The peer is the standard scipy approach: per class k,
scipy.optimize.nnls on [W_{-k}^T; M 1^T] lam ~ [w_k; M] (M = 1e3), then lam/sum(lam) as the hull
point (a feasible point, so its distance is an upper bound; margin duality gives a lower bound).
Both are timed with the wall clock (best of ``--repeat`` for ours, one run for the loop; ours on
``--threads`` torch threads, default 1 like the single-threaded loop) and compared
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info, nnls_one_vs_rest, save_section  # noqa: E402

DEFAULT_SIZES = "200x10,1000x32,2000x64,5000x64"  # the loop takes ~75 s at 5000x64


def random_code(K, d, *, seed=0):
    X = np.random.default_rng(seed).standard_normal((K, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _torch_solver_time(Wt, repeat):
    """Best time of ours with the batched torch solver only: the path on a GPU and without numba."""
    from gnc_teach import margins

    compiled, margins._compiled = margins._compiled, lambda: None
    try:
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            margins.one_vs_rest_distance(Wt)
            times.append(time.perf_counter() - t)
    finally:
        margins._compiled = compiled
    return min(times)


def bench_size(K, d, *, seed=0, repeat=3):
    from gnc_teach.margins import one_vs_rest_distance

    W = random_code(K, d, seed=seed)
    Wt = torch.as_tensor(W, dtype=torch.float64)
    one_vs_rest_distance(Wt[: min(K, 20)])               # warm-up (first-call overheads)
    ours_times = []
    for _ in range(repeat):
        t = time.perf_counter()
        rho = one_vs_rest_distance(Wt)
        ours_times.append(time.perf_counter() - t)
    rho = rho.detach().cpu().numpy().astype(np.float64)
    t = time.perf_counter()
    details = one_vs_rest_distance(Wt, return_details=True)
    details_s = time.perf_counter() - t
    torch_s = _torch_solver_time(Wt, repeat)
    t = time.perf_counter()
    upper, lower = nnls_one_vs_rest(W)
    loop_s = time.perf_counter() - t
    ours_s = min(ours_times)
    out = {
        "K": K, "d": d, "seed": seed,
        "ours_s": ours_s, "ours_s_all": ours_times, "ours_details_s": details_s,
        "ours_torch_s": torch_s,
        "nnls_loop_s": loop_s, "ratio": loop_s / ours_s, "ratio_details": loop_s / details_s,
        "max_abs_diff": float(np.max(np.abs(rho - upper))),
        "nnls_max_gap": float(np.max(upper - lower)),
        "ours_max_gap": float(details.gap.max()),
        "rho_min": float(rho.min()),
        "loadavg_1min": os.getloadavg()[0],
    }
    print(f"K={K:5d} d={d:3d}: ours {ours_s:.4g} s (details {details_s:.4g} s, torch solver only "
          f"{torch_s:.4g} s), NNLS loop {loop_s:.4g} s, "
          f"ratio {out['ratio']:.3g}, max|diff| {out['max_abs_diff']:.2e}, "
          f"gaps ours {out['ours_max_gap']:.1e} / loop {out['nnls_max_gap']:.1e}", flush=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="comma list of Kxd (default %(default)s)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for ours (scipy's nnls is single-threaded; default %(default)s)")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    section = {"machine": machine_info(), "threads": args.threads, "sizes": []}
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
