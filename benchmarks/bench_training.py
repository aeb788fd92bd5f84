"""The training loop of ``gnc_teach.training.train`` against a plain hand-written torch loop, side by side.

Same model (``build_model`` with the same seed), same data already on the device, same optimiser (SGD
with Nesterov momentum and weight decay), same cosine learning-rate schedule, same batches; metrics off
(``eval_every=0``). The plain loop is the textbook one: ``loss = F.cross_entropy(model(X[idx]), y[idx])``,
``zero_grad``, ``backward``, ``step``. Timed: the epoch loops only (``train``'s data loading, model
construction and optimiser set-up are reported separately as its whole-call time). The two alternate,
``--repeats`` times each, in one process with the same thread count; the ratio of the medians is the
result (target: ours / plain <= 1.10).

    python benchmarks/bench_training.py                 # about 2 minutes on 2 cores
    python benchmarks/bench_training.py --threads 2 --repeats 3 --no-save
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import machine_info, save_section  # noqa: E402

from gnc_teach.training import build_model, load_data, make_config, train  # noqa: E402
from gnc_teach.training.loop import epoch_seed  # noqa: E402

WORKLOADS = {   # name: training options (the CPU-sized runs of lesson 05)
    "digits MLP d=3, tau=0.1, batch 64": dict(data="digits", arch="mlp", d=3, tau=0.1, batch_size=64,
                                              epochs=30, weight_decay=5e-3),
    "digit-pairs MLP K=100, d=10, tau=1/7, batch 128": dict(data="digit-pairs", arch="mlp", d=10, tau=1 / 7,
                                                           batch_size=128, epochs=10, weight_decay=5e-3),
    "digit-pairs CNN K=100, d=10, tau=1/7, batch 128": dict(data="digit-pairs", arch="cnn", d=10, tau=1 / 7,
                                                           batch_size=128, epochs=2, weight_decay=5e-3),
}


def plain_loop(cfg, model, X, y):
    """The hand-written reference: the same optimiser, schedule and batches as ``train``."""
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    N, B = X.shape[0], cfg.batch_size
    for epoch in range(cfg.epochs):
        for group in opt.param_groups:
            group["lr"] = 0.5 * cfg.lr * (1 + math.cos(math.pi * epoch / cfg.epochs))
        perm = torch.randperm(N, generator=torch.Generator().manual_seed(epoch_seed(cfg.seed, epoch)))
        for i in range(0, N, B):
            idx = perm[i:i + B]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model


def time_plain(options):
    """(loop wall s, whole-call wall s, whole-call CPU s, model); the whole call includes the same set-up
    as ``train`` (data, model, inputs)."""
    w0, c0 = time.perf_counter(), time.process_time()
    cfg = make_config(options)
    data = load_data(cfg)
    model = build_model(cfg, data, device="cpu")
    X, y = data.inputs(data.X_train), data.y_train
    t0 = time.perf_counter()
    plain_loop(cfg, model, X, y)
    t1 = time.perf_counter()
    return t1 - t0, t1 - w0, time.process_time() - c0, model


def time_ours(options):
    w0, c0 = time.perf_counter(), time.process_time()
    r = train(options, device="cpu", progress=False, eval_every=0)
    return r.seconds, time.perf_counter() - w0, time.process_time() - c0, r.model


def run(repeats: int, names) -> dict:
    rows = []
    for name in names:
        options = WORKLOADS[name]
        time_ours(options | dict(epochs=1))        # warm-up: imports, first-call costs
        time_plain(options | dict(epochs=1))
        t = {k: [] for k in ("ours_s", "ours_call_s", "ours_cpu_s", "plain_s", "plain_call_s", "plain_cpu_s")}
        for _ in range(repeats):                   # alternate, so that drifts of the machine hit both
            *times, m_ours = time_ours(options)
            for k, v in zip(("ours_s", "ours_call_s", "ours_cpu_s"), times):
                t[k].append(v)
            *times, m_plain = time_plain(options)
            for k, v in zip(("plain_s", "plain_call_s", "plain_cpu_s"), times):
                t[k].append(v)
        same = max(float((a - b).abs().max()) for a, b in zip(m_ours.state_dict().values(),
                                                              m_plain.state_dict().values()))
        med = {k: statistics.median(v) for k, v in t.items()}
        row = dict(name=name, options=options, **t, max_weight_diff=same,
                   ratio_median=med["ours_s"] / med["plain_s"], ratio_best=min(t["ours_s"]) / min(t["plain_s"]),
                   ratio_cpu=med["ours_cpu_s"] / med["plain_cpu_s"])
        rows.append(row)
        print(f"{name}: loops ours {med['ours_s']:.3f} s, plain {med['plain_s']:.3f} s, ratio of medians "
              f"{row['ratio_median']:.3f}, of bests {row['ratio_best']:.3f}; whole calls, CPU time: ours "
              f"{med['ours_cpu_s']:.3f} s, plain {med['plain_cpu_s']:.3f} s, ratio {row['ratio_cpu']:.3f}; "
              f"max |weight difference| {same:.1e}", flush=True)
    return rows


def training_targets(sec: dict) -> list[str]:
    """One line per workload for the Targets section of RESULTS.md."""
    return [f"- Training loop, {r['name']}: train / plain torch loop = {r['ratio_cpu']:.3f} in CPU time "
            f"({'met' if r['ratio_cpu'] <= 1.10 else 'NOT met'}; target <= 1.10), wall {r['ratio_median']:.3f}."
            for r in sec["rows"]]


def training_md(sec: dict) -> list[str]:
    """The RESULTS.md section (called by bench_report.py)."""
    m = sec["machine"]
    L = ["## Training loop: `train` against a plain torch loop", "",
         f"- Date: {m['date_utc']}; command: `{m['command']}`; git commit {m['git_commit']}"
         + (f" plus uncommitted changes in {', '.join(m['uncommitted_package_files'])}"
            if m.get("uncommitted_package_files") else ""),
         f"- Machine: {m['cpu']}, {m['cores']} cores, torch threads {sec['threads']}; torch {m['versions']['torch']}",
         f"- Load average (1/5/15 min) at start {tuple(round(x, 2) for x in sec['loadavg_start'])}, at end "
         f"{tuple(round(x, 2) for x in sec['loadavg_end'])}: the machine was shared, so absolute times carry "
         "that noise; the two loops alternate in one process, so the ratio is the number to read.",
         "- Both: same model and seed, data on the device, SGD (Nesterov momentum 0.9, weight decay), cosine "
         "schedule, same batches; metrics off (`eval_every=0`). Wall = the epoch loops only; CPU = process CPU "
         "time of the whole call, set-up included (data, model, optimiser) for both, the steadier number on a "
         f"shared machine. {sec['repeats']} alternating repeats; medians (and the ratio of the best wall times).", "",
         "| workload | loops: ours / plain (s, wall) | ratio (medians; bests) | whole calls: ours / plain (s, CPU) | ratio | target <= 1.10 | max weight diff |",
         "|---|---|---|---|---|---|---|"]
    for r in sec["rows"]:
        med = {k: statistics.median(r[k]) for k in ("ours_s", "plain_s", "ours_cpu_s", "plain_cpu_s")}
        ok = r["ratio_cpu"] <= 1.10        # the CPU-time ratio: wall times on a shared machine are noisy
        L.append(f"| {r['name']} | {med['ours_s']:.3f} / {med['plain_s']:.3f} | {r['ratio_median']:.3f}; "
                 f"{r['ratio_best']:.3f} | {med['ours_cpu_s']:.3f} / {med['plain_cpu_s']:.3f} | {r['ratio_cpu']:.3f} | "
                 f"{'met' if ok else 'NOT met'} | {r['max_weight_diff']:.1e} |")
    L.append("")
    return L


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads for both loops (default 1)")
    p.add_argument("--workloads", default=None, help="comma-separated subset of: " + "; ".join(WORKLOADS))
    p.add_argument("--no-save", action="store_true", help="print only; leave results.json alone")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = list(WORKLOADS) if args.workloads is None else [n.strip() for n in args.workloads.split(",")]
    load0 = os.getloadavg()
    rows = run(args.repeats, names)
    section = dict(machine=machine_info(), threads=args.threads, repeats=args.repeats, rows=rows,
                   loadavg_start=load0, loadavg_end=os.getloadavg())
    if not args.no_save:
        save_section("training", section)
        import bench_report
        print(bench_report.write_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
